"""Fixed cubic B-spline interpolation as a torch layer (the cardinal cubic spline, Unser 1999).

medsr's reference B-spline interpolation is :mod:`medsr.interpolate` (scipy's ``ndimage.zoom``,
order 3, on numpy arrays); networks need the same operator inside ``forward`` (differentiable,
batched, on the device), which scipy cannot give, hence this poly-phase convolution. Used where
a network adds a fixed up-sampling of its input to its output
(:func:`medsr.models.medical._common.make_interpolator` with ``"bspline"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medsr.models.blocks.upsample import pixel_shuffle_nd

__all__ = ["BSplineUpsample", "cardinal_cubic_spline"]


def _bspline3(x: np.ndarray) -> np.ndarray:
    """The centred cubic B-spline beta^3."""
    a = np.abs(x)
    return np.where(
        a < 1, 2.0 / 3.0 - a**2 + a**3 / 2.0, np.where(a < 2, (2.0 - a) ** 3 / 6.0, 0.0)
    )


def cardinal_cubic_spline(x: np.ndarray, terms: int = 24) -> np.ndarray:
    """The cardinal cubic spline eta(x) = sqrt(3) sum_k z^|k| beta^3(x - k), z = sqrt(3) - 2 (Unser,
    "Splines: a perfect fit for signal and image processing", IEEE SPM 1999): the impulse
    response of cubic B-spline interpolation (prefilter + B-spline evaluation); eta(k) = delta_k."""
    z = np.sqrt(3.0) - 2.0
    k = np.arange(-terms, terms + 1)
    return np.sqrt(3.0) * (z ** np.abs(k)[None, :] * _bspline3(x[..., None] - k)).sum(-1)


class BSplineUpsample(nn.Module):
    """Fixed cubic B-spline interpolation by integer ``factors`` per axis (an axis of factor 1 is
    left alone): a poly-phase convolution with the cardinal cubic spline truncated to ``taps``
    input voxels each side (its tail decays as 0.268^|x|: 4e-4 at 6), half-sample symmetric
    borders, output centres at old index ``(j + 0.5) / s - 0.5`` (medsr's grid)."""

    def __init__(self, dims: int, factors: Any, *, taps: int = 6) -> None:
        super().__init__()
        self.dims, self.taps = int(dims), int(taps)
        self.factors = tuple(int(f) for f in factors)
        for axis, s in enumerate(self.factors):
            if s > 1:
                t = (np.arange(s) + 0.5) / s - 0.5
                w = cardinal_cubic_spline(t[:, None] - np.arange(-self.taps, self.taps + 1))
                w /= w.sum(axis=1, keepdims=True)
                self.register_buffer(
                    f"phase_{axis}", torch.as_tensor(w, dtype=torch.float32), persistent=False
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        y = x.reshape(-1, 1, *x.shape[2:])
        for axis, s in enumerate(self.factors):
            if s == 1:
                continue
            dim, size = 2 + axis, y.shape[2 + axis]
            idx = torch.arange(-self.taps, size + self.taps, device=y.device) % (2 * size)
            idx = torch.where(idx >= size, 2 * size - 1 - idx, idx)
            yp = y.index_select(dim, idx)
            shape = [s, 1] + [1] * self.dims
            shape[dim] = 2 * self.taps + 1
            w = getattr(self, f"phase_{axis}").to(dtype=y.dtype).reshape(shape)
            y = F.conv2d(yp, w) if self.dims == 2 else F.conv3d(yp, w)
            factors = [1] * self.dims
            factors[axis] = s
            y = pixel_shuffle_nd(y, factors)
        return y.reshape(n, c, *y.shape[2:])
