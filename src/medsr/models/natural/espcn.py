"""ESPCN (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient
Sub-Pixel Convolutional Neural Network", CVPR 2016; review section 3.4.1 / 3.3).

Three convolutions on the LR grid (5x5 -> 64, 3x3 -> 32, 3x3 -> C r^2, tanh activations, section
3.2) and one periodic shuffle (eq. 4). ``icnr=True`` initialises the last layer with ICNR (Aitken et
al. 2017) so the network starts without checkerboard artefacts. Parameter count on Y: 21,284 (x2),
22,729 (x3), 24,752 (x4).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import SubPixelUpsample, activation, conv
from medsr.models.natural._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "espcn": {
        "paper": {"kernels": (5, 3, 3), "channels": (64, 32), "act": "tanh", "icnr": False},
        "tiny": {"kernels": (3, 3, 3), "channels": (8, 4), "act": "tanh", "icnr": False},
    },
}


class ESPCN(SRNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        k1, k2, k3 = config["kernels"]
        n1, n2 = config["channels"]
        act = config["act"]
        self.body = nn.Sequential(
            conv(dims, in_channels, n1, k1),
            activation(act),
            conv(dims, n1, n2, k2),
            activation(act),
        )
        self.upsample = SubPixelUpsample(
            dims,
            n2,
            self.scale,
            out_channels=in_channels,
            kernel=k3,
            staged=False,
            icnr=config["icnr"],
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.body(x))


@register_model(
    ModelInfo(
        name="espcn",
        paper="Shi et al., Real-Time Single Image and Video SR Using an Efficient Sub-Pixel CNN, "
        "CVPR",
        year=2016,
        upsampling="post",
        review_section="3.4.1",
        preset_note="5-3-3, 64/32 filters, tanh, one sub-pixel layer: 21,284 (x2) / 22,729 (x3) / "
        "24,752 (x4) params on Y; option icnr=True (Aitken et al. 2017)",
        presets=tuple(PRESETS["espcn"]),
        paper_in_channels=1,
    )
)
def espcn(**kwargs: Any) -> ESPCN:
    """Registered builder; options: the keys of ``PRESETS["espcn"]``."""
    return create_srnet(ESPCN, "espcn", PRESETS, **kwargs)
