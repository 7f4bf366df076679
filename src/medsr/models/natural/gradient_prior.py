"""Gradient prior network (Liang, Wang, Xu, Li & Yang, "Incorporating image priors with deep
convolutional neural networks for image super-resolution", Neurocomputing 2016; review section 5,
ref. [89]).

The interpolated LR image goes through a FIXED gradient-extraction layer (Sobel filters, one per
spatial axis and channel); the image and its gradient maps are stacked as the network's input
channels, so the prior is given rather than learned. Simplified: the body is the SRCNN 9-5-5
layout of the paper with VDSR's global residual (``x_up + body([x_up, grad x_up])``), and the
Sobel filters are the N-D separable ones (central difference along the axis, [1, 2, 1] smoothing
along the others), so 3-D volumes get three gradient maps. The Sobel weights are a buffer: no
optimiser sees them and they never change in training
(``tests/models/test_gradient_prior.py``).

Example: ``create_model("gradient_prior", scale=2, dims=2)`` or in a training config
``model: {name: gradient_prior, preset: paper, scale: 2}``.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.models.blocks import conv
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

__all__ = ["GradientExtractor", "GradientPriorNet", "sobel_kernels"]

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "gradient_prior": {
        "paper": {"kernels": (9, 5, 5), "channels": (64, 32), "kernel": "cubic"},
        "tiny": {"kernels": (3, 3, 3), "channels": (8, 8), "kernel": "cubic"},
    },
}


def sobel_kernels(dims: int) -> torch.Tensor:
    """``(dims, 3, ..., 3)`` N-D Sobel kernels: derivative [-1, 0, 1] / 2 along axis ``a``,
    smoothing [1, 2, 1] / 4 along the others (a unit ramp along ``a`` gives 1)."""
    diff = torch.tensor([-0.5, 0.0, 0.5], dtype=torch.float64)
    smooth = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
    out = torch.zeros((dims,) + (3,) * dims, dtype=torch.float64)
    for a in range(dims):
        for idx in itertools.product(range(3), repeat=dims):
            v = 1.0
            for b, i in enumerate(idx):
                v *= float(diff[i] if b == a else smooth[i])
            out[(a,) + idx] = v
    return out.float()


class GradientExtractor(nn.Module):
    """Fixed ``(N, C, *spatial) -> (N, C * dims, *spatial)`` Sobel gradients (replicated borders);
    the weights are a (saved) buffer, not a parameter."""

    weight: torch.Tensor

    def __init__(self, dims: int, in_channels: int) -> None:
        super().__init__()
        self.dims = dims
        self.in_channels = in_channels
        k = sobel_kernels(dims).unsqueeze(1)  # (dims, 1, 3, ...)
        self.register_buffer("weight", k.repeat(in_channels, *([1] * (dims + 1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = F.pad(x, (1, 1) * self.dims, mode="replicate")
        fn = F.conv2d if self.dims == 2 else F.conv3d
        return fn(pad, self.weight.to(x.dtype), groups=self.in_channels)


class GradientPriorNet(PreUpsampleNet):
    """Interpolation, fixed gradient extraction, SRCNN body on ``[image, gradients]``, residual."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        k1, k2, k3 = config["kernels"]
        n1, n2 = config["channels"]
        self.gradient = GradientExtractor(dims, in_channels)
        self.body = nn.Sequential(
            conv(dims, in_channels * (1 + dims), n1, k1),
            nn.ReLU(),
            conv(dims, n1, n2, k2),
            nn.ReLU(),
            conv(dims, n2, in_channels, k3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        return up + self.body(torch.cat([up, self.gradient(up)], dim=1))


@register_model(
    ModelInfo(
        name="gradient_prior",
        paper="Liang et al., Incorporating image priors with deep convolutional neural networks "
        "for image super-resolution, Neurocomputing",
        year=2016,
        upsampling="pre",
        review_section="5",
        preset_note="SRCNN 9-5-5 (64/32) on the image and its fixed Sobel gradient maps, global "
        "residual",
        presets=tuple(PRESETS["gradient_prior"]),
        paper_in_channels=1,
    )
)
def gradient_prior(**kwargs: Any) -> GradientPriorNet:
    """Registered builder; options: the keys of ``PRESETS["gradient_prior"]``."""
    return create_srnet(GradientPriorNet, "gradient_prior", PRESETS, **kwargs)
