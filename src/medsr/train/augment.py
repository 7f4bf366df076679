"""Data augmentation of training patches (review section 5.1).

Geometric: flips, 90-degree rotations and transposes, applied identically to the HR patch and (for
explicit pairs) its LR patch, and only in planes whose axes share patch size and scale factor, so
an anisotropic operator (thick slices along Z) is never turned sideways. Intensity: brightness,
contrast and gamma (the same map on input and target) and Gaussian noise on the input only.
Defaults are safe for medical data (no colour jitter). ``aug`` is a
:class:`medsr.train.config.AugmentSection`-like object; None disables augmentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["geometric", "intensity"]


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
