"""The Gaussian window: SSIM's local-statistics window and medsr's Gaussian smoothing taps.

Wang, Bovik, Sheikh & Simoncelli (IEEE TIP 2004, section III-B) compute SSIM's local statistics
under a circular-symmetric Gaussian window (11 x 11 taps, sigma 1.5), normalised to unit sum; the
review (section 2.3) reports SSIM with it. The window is separable, so everything here is the 1D
factor: ``w_i = exp(-t_i^2 / (2 sigma^2)) / sum_j exp(-t_j^2 / (2 sigma^2))`` at the offsets
``t_i = i - (size - 1) / 2``. The taps are computed in float64 and only then cast, so every dtype
gets the correctly rounded window.

One home for: the SSIM window checks (:func:`window_radius`, numpy and torch SSIM), the torch taps
(:func:`gaussian_window_1d`: torch SSIM and the SSIM loss) and the "3 sigma" window size of
Gaussian smoothing (:func:`three_sigma_size`: the saliency maps of
:mod:`medsr.models.medical.saliency`), and the separable depthwise filtering of torch tensors by
1D taps (:func:`separable_filter`, :func:`gaussian_blur`: torch SSIM's 'valid' blur, the saliency
maps, CinCGAN's high-pass critic input). The numpy SSIM blurs with ``scipy.ndimage.gaussian_filter``
(the same taps for ``radius = (win_size - 1) / 2``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from medsr.errors import MedsrError

if TYPE_CHECKING:
    import torch

__all__ = [
    "gaussian_blur",
    "gaussian_window_1d",
    "separable_filter",
    "three_sigma_size",
    "window_radius",
]


def window_radius(win_size: int, sigma: float) -> int:
    """Half-width ``(win_size - 1) / 2`` of an SSIM window, after checking it (Wang et al. 2004).

    Raises:
        MedsrError: ``win_size`` not an odd integer >= 3, or ``sigma`` not positive.
    """
    if int(win_size) != win_size or win_size < 3 or win_size % 2 == 0:
        raise MedsrError(f"SSIM win_size must be an odd integer >= 3, got {win_size}")
    if not sigma > 0:
        raise MedsrError(f"SSIM sigma must be positive, got {sigma}")
    return (int(win_size) - 1) // 2


def three_sigma_size(sigma: float) -> int:
    """Taps of a Gaussian smoothing window reaching ``ceil(3 sigma)`` (at least 1) each side."""
    if not sigma > 0 or not math.isfinite(sigma):
        raise MedsrError(f"Gaussian sigma must be positive and finite, got {sigma}")
    return 2 * max(1, math.ceil(3 * sigma)) + 1


def gaussian_window_1d(
    size: int,
    sigma: float,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Normalised 1D Gaussian taps (length ``size``), the factor of the separable window.

    Args:
        size: number of taps, >= 1 (SSIM itself checks odd >= 3 with :func:`window_radius`; the
            SSIM loss shrinks the window to thin axes).
        sigma: standard deviation in taps.
        dtype, device: of the result (default float32); the taps are computed in float64.
    """
    import torch

    if int(size) != size or size < 1:
        raise MedsrError(f"a Gaussian window needs a positive integer size, got {size}")
    if not sigma > 0:
        raise MedsrError(f"Gaussian sigma must be positive, got {sigma}")
    x = torch.arange(int(size), dtype=torch.float64) - (int(size) - 1) / 2
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return (g / g.sum()).to(dtype=dtype or torch.float32, device=device)


def separable_filter(
    x: torch.Tensor, taps: torch.Tensor, *, pad: bool = True
) -> torch.Tensor:
    """Filter every spatial axis of ``x`` ``(N, C, *spatial)`` (1-3 axes) with the 1D ``taps``,
    each channel on its own (depthwise).

    ``pad=True``: the same size out, borders reflected (replicated on an axis too short to
    reflect); ``pad=False``: 'valid' output (each axis shrinks by ``len(taps) - 1``).
    """
    import torch.nn.functional as F

    dims, channels, k = x.dim() - 2, x.shape[1], taps.numel()
    if dims not in (1, 2, 3):
        raise MedsrError(
            f"separable filtering needs (N, C, *s) with 1-3 spatial axes, got {x.dim()}-D"
        )
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
    r = (k - 1) // 2
    for axis in range(dims):
        shape = [1] * dims
        shape[axis] = k
        weight = taps.reshape(1, 1, *shape).expand(channels, 1, *shape)
        if pad:
            widths = [0, 0] * dims
            widths[2 * (dims - 1 - axis)] = widths[2 * (dims - 1 - axis) + 1] = r
            mode = "reflect" if x.shape[2 + axis] > r else "replicate"
            x = F.pad(x, widths, mode=mode)
        x = conv(x, weight, groups=channels)
    return x


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian smoothing of ``x`` ``(N, C, *spatial)`` with taps reaching ``3 sigma`` pixels
    (:func:`three_sigma_size`), reflected borders, same size out (:func:`separable_filter`)."""
    taps = gaussian_window_1d(three_sigma_size(sigma), sigma, dtype=x.dtype, device=x.device)
    return separable_filter(x, taps)
