"""RDN (Zhang, Tian, Kong, Zhong & Fu, "Residual Dense Network for Image Super-Resolution",
CVPR 2018; review section 3.4.5).

Two shallow convs (F_-1, F_0), D residual dense blocks (C conv-ReLU layers of growth G, 1x1 local
feature fusion, local residual; eqs. 5-7), global feature fusion (1x1 then 3x3 conv over the
concatenated RDB outputs, eq. 8), global residual learning with F_-1 (eq. 9), then the sub-pixel
up-sampler and an output conv. Paper preset D=16, C=8, G=G0=64: 22,123,395 parameters at x2 and
22,271,107 at x4 on RGB (~22.2M).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import ResidualDenseBlock, SubPixelUpsample, conv
from medsr.models.natural._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "rdn": {
        "paper": {"blocks": 16, "layers": 8, "growth": 64, "channels": 64},
        "tiny": {"blocks": 2, "layers": 2, "growth": 4, "channels": 8},
    },
}


class RDN(SRNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        g0, d = config["channels"], config["blocks"]
        self.sfe1 = conv(dims, in_channels, g0, 3)
        self.sfe2 = conv(dims, g0, g0, 3)
        self.rdbs = nn.ModuleList(
            ResidualDenseBlock(dims, g0, config["growth"], config["layers"], fusion_kernel=1)
            for _ in range(d)
        )
        self.gff = nn.Sequential(conv(dims, d * g0, g0, 1), conv(dims, g0, g0, 3))
        self.upsample = SubPixelUpsample(dims, g0, self.scale, staged=True)
        self.tail = conv(dims, g0, in_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f_1 = self.sfe1(x)
        h = self.sfe2(f_1)
        outs = []
        for rdb in self.rdbs:
            h = rdb(h)
            outs.append(h)
        h = self.gff(torch.cat(outs, dim=1)) + f_1
        return self.tail(self.upsample(h))


@register_model(
    ModelInfo(
        name="rdn",
        paper="Zhang et al., Residual Dense Network for Image Super-Resolution, CVPR",
        year=2018,
        upsampling="post",
        review_section="3.4.5",
        preset_note="D=16 RDBs, C=8, G=G0=64: 22,123,395 (x2) / 22,271,107 (x4) params on RGB",
        presets=tuple(PRESETS["rdn"]),
        paper_in_channels=3,
    )
)
def rdn(**kwargs: Any) -> RDN:
    """Registered builder; options: the keys of ``PRESETS["rdn"]``."""
    return create_srnet(RDN, "rdn", PRESETS, **kwargs)
