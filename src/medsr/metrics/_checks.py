"""Input checks shared by the metrics (one place for the error messages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from medsr.errors import MedsrError

if TYPE_CHECKING:
    import torch


def as_pair(ref: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as float64 arrays of the same shape, finite (copies; inputs untouched)."""
    a = np.asarray(ref)
    b = np.asarray(test)
    if a.shape != b.shape:
        raise MedsrError(
            f"reference and test images differ in shape: {a.shape} vs {b.shape}; "
            "compare images on the same grid (resample or crop one of them first)"
        )
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise MedsrError("the images hold NaN or Inf values; replace them before measuring")
    return a, b


def check_range(data_range: float | None) -> float:
    """The explicit dynamic range (max - min possible value); no guessing."""
    if data_range is None:
        raise MedsrError(
            "data_range is required (e.g. 255 for 8-bit images, or the reference's max - min); "
            "metrics never guess it"
        )
    r = float(data_range)
    if not np.isfinite(r) or r <= 0:
        raise MedsrError(f"data_range must be positive and finite, got {data_range}")
    return r


def check_mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """A boolean mask of the image's shape with at least one true element, or None."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise MedsrError(
            f"mask shape {m.shape} differs from the image shape {shape}; give a mask on the same "
            "grid"
        )
    if m.dtype != bool:
        m = m != 0
    if not m.any():
        raise MedsrError(
            "the mask is empty (no voxel selected); give a mask with some non-zero voxels"
        )
    return m


def check_tensor_pair(ref: torch.Tensor, test: torch.Tensor) -> None:
    """Batches ``(N, C, *spatial)`` of the same shape with 1 to 3 spatial axes (torch metrics)."""
    if ref.shape != test.shape:
        raise MedsrError(
            f"reference and test tensors differ in shape: {tuple(ref.shape)} vs "
            f"{tuple(test.shape)}; compare tensors on the same grid"
        )
    if ref.dim() not in (3, 4, 5):
        raise MedsrError(
            f"need (N, C, *spatial) tensors with 1 to 3 spatial axes, got shape {tuple(ref.shape)}"
        )
