"""Colour conversion used by the SR benchmark protocol."""

from __future__ import annotations

import numpy as np

from medsr.errors import MedsrError

__all__ = ["rgb_to_y"]


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Luma Y of ITU-R BT.601 (studio range 16..235) from RGB values in 0..255.

    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``, as MATLAB's ``rgb2ycbcr`` on doubles
    scaled to 0..255: the channel on which the SR literature (and the review's Table 1) reports
    PSNR/SSIM. Returns float64 (not rounded); the last axis must hold the 3 channels.
    """
    a = np.asarray(img)
    if a.ndim < 1 or a.shape[-1] != 3:
        raise MedsrError(f"rgb_to_y needs an (..., 3) RGB array, got shape {a.shape}")
    a = a.astype(np.float64)
    return 16.0 + (65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255.0
