"""Structural-similarity loss, ``1 - SSIM`` (Wang et al. 2004; review section 2.4 and eq. 5's
companion metric), for 2D images and 3D volumes.

SSIM compares local means, variances and covariance under a Gaussian window (11 taps, sigma 1.5,
``K1 = 0.01``, ``K2 = 0.03``). Used as a loss it rewards preserved local structure rather than
matched intensities (Zhao et al. 2017, "Loss functions for image restoration with neural
networks"). The window is separable, so the 3D version costs three 1D convolutions per statistic.
The statistic maps are computed on the "valid" part of the image (no padding), which is what a
loss wants: border voxels are not judged against invented neighbours. :class:`SSIMLoss` is
``1 - medsr.metrics.ssim_torch`` (the same definition, window and code as the reported metric);
for images smaller than the window, which the metric refuses, it asks the metric to shrink the
window to the image (``fit_window``: the shortest axis' length, made odd).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.metrics import ssim_torch

__all__ = ["SSIMLoss"]


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
        if not fits and pred.dtype not in (torch.float32, torch.float64):
            # thin volumes / small patches (the window shrinks): in float32 at least
            pred, target = pred.float(), target.float()
        value = ssim_torch(
            target, pred, data_range=self.data_range, win_size=self.window, sigma=self.sigma,
            reduction="mean", fit_window=True,
        )  # fmt: skip
        return 1.0 - value
