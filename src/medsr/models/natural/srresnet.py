"""SRResNet, the generator of SRGAN (Ledig et al., "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network", CVPR 2017; review section 3.4.7).

9x9 conv + PReLU, 16 residual blocks (conv-BN-PReLU-conv-BN), conv-BN with a skip over the blocks,
sub-pixel x2 stages each followed by PReLU, and a 9x9 output conv (Fig. 4). 1,549,462 parameters at
x4 on RGB (~1.55M).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from medsr.models.blocks import ResidualBlock, SubPixelUpsample, conv
from medsr.models.natural._common import ResidualTrunkNet, create_srnet, residual_trunk
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "srresnet": {
        "paper": {"blocks": 16, "channels": 64, "bn": True, "icnr": False},
        "tiny": {"blocks": 2, "channels": 8, "bn": True, "icnr": False},
    },
}


class SRResNet(ResidualTrunkNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c, bn = config["channels"], config["bn"]
        self.head = nn.Sequential(conv(dims, in_channels, c, 9), nn.PReLU())
        self.body = residual_trunk(
            dims, c, config["blocks"], lambda: ResidualBlock(dims, c, 3, bn=bn, act="prelu"), bn=bn
        )
        self.upsample = SubPixelUpsample(
            dims, c, self.scale, staged=True, act="prelu", icnr=config["icnr"]
        )
        self.tail = conv(dims, c, in_channels, 9)


@register_model(
    ModelInfo(
        name="srresnet",
        paper="Ledig et al., Photo-Realistic Single Image SR Using a GAN (SRResNet/SRGAN), CVPR",
        year=2017,
        upsampling="post",
        review_section="3.4.7",
        preset_note="16 residual blocks with BN and PReLU, 2 sub-pixel x2 stages: 1,549,462 params "
        "at x4 on RGB",
        presets=tuple(PRESETS["srresnet"]),
        paper_in_channels=3,
    )
)
def srresnet(**kwargs: Any) -> SRResNet:
    """Registered builder; options: the keys of ``PRESETS["srresnet"]``."""
    return create_srnet(SRResNet, "srresnet", PRESETS, **kwargs)
