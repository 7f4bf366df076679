"""Pixel-wise losses: the content terms of review section 2.4.

Every loss here compares a super-resolved tensor with its reference voxel by voxel and works on any
spatial dimensionality (``(N, C, *spatial)``): L2 (the mean squared error that SRCNN, VDSR and most
early networks minimise, review eq. 4), L1 (EDSR, Lim et al. 2017, found it trains better), the
Charbonnier penalty ``sqrt(d^2 + eps^2)`` of LapSRN (Lai et al. 2017, eq. 3 there), a differentiable
L1 that behaves like L2 near zero, and the smooth-L1 (Huber) loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError

__all__ = ["CharbonnierLoss", "L1Loss", "L2Loss", "SmoothL1Loss", "charbonnier"]


def _check_shapes(pred: torch.Tensor, target: torch.Tensor, name: str) -> None:
    if pred.shape != target.shape:
        raise MedsrError(
            f"{name}: prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in "
            "shape; the network's scale must match the data's"
        )


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Mean Charbonnier penalty ``mean(sqrt((pred - target)^2 + eps^2))`` (Lai et al. 2017, eq. 3).

    As ``eps -> 0`` it tends to the mean absolute error; for ``|d| << eps`` it is
    ``eps + d^2 / (2 eps)``, so its gradient is smooth at zero, unlike L1.
    """
    diff = pred - target
    return torch.sqrt(diff * diff + eps * eps).mean()


class L1Loss(nn.Module):
    """Mean absolute error (used by EDSR, Lim et al. 2017, and RDN)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target, "l1 loss")
        return F.l1_loss(pred, target)


class L2Loss(nn.Module):
    """Mean squared error, the loss of SRCNN (Dong et al. 2014) and review eq. 4."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target, "l2 loss")
        return F.mse_loss(pred, target)


class CharbonnierLoss(nn.Module):
    """Charbonnier penalty of LapSRN (Lai et al. 2017); see :func:`charbonnier`.

    Args:
        eps: the smoothing constant (LapSRN uses 1e-3).
    """

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        if not eps > 0:
            raise MedsrError(f"charbonnier eps must be > 0, got {eps}")
        self.eps = float(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target, "charbonnier loss")
        return charbonnier(pred, target, self.eps)


class SmoothL1Loss(nn.Module):
    """Smooth L1 (Huber) loss: quadratic below ``beta``, linear above (Girshick 2015).

    Args:
        beta: the switch point between the quadratic and the linear branch.
    """

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if not beta > 0:
            raise MedsrError(f"smooth_l1 beta must be > 0, got {beta}")
        self.beta = float(beta)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target, "smooth l1 loss")
        return F.smooth_l1_loss(pred, target, beta=self.beta)
