"""FSRCNN (Dong, Loy & Tang, "Accelerating the Super-Resolution Convolutional Neural Network",
ECCV 2016; review section 3.4.1).

On the LR grid: feature extraction conv5x5 (d maps), shrinking 1x1 (s), m mapping 3x3 layers (s),
expanding 1x1 (d), each followed by a channel-wise PReLU; then a 9x9 transposed convolution with
stride = scale (section 3.2). Paper preset FSRCNN(56, 12, 4): 12,464 weights (+ 173 biases + 172
PReLU slopes) on Y. Initialised as in the paper: He et al.'s method for PReLU on the
convolutions, N(0, 0.001) on the deconvolution.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import TransposedUpsample, conv, he_init
from medsr.models.natural._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "fsrcnn": {
        "paper": {"d": 56, "s": 12, "m": 4, "deconv_kernel": 9},
        "fsrcnn_s": {"d": 32, "s": 5, "m": 1, "deconv_kernel": 9},
        "tiny": {"d": 8, "s": 4, "m": 1, "deconv_kernel": 5},
    },
}


class FSRCNN(SRNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        d, s, m = config["d"], config["s"], config["m"]
        layers: list[nn.Module] = [
            conv(dims, in_channels, d, 5),
            nn.PReLU(d),
            conv(dims, d, s, 1),
            nn.PReLU(s),
        ]
        for _ in range(m):
            layers += [conv(dims, s, s, 3), nn.PReLU(s)]
        layers += [conv(dims, s, d, 1), nn.PReLU(d)]
        # the paper's initialisation (section 4.1): He et al. for PReLU (initial slope 0.25) on
        # the convolutions, N(0, 0.001) on the deconvolution
        self.body = he_init(nn.Sequential(*layers), negative_slope=0.25)
        self.deconv = TransposedUpsample(
            dims, d, in_channels, self.scale, kernel=config["deconv_kernel"], init="gaussian"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.body(x))


@register_model(
    ModelInfo(
        name="fsrcnn",
        paper="Dong et al., Accelerating the Super-Resolution Convolutional Neural Network, ECCV",
        year=2016,
        upsampling="post",
        review_section="3.4.1",
        preset_note="FSRCNN(56,12,4), 9x9 deconv: 12,464 weights (12,809 with biases and PReLU "
        "slopes) on Y; preset 'fsrcnn_s' = FSRCNN-s(32,5,1)",
        presets=tuple(PRESETS["fsrcnn"]),
        paper_in_channels=1,
    )
)
def fsrcnn(**kwargs: Any) -> FSRCNN:
    """Registered builder; options: the keys of ``PRESETS["fsrcnn"]``."""
    return create_srnet(FSRCNN, "fsrcnn", PRESETS, **kwargs)
