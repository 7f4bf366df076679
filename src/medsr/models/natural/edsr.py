"""EDSR (Lim, Son, Kim, Nah & Lee, "Enhanced Deep Residual Networks for Single Image
Super-Resolution", CVPRW 2017; review section 3.4.4).

Head conv, B residual blocks without batch normalisation (conv-ReLU-conv, scaled by 0.1 in the
large model, section 3.1), a body conv with a global skip, then sub-pixel up-sampling in x2 stages
(x4 = two x2, x3 = one x3) and a tail conv. Presets: "baseline" (16 blocks, 64 maps) 1,369,859
parameters at x2 on RGB; "paper" (32 blocks, 256 maps, residual scaling 0.1) 40,729,603 at x2 and
43,089,923 at x4 on RGB. The RGB mean shift of the reference code has no parameters and is left to
the data normalisation of medsr.
"""

from __future__ import annotations

from typing import Any

from medsr.models.blocks import ResidualBlock, SubPixelUpsample, conv
from medsr.models.natural._common import ResidualTrunkNet, create_srnet, residual_trunk
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "edsr": {
        "paper": {"blocks": 32, "channels": 256, "res_scale": 0.1, "icnr": False},
        "baseline": {"blocks": 16, "channels": 64, "res_scale": 1.0, "icnr": False},
        "tiny": {"blocks": 2, "channels": 8, "res_scale": 1.0, "icnr": False},
    },
}


class EDSR(ResidualTrunkNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c = config["channels"]
        self.head = conv(dims, in_channels, c, 3)
        res_scale = config["res_scale"]
        self.body = residual_trunk(
            dims, c, config["blocks"], lambda: ResidualBlock(dims, c, 3, res_scale=res_scale)
        )
        self.upsample = SubPixelUpsample(dims, c, self.scale, staged=True, icnr=config["icnr"])
        self.tail = conv(dims, c, in_channels, 3)


@register_model(
    ModelInfo(
        name="edsr",
        paper="Lim et al., Enhanced Deep Residual Networks for Single Image SR, CVPRW",
        year=2017,
        upsampling="post",
        review_section="3.4.4",
        preset_note="'paper': 32 blocks x 256, res. scaling 0.1: 40,729,603 (x2) / 43,089,923 (x4) "
        "params on RGB; 'baseline': 16 x 64: 1,369,859 (x2) on RGB",
        presets=tuple(PRESETS["edsr"]),
        paper_in_channels=3,
    )
)
def edsr(**kwargs: Any) -> EDSR:
    """Registered builder; options: the keys of ``PRESETS["edsr"]``."""
    return create_srnet(EDSR, "edsr", PRESETS, **kwargs)
