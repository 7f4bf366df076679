"""Pixel-wise fidelity metrics: PSNR, NRMSE, MAE (the review's eq. 5 family, section 2.3).

PSNR = 10 log10(R^2 / MSE) with an explicit dynamic range ``R`` (review eq. 5; Wang & Bovik 2009
on why the range must be stated). All take an optional boolean mask: the statistic is computed
over the selected voxels only (e.g. the head, not the air around it). :func:`psnr_from_mse` is the
formula itself, for callers that accumulate the MSE themselves (slab by slab); :func:`psnr_torch`
the batched torch version for training validation (torch is imported only when it is called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from medsr.errors import MedsrError
from medsr.metrics._checks import as_pair, check_mask, check_range, check_tensor_pair

if TYPE_CHECKING:
    import torch

__all__ = ["mae", "mse", "nrmse", "psnr", "psnr_from_mse", "psnr_torch"]


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
    return psnr_from_mse(mse(ref, test, mask=mask), r)


def psnr_from_mse(err: float, data_range: float) -> float:
    """PSNR in dB of a known mean squared error ``err``, ``10 log10(R^2 / err)`` (review eq. 5).

    Returns ``inf`` for ``err == 0``; ``data_range`` as in :func:`psnr` (required, positive).
    """
    r = check_range(data_range)
    if err == 0:
        return float("inf")
    return float(10.0 * np.log10(r * r / err))


def psnr_torch(
    ref: torch.Tensor,
    test: torch.Tensor,
    *,
    data_range: float | torch.Tensor,
    mse_floor: float = 0.0,
) -> torch.Tensor:
    """Per-sample PSNR in dB ``(N,)`` of ``(N, C, *spatial)`` batches (review eq. 5), in torch.

    Args:
        ref, test: tensors of the same shape; the MSE is taken over all but the batch axis.
        data_range: ``R``, a number or a per-sample ``(N,)`` tensor (e.g. each reference's
            ``max - min``), positive.
        mse_floor: the MSE is clamped to at least this (0: identical images give ``inf``; the
            training logs use a tiny floor so that their epoch means stay finite).
    """
    import torch

    check_tensor_pair(ref, test)
    err = (ref - test).pow(2).flatten(1).mean(dim=1)
    if mse_floor > 0:
        err = err.clamp_min(mse_floor)
    if isinstance(data_range, torch.Tensor):
        if data_range.dim() > 1 or data_range.numel() not in (1, ref.shape[0]):
            raise MedsrError(
                f"data_range must be a number or one value per sample ({ref.shape[0]}), got "
                f"shape {tuple(data_range.shape)}"
            )
        if not bool((data_range > 0).all()):
            raise MedsrError("data_range must be positive for every sample; clamp it first")
        return 10.0 * torch.log10(data_range**2 / err)
    return 10.0 * torch.log10(check_range(data_range) ** 2 / err)


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
        raise MedsrError(
            f"unknown NRMSE normalization {normalization!r}; use euclidean, min-max or mean"
        )
    if denom == 0:
        raise MedsrError(f"cannot normalise the RMSE by {normalization}: the reference gives 0")
    return rmse / denom


def mae(ref: np.ndarray, test: np.ndarray, *, mask: np.ndarray | None = None) -> float:
    """Mean absolute error (the L1 distance per voxel)."""
    a, b = _select(*as_pair(ref, test), mask)
    return float(np.mean(np.abs(a - b)))
