"""Interpolation baselines: nearest, linear, cubic (MATLAB bicubic), cubic B-spline, Lanczos-3.

Every SR paper the review (Li, Sixou & Peyrin, IRBM 2021) compares reports bicubic interpolation
as the baseline of Table 1, and pre-upsampling networks (SRCNN, VDSR, DRCN, DRRN...) start from a
bicubic-interpolated image; in medical imaging linear and B-spline interpolation are the usual
references. They are methods in their own right here.

All methods share one geometry: the output lies on ``zoom_grid(shape, affine, factors)`` and
output voxel ``j`` samples the input at old index coordinate
:func:`medsr.volume.index_coordinates` ``(n, m, s)``, per axis, for any positive real factor
(> 1 up-samples). When ``m = n s`` this is MATLAB's mapping ``u = x / s + 0.5 (1 - 1 / s)``, so
``cubic`` up-sampling equals ``imresize(x, s, 'bicubic')`` exactly (tested). Each axis is one
sparse matrix applied slab by slab (bounded memory, float32 output for float32/integer input).

Methods:

* ``nearest``: the closest input voxel (ties to the higher index); replicates at integer factors.
* ``linear``: the triangle kernel (MATLAB ``bilinear``).
* ``cubic``: Keys' cubic convolution, a = -0.5 (MATLAB ``bicubic``).
* ``bspline``: cubic B-spline interpolation (Unser 1999): the samples are turned into spline
  coefficients with :func:`scipy.ndimage.spline_filter1d`, then evaluated with the cubic
  B-spline; equal to ``scipy.ndimage.map_coordinates(order=3, mode="reflect")`` (tested).
* ``lanczos``: Lanczos-3 (MATLAB ``lanczos3``), weights normalised. It reproduces constants
  exactly but linear ramps only to ~1e-3 of the slope (its first moment is not zero).

Borders: half-sample symmetric ("reflect": the image is mirrored about the outer face of the field
of view) for every method, as MATLAB's ``imresize``. When shrinking (factor < 1) ``linear``,
``cubic`` and ``lanczos`` widen their kernel by ``1 / s`` (MATLAB's antialiasing); ``nearest``
and ``bspline`` do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import ndimage

from medsr.degrade.base import check_array, float_dtype
from medsr.degrade.bicubic import resize_kernel_matrix
from medsr.degrade.separable import Matrix, apply_along_axis, kernel_matrix
from medsr.errors import MedsrError
from medsr.volume import (
    MAX_FACTOR,
    Volume,
    grid_for_spacing,
    index_coordinates,
    parse_triple,
    zoom_grid,
)

__all__ = [
    "ALIASES",
    "METHODS",
    "Method",
    "axis_matrix",
    "canonical_method",
    "resample",
    "resample_onto",
    "zoom_array",
]

Method = Literal["nearest", "linear", "cubic", "bspline", "lanczos"]
METHODS: tuple[str, ...] = ("nearest", "linear", "cubic", "bspline", "lanczos")
_MATLAB_KERNEL = {"nearest": "nearest", "linear": "linear", "cubic": "cubic", "lanczos": "lanczos3"}


def _bspline3(d: np.ndarray) -> np.ndarray:
    """The centred cubic B-spline beta^3."""
    a = np.abs(d)
    return np.where(
        a < 1.0, 2.0 / 3.0 - a * a + 0.5 * a**3, np.where(a < 2.0, (2.0 - a) ** 3 / 6.0, 0.0)
    )


# scipy's reflect-mode spline prefilter starts its recursions from a truncated sum, which is
# inexact on short lines (1.8e-4 at n = 3, 7e-7 at n = 5, 1e-12 at n = 10, exact from n = 16);
# below this length the coefficients come from solving the (tiny) interpolation system exactly.
_EXACT_PREFILTER_BELOW = 16


def _bspline_system(n: int) -> np.ndarray:
    """``M`` with ``x = M c`` for cubic B-spline coefficients ``c`` (half-sample symmetric ends)."""
    mat = (
        np.diag(np.full(n, 4.0 / 6.0))
        + np.diag(np.full(n - 1, 1.0 / 6.0), 1)
        + np.diag(np.full(n - 1, 1.0 / 6.0), -1)
    )
    mat[0, 0] += 1.0 / 6.0  # c[-1] = c[0]
    mat[-1, -1] += 1.0 / 6.0  # c[n] = c[n-1]
    return mat


#: Names users type for the interpolation kernels, and the medsr name each stands for: the MATLAB
#: cubic kernel (Keys, a = -0.5) is ``cubic`` in medsr, whatever the dimension.
ALIASES: dict[str, str] = {
    "bicubic": "cubic",
    "tricubic": "cubic",
    "bilinear": "linear",
    "trilinear": "linear",
    "lanczos3": "lanczos",
}


def canonical_method(name: str) -> str:
    """``name`` lower-cased, an alias (``bicubic``, ``trilinear``, ...) replaced by the medsr name.

    The one place where kernel aliases are mapped; names that are no alias (``auto``,
    ``thick-slice``) pass through unchanged, unchecked.
    """
    text = str(name).strip().lower()
    return ALIASES.get(text, text)


def _check_method(method: str) -> str:
    m = canonical_method(method)
    if m not in METHODS:
        raise MedsrError(f"unknown interpolation {method!r}; choose one of {', '.join(METHODS)}")
    return m


def axis_matrix(n_in: int, n_out: int, factor: float, method: str = "cubic") -> Matrix:
    """The ``(n_out, n_in)`` matrix of one axis (for ``bspline``: acting on spline coefficients)."""
    method = _check_method(method)
    if method == "bspline":
        positions = index_coordinates(n_in, n_out, factor)
        return kernel_matrix(positions, n_in, _bspline3, 4.0, boundary="reflect", normalise=False)
    return resize_kernel_matrix(
        n_in, n_out, factor, _MATLAB_KERNEL[method], antialias=method != "nearest"
    )


def _zoom_factors(
    factors: float | Sequence[float] | str, shape: Sequence[int]
) -> tuple[float, ...]:
    """Per-axis factors; an isotropic factor leaves axes of length one (2D images) alone."""
    f = list(parse_triple(factors, len(shape), "factors", maximum=MAX_FACTOR))
    if len(set(f)) == 1:
        f = [1.0 if n == 1 else s for s, n in zip(f, shape)]
    return tuple(f)


def zoom_array(
    x: np.ndarray, factors: float | Sequence[float] | str, method: str = "cubic"
) -> np.ndarray:
    """Interpolate a ``(C, X, Y, Z)`` array by per-axis ``factors`` (> 1 up-samples).

    Args:
        x: the samples (not modified).
        factors: one positive real per spatial axis (or one for all; axes of length one are then
            kept).
        method: "nearest", "linear", "cubic", "bspline" or "lanczos".

    Returns:
        An array of spatial shape ``zoom_grid(shape, affine, factors)[0]``; float32 (float64 for
        float64 input).
    """
    x = check_array(x)
    method = _check_method(method)
    shape = tuple(int(n) for n in x.shape[1:])
    f = _zoom_factors(factors, shape)
    new_shape, _ = zoom_grid(shape, np.eye(4), f)
    dtype = float_dtype(x)
    out = x
    for axis in sorted(range(3), key=lambda a: (f[a], a)):  # shrink first: less work after
        n, m, s = shape[axis], new_shape[axis], f[axis]
        if s == 1.0 and m == n:
            continue
        if n == 1:  # a single sample: every method extends it as a constant
            out = apply_along_axis(out, np.ones((m, 1)), axis + 1, dtype=dtype)
            continue
        src, mat = out, axis_matrix(n, m, s, method)
        if method == "bspline":
            if n >= _EXACT_PREFILTER_BELOW:
                src = ndimage.spline_filter1d(
                    out, order=3, axis=axis + 1, mode="reflect", output=dtype
                )
            else:
                mat = mat @ np.linalg.inv(_bspline_system(n))  # dense (m, n), n small
        out = apply_along_axis(src, mat, axis + 1, dtype=dtype)
    return out.astype(dtype, copy=True) if out is x else out


def resample(
    volume: Volume,
    *,
    factors: float | Sequence[float] | str | None = None,
    spacing: float | Sequence[float] | str | None = None,
    method: str = "cubic",
) -> Volume:
    """Interpolate a volume by ``factors`` (> 1 up-samples) or to a voxel ``spacing`` (mm).

    The output grid is :func:`medsr.volume.zoom_grid` (or :func:`~medsr.volume.grid_for_spacing`):
    the world centre is kept and, when ``n s`` is an integer, the new voxels tile the old ones.
    For a 2D image (``Z == 1``) one factor or spacing acts in plane.
    """
    if (factors is None) == (spacing is None):
        raise MedsrError("give either factors or spacing for the interpolation (exactly one)")
    method = _check_method(method)
    if factors is not None:
        f = _zoom_factors(factors, volume.shape)
    else:
        sp = list(parse_triple(spacing, 3, "spacing"))
        if volume.shape[2] == 1 and len(set(sp)) == 1:
            sp[2] = float(volume.spacing[2])
        _, _, f = grid_for_spacing(volume.shape, volume.affine, sp)
    new_shape, new_affine = zoom_grid(volume.shape, volume.affine, f)
    data = zoom_array(volume.data, f, method)
    if tuple(data.shape[1:]) != tuple(new_shape):  # internal consistency
        raise AssertionError(f"interpolation gave {data.shape[1:]}, the grid says {new_shape}")
    return volume.with_data(data, affine=new_affine)


def resample_onto(
    volume: Volume,
    shape: Sequence[int],
    affine: np.ndarray,
    *,
    order: int = 3,
    fill: float = 0.0,
) -> Volume:
    """``volume`` sampled on another grid ``(shape, affine)`` of the same world (RAS+ mm).

    The voxel map is exact: target voxel ``j`` lies at world ``affine @ j``, i.e. at source voxel
    ``inv(volume.affine) @ affine @ j`` (no axis flips or spacings guessed). Samples use the cubic
    B-spline (``order=3``, :func:`scipy.ndimage.affine_transform` with its prefilter; ``order=1``
    trilinear, ``0`` nearest); outside the source's field of view they are ``fill``. Identical
    grids return a copy. Used to put a registered second contrast (the reference of multi-contrast
    SR, Zeng et al. 2018) onto an output grid.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or any(n < 1 for n in shape):
        raise MedsrError(f"resample_onto: the target shape must be 3 positive sizes, got {shape}")
    affine = np.asarray(affine, dtype=np.float64)
    if shape == tuple(volume.shape) and np.allclose(affine, volume.affine, atol=1e-6):
        return volume.with_data(np.array(volume.data, dtype=np.float32), affine=affine.copy())
    vox = np.linalg.inv(np.asarray(volume.affine, dtype=np.float64)) @ affine
    out = np.empty((volume.channels,) + shape, dtype=np.float32)
    for c in range(volume.channels):
        out[c] = ndimage.affine_transform(
            np.asarray(volume.data[c], dtype=np.float32),
            vox[:3, :3],
            offset=vox[:3, 3],
            output_shape=shape,
            order=int(order),
            mode="constant",
            cval=float(fill),
            prefilter=order > 1,
        )
    return volume.with_data(out, affine=affine.copy())
