"""Structural-similarity loss, ``1 - SSIM`` (Wang et al. 2004; review section 2.4 and eq. 5's
companion metric), for 2D images and 3D volumes.

SSIM compares local means, variances and covariance under a Gaussian window (11 taps, sigma 1.5,
``K1 = 0.01``, ``K2 = 0.03``). Used as a loss it rewards preserved local structure rather than
matched intensities (Zhao et al. 2017, "Loss functions for image restoration with neural
networks"). The window is separable, so the 3D version costs three 1D convolutions per statistic.
The statistic maps are computed on the "valid" part of the image (no padding), which is what a
loss wants: border voxels are not judged against invented neighbours. :class:`SSIMLoss` uses
:func:`medsr.metrics.torch_metrics.ssim_torch` (the same definition as the reported metric) and
falls back to :func:`ssim_index` only for images smaller than the window, which the metric
refuses: there the window shrinks to the image (odd) size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError

__all__ = ["SSIMLoss", "ssim_index"]


def _gauss_1d(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filtering over every spatial axis, channels independent."""
    dims = x.ndim - 2
    channels = x.shape[1]
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
    out = x
    for axis in range(dims):
        shape = [1, 1] + [1] * dims
        shape[2 + axis] = g.numel()
        weight = g.to(out.dtype).view(shape).expand(channels, *shape[1:])
        out = conv(out, weight, groups=channels)
    return out


def ssim_index(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004, eq. 13) of ``(N, C, *spatial)`` tensors, differentiable.

    Axes shorter than the window use a window of the axis length (odd), so thin volumes work.
    """
    if pred.shape != target.shape:
        raise MedsrError(f"ssim: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}")
    if pred.ndim not in (3, 4, 5):
        raise MedsrError(f"ssim needs (N, C, *spatial) with 1-3 spatial axes, got {pred.ndim}D")
    dtype = pred.dtype if pred.dtype in (torch.float32, torch.float64) else torch.float32
    x = pred.to(dtype)
    y = target.to(dtype)
    size = min([window] + [int(s) if int(s) % 2 else int(s) - 1 for s in x.shape[2:]])
    if size < 1:
        raise MedsrError("ssim: image too small")
    g = _gauss_1d(size, sigma, x.device, dtype)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    mu_x = _blur(x, g)
    mu_y = _blur(y, g)
    sxx = _blur(x * x, g) - mu_x * mu_x
    syy = _blur(y * y, g) - mu_y * mu_y
    sxy = _blur(x * y, g) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return (num / den).mean()


class SSIMLoss(nn.Module):
    """``1 - SSIM(pred, target)`` for 2D ``(N, C, H, W)`` or 3D ``(N, C, X, Y, Z)`` tensors.

    Args:
        data_range: the intensity range of the (normalised) data, 1 for [0, 1].
        window: Gaussian window size (11 in Wang et al. 2004).
        sigma: Gaussian window width (1.5).
    """

    def __init__(self, data_range: float = 1.0, window: int = 11, sigma: float = 1.5) -> None:
        super().__init__()
        if not data_range > 0 or window < 1 or not sigma > 0 or not math.isfinite(sigma):
            raise MedsrError("ssim loss: data_range and sigma must be > 0 and window >= 1")
        self.data_range = float(data_range)
        self.window = int(window)
        self.sigma = float(sigma)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fits = pred.ndim in (4, 5) and min(pred.shape[2:]) >= self.window and self.window % 2
        if fits and pred.shape == target.shape:
            try:  # the metrics package's SSIM, so loss and reported metric are one definition
                from medsr.metrics.torch_metrics import ssim_torch
            except ImportError:  # pragma: no cover - shipped with medsr
                ssim_torch = None
            if ssim_torch is not None:
                value = ssim_torch(
                    target, pred, data_range=self.data_range, win_size=self.window,
                    sigma=self.sigma, reduction="mean",
                )  # fmt: skip
                return 1.0 - value
        # thin volumes / small patches: the metric refuses sizes below the window, this shrinks it
        return 1.0 - ssim_index(
            pred, target, data_range=self.data_range, window=self.window, sigma=self.sigma
        )
