"""RRDBNet, the generator of ESRGAN (Wang et al., "ESRGAN: Enhanced Super-Resolution Generative
Adversarial Networks", ECCVW 2018; review section 3.4.7).

Conv, 23 residual-in-residual dense blocks (no BN, residual scaling 0.2, section 3.1), trunk conv
with a global skip, nearest-neighbour x2 resize + conv + LeakyReLU stages, a conv + LeakyReLU and
the output conv. 16,697,987 parameters at x4 on RGB.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from medsr.models.blocks import RRDB, ResizeConvUpsample, conv
from medsr.models.natural._common import ResidualTrunkNet, create_srnet, residual_trunk
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "rrdbnet": {
        "paper": {"blocks": 23, "channels": 64, "growth": 32, "res_scale": 0.2},
        "tiny": {"blocks": 1, "channels": 8, "growth": 4, "res_scale": 0.2},
    },
}


class RRDBNet(ResidualTrunkNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c = config["channels"]
        self.head = conv(dims, in_channels, c, 3)
        growth, res_scale = config["growth"], config["res_scale"]
        self.body = residual_trunk(
            dims, c, config["blocks"], lambda: RRDB(dims, c, growth, res_scale=res_scale)
        )
        self.upsample = ResizeConvUpsample(dims, c, self.scale, staged=True, act="lrelu")
        self.tail = nn.Sequential(
            conv(dims, c, c, 3), nn.LeakyReLU(0.2), conv(dims, c, in_channels, 3)
        )


@register_model(
    ModelInfo(
        name="rrdbnet",
        paper="Wang et al., ESRGAN: Enhanced Super-Resolution GANs (RRDBNet generator), ECCVW",
        year=2018,
        upsampling="post",
        review_section="3.4.7",
        preset_note="23 RRDBs, 64 maps, growth 32, residual scaling 0.2: 16,697,987 params at x4 "
        "on RGB",
        presets=tuple(PRESETS["rrdbnet"]),
        paper_in_channels=3,
    )
)
def rrdbnet(**kwargs: Any) -> RRDBNet:
    """Registered builder; options: the keys of ``PRESETS["rrdbnet"]``."""
    return create_srnet(RRDBNet, "rrdbnet", PRESETS, **kwargs)
