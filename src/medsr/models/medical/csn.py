"""Channel splitting network (review section 4; Zhao et al. 2019).

Zhao X., Zhang Y., Zhang T., Zou X., "Channel splitting network for single MR image
super-resolution", IEEE Trans. Image Process. 28(11):5649-5662 (2019), arXiv:1810.06453.
The hierarchical features of each channel splitting block (CSB) are divided into two branches with
different information flows: a *residual branch* (feature re-use, He et al. 2016) and a *dense
branch* (new-feature exploration, Huang et al. 2017); the *merge-and-run* mapping (Zhao et al.,
IJCAI 2018) adds the average of both branch inputs to both branch outputs, so the two branches
exchange information. Post-upsampling: features on the LR grid, sub-pixel up-sampling at the end,
global feature fusion of all block outputs and a global residual (as RDN, Zhang et al. 2018, of
the same group).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv
from medsr.models.blocks.upsample import SubPixelUpsample
from medsr.models.medical._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "csn": {
        "paper": {"channels": 64, "blocks": 16, "dense_layers": 2, "growth": 16},
        "tiny": {"channels": 8, "blocks": 2, "dense_layers": 2, "growth": 4},
    },
}


class ChannelSplittingBlock(nn.Module):
    """One CSB: split -> (residual branch, dense branch) -> merge-and-run -> concatenate.

    With ``x = [x_r, x_d]`` (``C/2`` channels each) and ``m = (x_r + x_d) / 2``:
    ``y_r = m + R(x_r)`` with ``R`` = conv-ReLU-conv, ``y_d = m + D(x_d)`` with ``D`` = a dense
    block (``dense_layers`` conv-ReLU layers of ``growth`` maps on the concatenation of all earlier
    maps) followed by a 1x1 fusion back to ``C/2``; the block returns ``[y_r, y_d]``.
    """

    def __init__(self, dims: int, channels: int, dense_layers: int, growth: int) -> None:
        super().__init__()
        if channels % 2:
            raise MedsrError(f"csn needs an even number of channels to split, got {channels}")
        half = channels // 2
        self.half = half
        self.residual = nn.Sequential(
            conv(dims, half, half, 3), nn.ReLU(), conv(dims, half, half, 3)
        )
        self.dense = nn.ModuleList(
            nn.Sequential(conv(dims, half + i * growth, growth, 3), nn.ReLU())
            for i in range(dense_layers)
        )
        self.fuse = conv(dims, half + dense_layers * growth, half, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_r, x_d = torch.split(x, [self.half, self.half], dim=1)
        m = 0.5 * (x_r + x_d)
        y_r = m + self.residual(x_r)
        feats = [x_d]
        for layer in self.dense:
            feats.append(layer(torch.cat(feats, dim=1)))
        y_d = m + self.fuse(torch.cat(feats, dim=1))
        return torch.cat([y_r, y_d], dim=1)


class CSN(SRNet):
    """Shallow conv -> CSBs -> global feature fusion (1x1 + 3x3) + global residual -> sub-pixel ->
    conv."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        f, n = int(config["channels"]), int(config["blocks"])
        self.head = conv(dims, in_channels, f, 3)
        self.blocks = nn.ModuleList(
            ChannelSplittingBlock(dims, f, int(config["dense_layers"]), int(config["growth"]))
            for _ in range(n)
        )
        self.gff = nn.Sequential(conv(dims, n * f, f, 1), conv(dims, f, f, 3))
        self.upsample = SubPixelUpsample(dims, f, self.scale)
        self.tail = conv(dims, f, in_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x)
        h = shallow
        outs = []
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        h = shallow + self.gff(torch.cat(outs, dim=1))
        return self.tail(self.upsample(h))


@register_model(
    ModelInfo(
        name="csn",
        paper="Zhao et al., Channel splitting network for single MR image super-resolution, IEEE "
        "TIP 28(11):5649-5662",
        year=2019,
        upsampling="post",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: 64 features split 32/32 into a residual branch (conv-ReLU-conv) and a "
        "dense branch (2 dense 3x3 layers of growth 16 + 1x1 fusion) joined by merge-and-run; "
        "global feature fusion and residual, sub-pixel up-sampling (ESPCN) and a 3x3 output conv. "
        "Our reading of the paper: the block count (16) and the dense-branch sizes are "
        "assumptions, not checked against the full text. tiny: 8 features, 2 blocks.",
        presets=tuple(PRESETS["csn"]),
        paper_in_channels=1,
    )
)
def build_csn(**kwargs: Any) -> CSN:
    """CSN (Zhao et al. 2019); options: the keys of ``PRESETS["csn"]``."""
    return create_srnet(CSN, "csn", PRESETS, **kwargs)
