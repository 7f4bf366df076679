"""Pieces the medical networks share: the builder and scale bookkeeping (re-exported from
:mod:`medsr.models.natural._common`, which describes the dialect of a network file), the fixed
interpolation of pre-upsampling networks, padding for encoder-decoders and folded inputs, and checks
of the second (reference) input of the multi-input networks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks import BSplineUpsample, PreUpsample
from medsr.models.natural._common import (  # one home for preset handling and the scale bookkeeping
    SRNet,
    create_srnet,
    post_factors,
    pre_factors,
)

__all__ = [
    "SRNet",
    "check_reference",
    "create_srnet",
    "crop_spatial",
    "geometric_widths",
    "make_interpolator",
    "pad_to_multiple",
    "post_factors",
    "pre_factors",
]


def make_interpolator(dims: int, factors: Sequence[int | float], interp: str) -> nn.Module:
    """The fixed up-sampling layer of a pre-upsampling network ("cubic": MATLAB bicubic/tricubic,
    as the papers prepare their inputs; "linear": (tri)linear; "bspline": cubic B-spline
    interpolation, :class:`medsr.models.blocks.BSplineUpsample`, integer factors only)."""
    if interp == "bspline":
        return BSplineUpsample(dims, tuple(int(f) for f in factors))
    if interp not in ("cubic", "linear"):
        raise MedsrError(f"interp must be 'cubic', 'linear' or 'bspline', got {interp!r}")
    return PreUpsample(dims, tuple(factors), kernel=interp)


def pad_to_multiple(
    x: torch.Tensor, multiple: int | Sequence[int]
) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Replicate-pad the spatial axes at their end to a multiple of ``multiple`` (one number, or one
    per axis): an encoder with ``log2(multiple)`` poolings or a space-to-depth fold needs it.
    Returns the padded tensor and the original sizes (for :func:`crop_spatial`)."""
    spatial = tuple(int(s) for s in x.shape[2:])
    multiples = (
        [int(multiple)] * len(spatial) if isinstance(multiple, int) else [int(m) for m in multiple]
    )
    pads: list[int] = []
    for s, m in zip(reversed(spatial), reversed(multiples)):  # F.pad lists the last axis first
        pads += [0, (-s) % m]
    if any(pads):
        x = F.pad(x, pads, mode="replicate")
    return x, spatial


def crop_spatial(x: torch.Tensor, spatial: Sequence[int]) -> torch.Tensor:
    """Keep the first ``spatial`` voxels of each spatial axis (undo :func:`pad_to_multiple`)."""
    index = (slice(None), slice(None)) + tuple(slice(0, int(s)) for s in spatial)
    return x[index]


def check_reference(ref: torch.Tensor, like: torch.Tensor, channels: int, name: str) -> None:
    """The reference input of a multi-input network must sit on the output (HR) grid."""
    if ref.dim() != like.dim():
        raise MedsrError(
            f"{name}: the reference must be {like.dim()}-D (N, C, *spatial), got {ref.dim()}-D"
        )
    if ref.shape[1] != channels:
        raise MedsrError(
            f"{name}: the reference has {ref.shape[1]} channels but the network was built for "
            f"{channels}; rebuild with ref_channels={ref.shape[1]}"
        )
    if tuple(ref.shape[2:]) != tuple(like.shape[2:]) or ref.shape[0] != like.shape[0]:
        raise MedsrError(
            f"{name}: the reference has shape {tuple(ref.shape)} but must be on the output grid "
            f"{(like.shape[0], channels, *like.shape[2:])}; resample it onto the SR grid first"
        )


def geometric_widths(first: int, last: int, n: int, gamma: float) -> list[int]:
    """Filter counts decaying from ``first`` to ``last`` over ``n`` layers,
    ``int((first - last) (1 - (i/(n-1))^(1/gamma)) + last)`` -- the schedule of DCSCN (Yamanaka et
    al. 2017) that GAN-CIRCLE's feature extractor uses (64, 54, 48, ..., 18, 16 for n = 12)."""
    if n == 1:
        return [first]
    return [int((first - last) * (1 - math.pow(i / (n - 1), 1.0 / gamma)) + last) for i in range(n)]
