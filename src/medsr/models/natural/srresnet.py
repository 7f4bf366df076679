"""SRResNet, the generator of SRGAN (Ledig et al., "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network", CVPR 2017; review sections 3.4.2 and 3.4.6).

9x9 conv + PReLU, 16 residual blocks (conv-BN-PReLU-conv-BN), conv-BN with a skip over the blocks,
sub-pixel x2 stages each followed by PReLU, and a 9x9 output conv (Fig. 4). 1,549,462 parameters at
x4 on RGB (~1.55M).
"""

from __future__ import annotations

import torch
from torch import nn

from medsr.models.blocks import ResidualBlock, SubPixelUpsample, batch_norm, conv
from medsr.models.natural._common import SRNet, post_factors, resolve_config
from medsr.models.registry import ModelInfo, register_model

PRESETS = {
    "paper": {"blocks": 16, "channels": 64, "bn": True, "icnr": False},
    "tiny": {"blocks": 2, "channels": 8, "bn": True, "icnr": False},
}


class SRResNet(SRNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config)
        c, bn = config["channels"], config["bn"]
        self.head = nn.Sequential(conv(dims, in_channels, c, 9), nn.PReLU())
        body: list[nn.Module] = [ResidualBlock(dims, c, 3, bn=bn, act="prelu") for _ in range(config["blocks"])]
        body.append(conv(dims, c, c, 3))
        if bn:
            body.append(batch_norm(dims, c))
        self.body = nn.Sequential(*body)
        self.upsample = SubPixelUpsample(dims, c, self.scale, staged=True, act="prelu", icnr=config["icnr"])
        self.tail = conv(dims, c, in_channels, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.body(h)
        return self.tail(self.upsample(h))


@register_model(ModelInfo(
    name="srresnet", paper="Ledig et al., Photo-Realistic Single Image SR Using a GAN (SRResNet/SRGAN), CVPR",
    year=2017, upsampling="post", review_section="3.4.2",
    preset_note="16 residual blocks with BN and PReLU, 2 sub-pixel x2 stages: 1,549,462 params at x4 on RGB",
    presets=tuple(PRESETS), paper_in_channels=3,
))
def srresnet(*, scale=2, dims: int = 2, in_channels: int = 1, preset: str = "paper", **overrides) -> SRResNet:
    return SRResNet(scale=scale, dims=dims, in_channels=in_channels,
                    config=resolve_config("srresnet", PRESETS, preset, overrides))
