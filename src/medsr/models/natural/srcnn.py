"""SRCNN (Dong, Loy, He & Tang, "Image Super-Resolution Using Deep Convolutional Networks",
ECCV 2014 / TPAMI 2016; review section 3.4.1).

Three layers on the bicubic-interpolated image: patch extraction ``f1 x f1`` (n1 maps), non-linear
mapping ``f2 x f2`` (n2 maps), reconstruction ``f3 x f3`` (TPAMI eqs. 1-3). The paper preset is the
9-5-5 network (n1=64, n2=32) of TPAMI section 4.3.2; "915" is the original 9-1-5. Padding is 'same'
so the output has the input's size (the paper used 'valid' convolutions on patches).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import conv
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "srcnn": {
        "paper": {"kernels": (9, 5, 5), "channels": (64, 32), "kernel": "cubic"},
        "915": {"kernels": (9, 1, 5), "channels": (64, 32), "kernel": "cubic"},
        "tiny": {"kernels": (3, 1, 3), "channels": (8, 4), "kernel": "cubic"},
    },
}


class SRCNN(PreUpsampleNet):
    """Bicubic pre-upsampling then conv-ReLU, conv-ReLU, conv (no residual)."""

    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        k1, k2, k3 = config["kernels"]
        n1, n2 = config["channels"]
        self.body = nn.Sequential(
            conv(dims, in_channels, n1, k1),
            nn.ReLU(),
            conv(dims, n1, n2, k2),
            nn.ReLU(),
            conv(dims, n2, in_channels, k3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.upsample(x))


@register_model(
    ModelInfo(
        name="srcnn",
        paper="Dong et al., Image Super-Resolution Using Deep Convolutional Networks, ECCV/TPAMI",
        year=2014,
        upsampling="pre",
        review_section="3.4.1",
        preset_note="9-5-5, 64/32 filters (TPAMI 2016): 57,281 params on Y; preset '915' = 9-1-5: "
        "8,129",
        presets=tuple(PRESETS["srcnn"]),
        paper_in_channels=1,
    )
)
def srcnn(**kwargs: Any) -> SRCNN:
    """Registered builder; options: the keys of ``PRESETS["srcnn"]``."""
    return create_srnet(SRCNN, "srcnn", PRESETS, **kwargs)
