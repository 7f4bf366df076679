"""Structural similarity (SSIM) of Wang, Bovik, Sheikh & Simoncelli (IEEE TIP 2004), 2D and 3D.

The review (section 2.3) reports SSIM next to PSNR. This is the original definition: local
statistics under an isotropic Gaussian window (11 taps, sigma 1.5), population (biased) variances,
``C1 = (k1 R)^2``, ``C2 = (k2 R)^2`` (Wang et al. 2004, eq. 13), the mean of the SSIM map over the
"valid" region where the whole window lies inside the image (as Wang's reference ``ssim_index.m``
with ``filter2(..., 'valid')``, and as scikit-image's ``structural_similarity(gaussian_weights=True,
use_sample_covariance=False)``, which crops ``(win_size - 1) / 2`` voxels from each border). The
same formula extends to volumes with a 3D Gaussian window.

Why our own code: scikit-image is only a test dependency of medsr and has no voxel mask; this
version adds the mask (mean of the SSIM map inside it) and stays small.

:func:`ssim_torch` is the same definition on torch batches, differentiable (training validation
and the SSIM loss of :mod:`medsr.losses.structural`): a separable Gaussian convolution without
padding gives exactly the valid part of the SSIM map. Both take their window from
:mod:`medsr.metrics.window`; torch is imported only when :func:`ssim_torch` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np
from scipy.ndimage import gaussian_filter

from medsr.errors import MedsrError
from medsr.metrics._checks import as_pair, check_mask, check_range, check_tensor_pair
from medsr.metrics.window import gaussian_window_1d, separable_filter, window_radius

if TYPE_CHECKING:
    import torch

__all__ = ["ssim", "ssim_map", "ssim_torch"]

_Stat = TypeVar("_Stat", np.ndarray, "torch.Tensor")


def _ssim_from_moments(
    mu_a: _Stat, mu_b: _Stat, e_aa: _Stat, e_bb: _Stat, e_ab: _Stat, c1: float, c2: float
) -> _Stat:
    """Wang et al. 2004, eq. 13, from the local moments ``E[a]``, ``E[b]``, ``E[a^2]``, ``E[b^2]``,
    ``E[ab]`` (population variances); numpy arrays or torch tensors alike."""
    var_a = e_aa - mu_a * mu_a
    var_b = e_bb - mu_b * mu_b
    cov = e_ab - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    )


def ssim_map(
    ref: np.ndarray,
    test: np.ndarray,
    *,
    data_range: float,
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> np.ndarray:
    """The local SSIM map on the valid region (each axis shortened by ``win_size - 1``).

    Args:
        ref, test: 2D or 3D arrays of the same shape, every axis at least ``win_size`` long.
        data_range: ``R`` in ``C1 = (k1 R)^2``, ``C2 = (k2 R)^2``; required.
    """
    r = check_range(data_range)
    a, b = as_pair(ref, test)
    if a.ndim not in (2, 3):
        raise MedsrError(
            f"SSIM needs a 2D or 3D image, got shape {a.shape}; drop singleton/channel axes"
        )
    rad = window_radius(win_size, sigma)
    if min(a.shape) < win_size:
        raise MedsrError(
            f"image shape {a.shape} is smaller than the SSIM window ({win_size}) along an axis; "
            "give a smaller win_size or measure 2D slices"
        )

    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter(x, sigma, radius=rad, mode="reflect")

    c1 = (k1 * r) ** 2
    c2 = (k2 * r) ** 2
    smap = _ssim_from_moments(blur(a), blur(b), blur(a * a), blur(b * b), blur(a * b), c1, c2)
    crop = tuple(slice(rad, n - rad) for n in smap.shape)
    return smap[crop]


def ssim(
    ref: np.ndarray,
    test: np.ndarray,
    *,
    data_range: float,
    mask: np.ndarray | None = None,
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    channel_axis: int | None = None,
) -> float:
    """Mean SSIM (Wang et al. 2004) of a 2D image or a 3D volume.

    Args:
        ref, test: arrays of the same shape: 2D or 3D, plus one channel axis if ``channel_axis``
            is given (the SSIM is then the mean over channels).
        data_range: span of possible values (255 for 8-bit); required, never guessed.
        mask: optional boolean array of the image's shape (without channel axis); the result is
            the mean of the SSIM map over masked voxels of the valid region.
        win_size, sigma: Gaussian window (11 taps, sigma 1.5 as Wang et al.).
        k1, k2: the stabilising constants of Wang et al. eq. 13.
    """
    a = np.asarray(ref)
    b = np.asarray(test)
    if channel_axis is not None:
        if a.shape != b.shape:
            as_pair(a, b)  # raises with both shapes
        a = np.moveaxis(a, channel_axis, 0)
        b = np.moveaxis(b, channel_axis, 0)
        return float(
            np.mean(
                [
                    ssim(
                        ca,
                        cb,
                        data_range=data_range,
                        mask=mask,
                        win_size=win_size,
                        sigma=sigma,
                        k1=k1,
                        k2=k2,
                    )
                    for ca, cb in zip(a, b)
                ]
            )
        )
    smap = ssim_map(a, b, data_range=data_range, win_size=win_size, sigma=sigma, k1=k1, k2=k2)
    m = check_mask(mask, a.shape)
    if m is None:
        return float(smap.mean(dtype=np.float64))
    rad = (int(win_size) - 1) // 2
    m = m[tuple(slice(rad, n - rad) for n in m.shape)]
    if not m.any():
        raise MedsrError(
            f"the mask selects no voxel farther than {rad} from the border, where SSIM is defined; "
            "give a larger mask"
        )
    return float(smap[m].mean(dtype=np.float64))


def ssim_torch(
    ref: torch.Tensor,
    test: torch.Tensor,
    *,
    data_range: float,
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: str = "none",
    fit_window: bool = False,
) -> torch.Tensor:
    """Differentiable SSIM (Wang et al. 2004) of ``(N, C, *spatial)`` batches (1 to 3 axes).

    Args:
        ref, test: tensors of the same shape; every spatial size >= ``win_size`` unless
            ``fit_window``.
        data_range: ``R`` of ``C1 = (k1 R)^2``, ``C2 = (k2 R)^2``.
        reduction: "none" -> ``(N,)`` per-sample mean SSIM (over channels and positions),
            "mean" -> a scalar.
        fit_window: shrink the window to the shortest axis (its length, made odd) instead of
            refusing thin inputs: what the SSIM loss does for thin volumes and small patches.

    ``1 - ssim_torch(...)`` is the SSIM loss (Zhao et al., IEEE TCI 2017).
    """
    import torch

    check_tensor_pair(ref, test)
    r = check_range(data_range)
    spatial = [int(n) for n in ref.shape[2:]]
    if fit_window:
        size = min([int(win_size)] + [n if n % 2 else n - 1 for n in spatial])
        if size < 1:
            raise MedsrError(f"SSIM needs non-empty spatial axes, got shape {tuple(ref.shape)}")
    else:
        window_radius(win_size, sigma)
        if min(spatial) < win_size:
            raise MedsrError(
                f"spatial size {tuple(spatial)} is smaller than the SSIM window ({win_size}); "
                "use larger patches or a smaller win_size"
            )
        size = int(win_size)
    g = gaussian_window_1d(size, sigma, dtype=ref.dtype, device=ref.device)
    c1 = (k1 * r) ** 2
    c2 = (k2 * r) ** 2
    n = ref.shape[0]
    # one convolution pass for the five local statistics
    stack = torch.cat([ref, test, ref * ref, test * test, ref * test], dim=1)
    smap = _ssim_from_moments(*torch.chunk(separable_filter(stack, g, pad=False), 5, dim=1), c1, c2)
    per_sample = smap.reshape(n, -1).mean(dim=1)
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        return per_sample.mean()
    raise MedsrError(f"unknown reduction {reduction!r}; use 'none' or 'mean'")
