"""Dilated-convolution SR network: DCSR (Zhang, Wang & Jung, "DCSR: Dilated Convolutions for
Single Image Super-Resolution", IEEE TIP 28(4), 2019).

Which paper this follows, plainly: DCSR, and only DCSR. It is *not* one of the dilated networks
the review cites in section 3.4.6 (its refs. [61]/[62]; [62] is the dilated dense progressive
network, a different architecture with dense blocks and progressive up-sampling: see
:mod:`medsr.models.natural.ddpn`). DCSR is kept as a representative of the same idea (dilated
convolutions to widen the receptive field at no parameter cost), faithful to its own paper.

Every layer is a *mixed convolution*: a standard 3x3 conv and a dilated 3x3 conv (dilation 2) side
by side, their maps concatenated, then ReLU -- the dilated half widens the receptive field without
extra parameters and the standard half removes the dilated kernel's blind spots (sections III-IV).
The network works on the bicubic-interpolated image and predicts its residual, as VDSR; the
"paper" preset is the 20-layer, 64-map network of the paper's comparison (half of the maps from
each branch; the output layer is a plain 3x3 conv): 665,921 parameters on Y, the same budget as
VDSR. Which half split and dilation rate are used is our reading of the paper.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import conv
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "dilated_sr": {
        "paper": {
            "layers": 20,
            "channels": 64,
            "dilation": 2,
            "dilated_fraction": 0.5,
            "kernel": "cubic",
        },
        "tiny": {
            "layers": 4,
            "channels": 8,
            "dilation": 2,
            "dilated_fraction": 0.5,
            "kernel": "cubic",
        },
    },
}


class MixedConv(nn.Module):
    """Standard and dilated convolutions in parallel, outputs concatenated (DCSR, Zhang et al.
    2019)."""

    def __init__(
        self, dims: int, cin: int, cout: int, dilation: int, dilated_fraction: float
    ) -> None:
        super().__init__()
        n_dil = round(cout * dilated_fraction)
        self.standard = conv(dims, cin, cout - n_dil, 3) if cout - n_dil > 0 else None
        self.dilated = conv(dims, cin, n_dil, 3, dilation=dilation) if n_dil > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [m(x) for m in (self.standard, self.dilated) if m is not None]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


class DilatedSR(PreUpsampleNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c, n = config["channels"], config["layers"]
        d, frac = config["dilation"], config["dilated_fraction"]
        layers: list[nn.Module] = []
        cin = in_channels
        for _ in range(n - 1):
            layers += [MixedConv(dims, cin, c, d, frac), nn.ReLU()]
            cin = c
        layers.append(conv(dims, cin, in_channels, 3))
        self.body = nn.Sequential(*layers)


@register_model(
    ModelInfo(
        name="dilated_sr",
        paper="Zhang et al., DCSR: Dilated Convolutions for Single Image SR, IEEE TIP "
        "(not the review's dilated refs. [61]/[62])",
        year=2019,
        upsampling="pre",
        review_section="3.4.6",
        preset_note="20 mixed (standard + dilation-2) conv layers, 64 maps, residual on bicubic "
        "input: 665,921 params on Y",
        presets=tuple(PRESETS["dilated_sr"]),
        paper_in_channels=1,
    )
)
def dilated_sr(**kwargs: Any) -> DilatedSR:
    """Registered builder; options: the keys of ``PRESETS["dilated_sr"]``."""
    return create_srnet(DilatedSR, "dilated_sr", PRESETS, **kwargs)
