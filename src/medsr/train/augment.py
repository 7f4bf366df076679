"""Data augmentation of training patches (review section 5.1).

Geometric: flips, 90-degree rotations and transposes, applied identically to the HR patch and (for
explicit pairs) its LR patch, and only in planes whose axes share patch size and scale factor, so
an anisotropic operator (thick slices along Z) is never turned sideways. Intensity: brightness,
contrast and gamma (the same map on input and target) and Gaussian noise on the input only.
Beyond flips (:func:`warp`, :func:`bias_field`; review section 5.1): arbitrary rotations in planes
of equal scale factor, isotropic scaling, elastic deformation (Simard et al. 2003) and a smooth
multiplicative intensity inhomogeneity (bias field, a polynomial log-field as in TorchIO). They act
on the HR patch BEFORE degradation, so the LR input is always ``A(augmented HR)`` (correct for SR);
the bias field on explicit LR/HR pairs is one field evaluated at the physical positions of both
grids, warps are refused there (an acquired LR cannot be re-degraded). Example config:
``data: {augment: {rotate: 15, scale: 0.1, elastic: 2.0, bias_field: 0.3}}``. Defaults are safe
for medical data (no colour jitter). ``aug`` is a
:class:`medsr.train.config.AugmentSection`-like object; None disables augmentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["bias_field", "geometric", "intensity", "warp", "warps_enabled"]


def geometric(
    arrays: list[np.ndarray],
    spatial: Sequence[int],
    factors: Sequence[float],
    aug: Any,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Flips / rot90 / transposes applied identically to HR (and LR) ``(C, X, Y, Z)`` arrays.

    Rotations and transposes only in planes whose axes have equal size in every array and equal
    factor, so an anisotropic operator (thick slices along Z) is never turned sideways.
    """
    out = list(arrays)
    if aug is None:
        return out
    if aug.flip:
        for a in spatial:
            if rng.random() < 0.5:
                out = [np.flip(x, axis=1 + a) for x in out]
    planes = [
        (a, b)
        for i, a in enumerate(spatial)
        for b in spatial[i + 1 :]
        if factors[a] == factors[b] and all(x.shape[1 + a] == x.shape[1 + b] for x in out)
    ]
    for a, b in planes:
        if aug.rot90:
            k = int(rng.integers(4))
            if k:
                out = [np.rot90(x, k, axes=(1 + a, 1 + b)) for x in out]
        if aug.transpose and rng.random() < 0.5:
            out = [np.swapaxes(x, 1 + a, 1 + b) for x in out]
    return out


def intensity(
    hr: np.ndarray, lr: np.ndarray, aug: Any, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Brightness / contrast / gamma (same map on input and target) and input-only noise."""
    if aug is None:
        return hr, lr
    if aug.brightness > 0:
        b = np.float32(rng.uniform(-aug.brightness, aug.brightness))
        hr, lr = hr + b, lr + b
    if aug.contrast > 0:
        c = np.float32(rng.uniform(1 - aug.contrast, 1 + aug.contrast))
        m = np.float32(hr.mean())
        hr, lr = (hr - m) * c + m, (lr - m) * c + m
    if aug.gamma > 0:
        g = float(np.exp(rng.uniform(-aug.gamma, aug.gamma)))
        hr = np.sign(hr) * np.abs(hr) ** g
        lr = np.sign(lr) * np.abs(lr) ** g
    if aug.noise_std > 0:
        lr = lr + rng.normal(0.0, rng.uniform(0.0, aug.noise_std), lr.shape)
    return hr.astype(np.float32, copy=False), lr.astype(np.float32, copy=False)


def warps_enabled(aug: Any) -> bool:
    """Whether ``aug`` asks for a resampling warp (rotation, scaling or elastic deformation)."""
    return aug is not None and any(
        float(getattr(aug, k, 0.0)) > 0 for k in ("rotate", "scale", "elastic")
    )


def warp(
    hr: np.ndarray,
    spatial: Sequence[int],
    factors: Sequence[float],
    aug: Any,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rotation / scaling / elastic deformation of an HR ``(C, X, Y, Z)`` patch (review 5.1).

    ``aug.rotate``: angle U(-r, r) degrees in each plane of ``spatial`` axes with equal factor (an
    anisotropic operator is never turned); ``aug.scale``: one zoom exp(U(log(1-s), log(1+s))) on
    the spatial axes; ``aug.elastic``: a displacement of at most ``elastic`` voxels per spatial
    axis, uniform noise smoothed by a Gaussian of ``aug.elastic_sigma`` voxels. Cubic B-spline
    resampling, mirrored borders. Apply before degradation. Returns a new float32 array.

    Example: ``warp(hr, (0, 1), (2, 2, 1), SimpleNamespace(rotate=20, scale=0.1, elastic=0),
    np.random.default_rng(0))``.
    """
    if not warps_enabled(aug):
        return hr
    from scipy.ndimage import gaussian_filter, map_coordinates

    rotate = float(getattr(aug, "rotate", 0.0))
    scale = float(getattr(aug, "scale", 0.0))
    elastic = float(getattr(aug, "elastic", 0.0))
    shape = hr.shape[1:]
    centre = np.array([(n - 1) / 2.0 for n in shape])
    m = np.eye(3)
    if rotate > 0:
        for i, a in enumerate(spatial):
            for b in spatial[i + 1 :]:
                if factors[a] != factors[b]:
                    continue
                t = np.deg2rad(rng.uniform(-rotate, rotate))
                r = np.eye(3)
                r[a, a], r[a, b], r[b, a], r[b, b] = np.cos(t), -np.sin(t), np.sin(t), np.cos(t)
                m = r @ m
    if scale > 0:
        z = float(np.exp(rng.uniform(np.log(1 - scale), np.log(1 + scale))))
        d = np.ones(3)
        d[list(spatial)] = 1.0 / z  # output -> input coordinates
        m = np.diag(d) @ m
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij"))
    coords = np.einsum("ij,j...->i...", m, grid - centre[:, None, None, None])
    coords += centre[:, None, None, None]
    if elastic > 0:
        sigma = float(getattr(aug, "elastic_sigma", 4.0))
        for a in spatial:
            field = gaussian_filter(rng.uniform(-1, 1, shape), sigma, mode="reflect")
            peak = np.abs(field).max()
            if peak > 0:
                coords[a] += elastic * field / peak
    out = [map_coordinates(c, coords, order=3, mode="mirror") for c in hr.astype(np.float64)]
    return np.stack(out).astype(np.float32)


def _unit_coordinates(shape: Sequence[int]) -> list[np.ndarray]:
    """Cell-centred coordinates in [-1, 1] per axis: the same physical point on an LR and HR grid
    of the same field of view."""
    return [(np.arange(n) + 0.5) / n * 2.0 - 1.0 for n in shape]


def bias_field(
    arrays: list[np.ndarray], spatial: Sequence[int], aug: Any, rng: np.random.Generator
) -> list[np.ndarray]:
    """A smooth multiplicative intensity inhomogeneity on every ``(C, X, Y, Z)`` array (review 5.1).

    The log-field is a polynomial of degree 2 in the spatial axes' coordinates with coefficients
    U(-b, b) (``b = aug.bias_field``); every array (HR, and LR of an explicit pair) gets the same
    field at the same physical positions. Example: ``bias_field([hr], (0, 1),
    SimpleNamespace(bias_field=0.3), np.random.default_rng(0))``.
    """
    strength = 0.0 if aug is None else float(getattr(aug, "bias_field", 0.0))
    if strength <= 0:
        return list(arrays)
    terms = [(i, j) for i in range(3) for j in range(3) if i + j <= 2]
    axes = list(spatial)[:2] if len(spatial) >= 2 else [spatial[0], spatial[0]]
    extra = list(spatial)[2:]
    coeff = rng.uniform(-strength, strength, len(terms) + 2 * len(extra))
    out = []
    for x in arrays:
        u = _unit_coordinates(x.shape[1:])
        grids = np.meshgrid(*u, indexing="ij")
        log = np.zeros(x.shape[1:])
        for c, (i, j) in zip(coeff, terms):
            if (i, j) == (0, 0):
                continue  # no global gain: intensity scaling is a separate augmentation
            log += c * grids[axes[0]] ** i * (grids[axes[1]] ** j if axes[1] != axes[0] else 1)
        for k, a in enumerate(extra):
            c1, c2 = coeff[len(terms) + 2 * k : len(terms) + 2 * k + 2]
            log += c1 * grids[a] + c2 * grids[a] ** 2
        out.append((x * np.exp(log)[None]).astype(np.float32))
    return out
