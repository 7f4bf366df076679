"""Pixel-wise fidelity metrics: PSNR, NRMSE, MAE (the review's eq. 5 family, section 2.3).

PSNR = 10 log10(R^2 / MSE) with an explicit dynamic range ``R`` (review eq. 5; Wang & Bovik 2009
on why the range must be stated). All take an optional boolean mask: the statistic is computed
over the selected voxels only (e.g. the head, not the air around it).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from medsr.errors import MedsrError
from medsr.metrics._checks import as_pair, check_mask, check_range

__all__ = ["mae", "mse", "nrmse", "psnr"]


def _select(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    m = check_mask(mask, a.shape)
    if m is None:
        return a.ravel(), b.ravel()
    return a[m], b[m]


def mse(ref: np.ndarray, test: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Mean squared error (float64)."""
    a, b = _select(*as_pair(ref, test), mask)
    return float(np.mean((a - b) ** 2))


def psnr(
    ref: np.ndarray, test: np.ndarray, *, data_range: float, mask: np.ndarray | None = None
) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(R^2 / MSE)`` (review eq. 5).

    Args:
        ref, test: arrays of the same shape (any dimension).
        data_range: ``R``, the span of possible values (255 for 8-bit); required.
        mask: optional boolean array selecting the voxels that count.

    Returns:
        PSNR in dB; ``inf`` for identical images.
    """
    r = check_range(data_range)
    err = mse(ref, test, mask=mask)
    if err == 0:
        return float("inf")
    return float(10.0 * np.log10(r * r / err))


def nrmse(
    ref: np.ndarray,
    test: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    normalization: Literal["euclidean", "min-max", "mean"] = "euclidean",
) -> float:
    """Normalised root-mean-square error.

    ``normalization`` as scikit-image's ``normalized_root_mse``: "euclidean" gives
    ``||ref - test|| / ||ref||`` (the default), "min-max" divides the RMSE by ``max(ref) -
    min(ref)``, "mean" by ``mean(ref)`` (all over the masked voxels when a mask is given).
    """
    a, b = _select(*as_pair(ref, test), mask)
    rmse = float(np.sqrt(np.mean((a - b) ** 2)))
    if normalization == "euclidean":
        denom = float(np.sqrt(np.mean(a * a)))
    elif normalization == "min-max":
        denom = float(a.max() - a.min())
    elif normalization == "mean":
        denom = float(a.mean())
    else:
        raise MedsrError(f"unknown NRMSE normalization {normalization!r}; use euclidean, min-max or mean")
    if denom == 0:
        raise MedsrError(f"cannot normalise the RMSE by {normalization}: the reference gives 0")
    return rmse / denom


def mae(ref: np.ndarray, test: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Mean absolute error (the L1 distance per voxel)."""
    a, b = _select(*as_pair(ref, test), mask)
    return float(np.mean(np.abs(a - b)))
