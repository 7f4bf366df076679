"""SRDenseNet (Tong, Li, Liu & Gao, "Image Super-Resolution Using Dense Skip Connections",
ICCV 2017; review section 3.4.5).

The "SRDenseNet_All" variant: a 3x3 conv for low-level features (128 maps), 8 dense blocks of 8
conv-ReLU layers with growth rate 16 (each block outputs 8 x 16 = 128 maps, eq. 1), dense skip
connections (block i sees the low-level features and the outputs of all earlier blocks,
concatenated, and all of them reach the bottleneck), a 1x1 bottleneck to 256 maps, two 3x3
transposed convs (stride 2, 256 maps) for x4, and a 3x3 reconstruction conv (sections 3.1-3.3).
The paper states no parameter count; with this reading of sections 3.2-3.3 it is 2,659,585 at x4
on Y (the often-quoted 2.0M corresponds to 2x2 transposed convs: ``deconv_kernel=2``).
Other factors: x2 = one stride-2 deconv, x3 = one stride-3 deconv, x8 = three.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import DenseBlock, TransposedUpsample, conv, stage_factors
from medsr.models.natural._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "srdensenet": {
        "paper": {
            "low_channels": 128,
            "blocks": 8,
            "layers": 8,
            "growth": 16,
            "bottleneck": 256,
            "deconv_kernel": 3,
        },
        "tiny": {
            "low_channels": 8,
            "blocks": 2,
            "layers": 2,
            "growth": 4,
            "bottleneck": 8,
            "deconv_kernel": 3,
        },
    },
}


class SRDenseNet(SRNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        low, g, n_layers = config["low_channels"], config["growth"], config["layers"]
        self.low = nn.Sequential(conv(dims, in_channels, low, 3), nn.ReLU())
        self.blocks = nn.ModuleList()
        width = low
        for _ in range(config["blocks"]):
            block = DenseBlock(dims, width, g, n_layers, keep_input=False)
            self.blocks.append(block)
            width += block.out_channels
        b = config["bottleneck"]
        self.bottleneck = nn.Sequential(conv(dims, width, b, 1), nn.ReLU())
        ups: list[nn.Module] = []
        for st in stage_factors(self.scale):
            ups += [TransposedUpsample(dims, b, b, st, kernel=config["deconv_kernel"]), nn.ReLU()]
        self.upsample = nn.Sequential(*ups)
        self.reconstruct = conv(dims, b, in_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.low(x)]
        for block in self.blocks:
            feats.append(block(torch.cat(feats, dim=1)))
        h = self.bottleneck(torch.cat(feats, dim=1))
        return self.reconstruct(self.upsample(h))


@register_model(
    ModelInfo(
        name="srdensenet",
        paper="Tong et al., Image Super-Resolution Using Dense Skip Connections, ICCV",
        year=2017,
        upsampling="post",
        review_section="3.4.5",
        preset_note="SRDenseNet_All: 8 dense blocks x 8 layers, growth 16, 1x1 bottleneck 256, 3x3 "
        "deconvs: 2,659,585 params at x4 on Y (no count in the paper; 2,004,225 with "
        "deconv_kernel=2)",
        presets=tuple(PRESETS["srdensenet"]),
        paper_in_channels=1,
    )
)
def srdensenet(**kwargs: Any) -> SRDenseNet:
    """Registered builder; options: the keys of ``PRESETS["srdensenet"]``."""
    return create_srnet(SRDenseNet, "srdensenet", PRESETS, **kwargs)
