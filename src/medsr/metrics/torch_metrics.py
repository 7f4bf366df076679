"""Batched, differentiable PSNR and SSIM in torch (training validation and the SSIM loss).

Same definitions as :mod:`medsr.metrics.pixel` and :mod:`medsr.metrics.ssim` (Wang et al. 2004,
Gaussian window 11 / 1.5, population variances, valid region): a separable Gaussian convolution
without padding gives exactly the valid part of the SSIM map. Inputs are ``(N, C, H, W)`` or
``(N, C, D, H, W)``; results are per sample ``(N,)`` (mean over channels and positions).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medsr.errors import MedsrError

__all__ = ["gaussian_window_1d", "psnr_torch", "ssim_torch"]


def _check(ref: torch.Tensor, test: torch.Tensor, data_range: float) -> None:
    if ref.shape != test.shape:
        raise MedsrError(f"reference and test tensors differ in shape: {tuple(ref.shape)} vs {tuple(test.shape)}")
    if ref.dim() not in (4, 5):
        raise MedsrError(f"need (N, C, H, W) or (N, C, D, H, W) tensors, got shape {tuple(ref.shape)}")
    if data_range is None or not float(data_range) > 0:
        raise MedsrError(f"data_range must be given and positive, got {data_range}")


def psnr_torch(ref: torch.Tensor, test: torch.Tensor, *, data_range: float) -> torch.Tensor:
    """Per-sample PSNR in dB ``(N,)``: ``10 log10(R^2 / MSE)`` (review eq. 5)."""
    _check(ref, test, data_range)
    err = (ref - test).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(float(data_range) ** 2 / err)


def gaussian_window_1d(win_size: int, sigma: float, *, dtype: torch.dtype = torch.float32,
                       device: torch.device | str | None = None) -> torch.Tensor:
    """Normalised 1D Gaussian taps (length ``win_size``), the factor of the separable window."""
    if win_size < 3 or win_size % 2 == 0:
        raise MedsrError(f"SSIM win_size must be an odd integer >= 3, got {win_size}")
    rad = (win_size - 1) // 2
    x = torch.arange(-rad, rad + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return (g / g.sum()).to(dtype=dtype, device=device)


def _blur_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable depthwise Gaussian convolution without padding ('valid')."""
    spatial = x.dim() - 2
    channels = x.shape[1]
    conv = F.conv2d if spatial == 2 else F.conv3d
    for axis in range(spatial):
        shape = [1] * spatial
        shape[axis] = g.numel()
        weight = g.reshape(1, 1, *shape).expand(channels, 1, *shape)
        x = conv(x, weight, groups=channels)
    return x


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
) -> torch.Tensor:
    """Differentiable SSIM (Wang et al. 2004) of 2D or 3D batches.

    Args:
        ref, test: ``(N, C, H, W)`` or ``(N, C, D, H, W)``; every spatial size >= ``win_size``.
        data_range: ``R`` of ``C1 = (k1 R)^2``, ``C2 = (k2 R)^2``.
        reduction: "none" -> ``(N,)`` per-sample mean SSIM, "mean" -> a scalar.

    ``1 - ssim_torch(...)`` is the SSIM loss (Zhao et al., IEEE TCI 2017).
    """
    _check(ref, test, data_range)
    if min(ref.shape[2:]) < win_size:
        raise MedsrError(
            f"spatial size {tuple(ref.shape[2:])} is smaller than the SSIM window ({win_size}); "
            "use larger patches or a smaller win_size"
        )
    g = gaussian_window_1d(win_size, sigma, dtype=ref.dtype, device=ref.device)
    r = float(data_range)
    c1 = (k1 * r) ** 2
    c2 = (k2 * r) ** 2
    n = ref.shape[0]
    # one convolution pass for the five local statistics
    stack = torch.cat([ref, test, ref * ref, test * test, ref * test], dim=1)
    blurred = _blur_valid(stack, g)
    mu_a, mu_b, e_aa, e_bb, e_ab = torch.chunk(blurred, 5, dim=1)
    var_a = e_aa - mu_a * mu_a
    var_b = e_bb - mu_b * mu_b
    cov = e_ab - mu_a * mu_b
    smap = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
    per_sample = smap.reshape(n, -1).mean(dim=1)
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        return per_sample.mean()
    raise MedsrError(f"unknown reduction {reduction!r}; use 'none' or 'mean'")
