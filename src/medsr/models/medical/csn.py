"""Channel splitting network (review section 4, ref. [76]; Zhao et al. 2019).

Zhao X., Zhang Y., Zhang T., Zou X., "Channel splitting network for single MR image
super-resolution", IEEE Trans. Image Process. 28(11):5649-5662 (2019), arXiv:1810.06453.
As the review describes it: the features entering each channel splitting block (CSB) are split
into two branches with different information flows, a *residual branch* (feature re-use, He et al.
2016) and a *dense branch* (new-feature exploration, Huang et al. 2017), joined by *merge-and-run*
mappings (Zhao et al., IJCAI 2018: the average of both branch inputs is added to both branch
outputs, so the branches exchange information); at the end of the block a *fusion layer* (1x1
convolution) merges the concatenated branches and a *block skip* adds the block input:

    x_r, x_d = split(x);  for each merge-and-run unit u:  m = (x_r + x_d) / 2,
        x_r <- m + R_u(x_r),  x_d <- m + D_u(x_d);
    CSB(x) = x + fuse([x_r, x_d]).

Post-upsampling network: shallow 3x3 conv, the CSBs, a 3x3 conv with a long skip from the shallow
features, sub-pixel up-sampling (ESPCN) and a 3x3 reconstruction conv. Options ``fusion`` /
``block_skip`` remove the fusion layer / block skip (ablations). Simplified: our reading of the
paper -- block and unit counts and the dense-branch sizes of the ``paper`` preset are assumptions,
not checked against the full text.
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
        "paper": {
            "channels": 64,
            "blocks": 8,
            "units": 2,
            "dense_layers": 2,
            "growth": 16,
            "fusion": True,
            "block_skip": True,
        },
        "tiny": {
            "channels": 8,
            "blocks": 2,
            "units": 2,
            "dense_layers": 2,
            "growth": 4,
            "fusion": True,
            "block_skip": True,
        },
    },
}


class MergeAndRunUnit(nn.Module):
    """One merge-and-run unit on the two halves: ``m = (x_r + x_d) / 2``, ``x_r' = m + R(x_r)``
    with ``R`` = conv-ReLU-conv, ``x_d' = m + D(x_d)`` with ``D`` = ``dense_layers`` densely
    connected conv-ReLU layers of ``growth`` maps and a 1x1 fusion back to ``half`` channels."""

    def __init__(self, dims: int, half: int, dense_layers: int, growth: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            conv(dims, half, half, 3), nn.ReLU(), conv(dims, half, half, 3)
        )
        self.dense = nn.ModuleList(
            nn.Sequential(conv(dims, half + i * growth, growth, 3), nn.ReLU())
            for i in range(dense_layers)
        )
        self.dense_fuse = conv(dims, half + dense_layers * growth, half, 1)

    def forward(self, x_r: torch.Tensor, x_d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = 0.5 * (x_r + x_d)
        feats = [x_d]
        for layer in self.dense:
            feats.append(layer(torch.cat(feats, dim=1)))
        return m + self.residual(x_r), m + self.dense_fuse(torch.cat(feats, dim=1))


class ChannelSplittingBlock(nn.Module):
    """One CSB: split -> ``units`` merge-and-run units -> concatenate -> 1x1 fusion -> + input."""

    def __init__(
        self,
        dims: int,
        channels: int,
        units: int,
        dense_layers: int,
        growth: int,
        *,
        fusion: bool = True,
        block_skip: bool = True,
    ) -> None:
        super().__init__()
        if channels % 2:
            raise MedsrError(f"csn needs an even number of channels to split, got {channels}")
        if units < 1:
            raise MedsrError(f"csn needs units >= 1 per block, got {units}")
        self.half = channels // 2
        self.units = nn.ModuleList(
            MergeAndRunUnit(dims, self.half, dense_layers, growth) for _ in range(units)
        )
        self.fuse = conv(dims, channels, channels, 1) if fusion else nn.Identity()
        self.block_skip = bool(block_skip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_r, x_d = torch.split(x, [self.half, self.half], dim=1)
        for unit in self.units:
            x_r, x_d = unit(x_r, x_d)
        y = self.fuse(torch.cat([x_r, x_d], dim=1))
        return x + y if self.block_skip else y


class CSN(SRNet):
    """Shallow conv -> CSBs -> conv + long skip -> sub-pixel -> conv."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        f, n = int(config["channels"]), int(config["blocks"])
        self.head = conv(dims, in_channels, f, 3)
        self.blocks = nn.Sequential(
            *(
                ChannelSplittingBlock(
                    dims,
                    f,
                    int(config["units"]),
                    int(config["dense_layers"]),
                    int(config["growth"]),
                    fusion=bool(config["fusion"]),
                    block_skip=bool(config["block_skip"]),
                )
                for _ in range(n)
            )
        )
        self.trunk = conv(dims, f, f, 3)
        self.upsample = SubPixelUpsample(dims, f, self.scale)
        self.tail = conv(dims, f, in_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x)
        h = shallow + self.trunk(self.blocks(shallow))
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
        "dense branch (2 dense 3x3 layers of growth 16 + 1x1) joined by merge-and-run units (2 "
        "per block); each block ends with a 1x1 fusion layer and a block skip; 8 blocks, a long "
        "skip, sub-pixel up-sampling (ESPCN) and a 3x3 output conv. Our reading of the paper: "
        "block/unit counts and dense-branch sizes are assumptions, not checked against the full "
        "text. fusion/block_skip off: ablations. tiny: 8 features, 2 blocks.",
        presets=tuple(PRESETS["csn"]),
        paper_in_channels=1,
    )
)
def build_csn(**kwargs: Any) -> CSN:
    """CSN (Zhao et al. 2019, review ref. [76]); options: the keys of ``PRESETS["csn"]``."""
    return create_srnet(CSN, "csn", PRESETS, **kwargs)
