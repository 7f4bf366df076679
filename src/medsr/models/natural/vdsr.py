"""VDSR (Kim, Lee & Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional
Networks", CVPR 2016; review section 3.4.2).

20 conv layers of 64 3x3 filters (ReLU after all but the last) predict the residual between the
bicubic-interpolated input and the HR image (global residual learning, section 3.2):
``y = x_up + f(x_up)``. 665,921 parameters on Y.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import PreUpsample, conv
from medsr.models.natural._common import SRNet, create_srnet, pre_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "vdsr": {
        "paper": {"layers": 20, "channels": 64, "kernel": "cubic"},
        "tiny": {"layers": 4, "channels": 8, "kernel": "cubic"},
    },
}


class VDSR(SRNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        n, c = config["layers"], config["channels"]
        self.upsample = PreUpsample(dims, self.scale, kernel=config["kernel"])
        layers: list[nn.Module] = [conv(dims, in_channels, c, 3), nn.ReLU()]
        for _ in range(n - 2):
            layers += [conv(dims, c, c, 3), nn.ReLU()]
        layers.append(conv(dims, c, in_channels, 3))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        return up + self.body(up)


@register_model(
    ModelInfo(
        name="vdsr",
        paper="Kim et al., Accurate Image SR Using Very Deep Convolutional Networks, CVPR",
        year=2016,
        upsampling="pre",
        review_section="3.4.2",
        preset_note="20 layers, 64 channels, global residual: 665,921 params on Y",
        presets=tuple(PRESETS["vdsr"]),
        paper_in_channels=1,
    )
)
def vdsr(**kwargs: Any) -> VDSR:
    """Registered builder; options: the keys of ``PRESETS["vdsr"]``."""
    return create_srnet(VDSR, "vdsr", PRESETS, **kwargs)
