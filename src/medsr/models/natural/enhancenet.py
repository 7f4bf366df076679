"""EnhanceNet (Sajjadi, Schölkopf & Hirsch, "EnhanceNet: Single Image Super-Resolution Through
Automated Texture Synthesis", ICCV 2017; the review's ref. [48], section 3.3).

The generator of Table 1 of the paper: a 3x3 convolution (64 channels, ReLU) on the LR image, 10
residual blocks (conv-ReLU-conv with an identity skip), then per x2 step a nearest-neighbour
up-sampling followed by a conv-ReLU (the paper avoids transposed convolutions, whose checkerboard
artefacts the texture loss would amplify), a conv-ReLU and a last conv to the image channels. The
network predicts a residual added to the bicubic interpolation of the input,
``I_est = I_bicubic + I_res``. Its losses (perceptual + patch-wise texture + adversarial,
"ENet-PAT") are the recipe ``configs/enhancenet.yaml``.

Factors are split into prime steps (x4 -> two x2 steps, as the paper; x3 -> one x3 step).
Parameter count at x4 on RGB: 852,867 (``paper``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import NearestUpsample, PreUpsample, ResidualBlock, conv, stage_factors
from medsr.models.natural._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "enhancenet": {
        "paper": {"channels": 64, "blocks": 10},
        "tiny": {"channels": 8, "blocks": 1},
    },
}


class EnhanceNet(SRNet):
    """EnhanceNet's generator (Sajjadi et al. 2017, Table 1): ``bicubic(x) + residual(x)``."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        c = int(config["channels"])
        relu = nn.ReLU
        self.head = nn.Sequential(conv(dims, in_channels, c, 3), relu())
        self.body = nn.Sequential(
            *[ResidualBlock(dims, c, 3, act="relu") for _ in range(int(config["blocks"]))]
        )
        ups: list[nn.Module] = []
        for step in stage_factors(self.scale):
            ups += [NearestUpsample(dims, step), conv(dims, c, c, 3), relu()]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Sequential(conv(dims, c, c, 3), relu(), conv(dims, c, in_channels, 3))
        self.bicubic = PreUpsample(dims, self.scale, kernel="cubic")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.tail(self.upsample(self.body(self.head(x))))
        return self.bicubic(x) + residual


@register_model(
    ModelInfo(
        name="enhancenet",
        paper="Sajjadi, Schölkopf & Hirsch, EnhanceNet: Single Image Super-Resolution Through "
        "Automated Texture Synthesis, ICCV",
        year=2017,
        upsampling="post",
        review_section="3.3",
        preset_note="Table 1 of the paper: conv 64 + ReLU, 10 residual blocks, per x2 a "
        "nearest-neighbour up-sampling + conv + ReLU, conv + ReLU, conv to the image; output "
        "added to the bicubic input (852,867 params at x4 on RGB). tiny: 8 channels, 1 block. "
        "Train it with configs/enhancenet.yaml (perceptual + texture + adversarial).",
        presets=tuple(PRESETS["enhancenet"]),
        paper_in_channels=3,
    )
)
def enhancenet(**kwargs: Any) -> EnhanceNet:
    """Registered builder; options: the keys of ``PRESETS["enhancenet"]``."""
    return create_srnet(EnhanceNet, "enhancenet", PRESETS, **kwargs)
