"""Regularisers and gradient priors (review sections 2.4 and 4).

* Total variation (Rudin, Osher & Fatemi 1992), the sparsity prior that GAN-CIRCLE (You et al.
  2019) adds to its generator loss ("joint sparsifying transform"): the mean absolute forward
  difference along every spatial axis (anisotropic) or the mean gradient magnitude (isotropic).
* Gradient priors: the gradient-difference loss of Mathieu, Couprie & LeCun (2016), which asks the
  absolute gradients of the output to match those of the reference axis by axis, and a
  gradient-magnitude (gradient-profile) loss in the spirit of Sun, Xu & Shum's gradient profile
  prior (2008): edges must be as sharp as in the reference, which pixel losses alone blur.
* Weight regularisers of review section 2.4: the L1 sparsity penalty on the weights (refs. [28,
  29]; :func:`weight_l1`) and the DeCov feature-decorrelation penalty of Cogswell et al. (2016,
  refs. [30, 31]; :func:`decorrelation_penalty`), used by the trainer's ``regularise`` section.

All loss functions take ``(N, C, *spatial)`` tensors with 1-3 spatial axes.
"""

from __future__ import annotations

import torch
from torch import nn

from medsr.errors import MedsrError

__all__ = [
    "GradientDifferenceLoss",
    "GradientMagnitudeLoss",
    "TVLoss",
    "decorrelation_penalty",
    "forward_differences",
    "total_variation",
    "weight_l1",
]


def forward_differences(x: torch.Tensor) -> list[torch.Tensor]:
    """Forward differences ``x[i+1] - x[i]`` along each spatial axis of ``(N, C, *spatial)``."""
    if x.ndim < 3:
        raise MedsrError(f"need an (N, C, *spatial) tensor, got shape {tuple(x.shape)}")
    return [torch.diff(x, dim=d) for d in range(2, x.ndim)]


def total_variation(x: torch.Tensor, *, isotropic: bool = False, eps: float = 1e-8) -> torch.Tensor:
    """Mean total variation of ``(N, C, *spatial)``.

    Anisotropic: ``sum_d mean |D_d x|`` (each axis's mean over its valid differences), so a ramp of
    slope ``a`` along one axis scores exactly ``|a|``. Isotropic:
    ``mean sqrt(sum_d (D_d x)^2 + eps)`` over the voxels where every forward difference exists.
    """
    diffs = forward_differences(x)
    if not isotropic:
        return sum(d.abs().mean() for d in diffs)  # type: ignore[return-value]
    spatial = x.ndim - 2
    crop = [slice(None), slice(None)] + [slice(0, x.shape[2 + i] - 1) for i in range(spatial)]
    sq = sum(d[tuple(crop)] ** 2 for d in diffs)
    return torch.sqrt(sq + eps).mean()


class TVLoss(nn.Module):
    """Total-variation regulariser of the prediction (the target is ignored); see
    :func:`total_variation`."""

    def __init__(self, isotropic: bool = False) -> None:
        super().__init__()
        self.isotropic = bool(isotropic)

    def forward(self, pred: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return total_variation(pred, isotropic=self.isotropic)


class GradientDifferenceLoss(nn.Module):
    """Gradient-difference loss of Mathieu et al. (2016, eq. 5):
    ``sum_d mean | |D_d target| - |D_d pred| |^alpha``.

    Args:
        alpha: the exponent (1 or 2 in the paper).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        if not alpha > 0:
            raise MedsrError(f"gradient difference alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise MedsrError(
                f"gradient loss: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}"
            )
        total = pred.new_zeros(())
        for dp, dt in zip(forward_differences(pred), forward_differences(target)):
            total = total + ((dt.abs() - dp.abs()).abs() ** self.alpha).mean()
        return total


class GradientMagnitudeLoss(nn.Module):
    """L1 distance between gradient-magnitude maps (a gradient-profile prior, Sun et al. 2008).

    The magnitude uses forward differences on the common valid region, ``sqrt(sum_d D_d^2 + eps)``.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = float(eps)

    @staticmethod
    def magnitude(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
        diffs = forward_differences(x)
        crop = [slice(None), slice(None)] + [slice(0, n - 1) for n in x.shape[2:]]
        return torch.sqrt(sum(d[tuple(crop)] ** 2 for d in diffs) + eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise MedsrError(
                f"gradient loss: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}"
            )
        return (self.magnitude(pred, self.eps) - self.magnitude(target, self.eps)).abs().mean()


def weight_l1(model: nn.Module) -> torch.Tensor:
    """Mean absolute value of the weights (tensors of 2 or more dimensions: convolution and linear
    kernels, not biases or norm scales): the L1 sparsity penalty of review section 2.4 (refs. [28,
    29]), added as ``weight * weight_l1(model)``; its sub-gradient drives small weights to zero.

    Example:
        >>> net = nn.Conv2d(1, 4, 3)
        >>> _ = nn.init.constant_(net.weight, -0.5)
        >>> weight_l1(net).item()
        0.5
    """
    kernels = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    if not kernels:
        raise MedsrError("the network has no weight kernels to regularise")
    total = sum(p.abs().sum() for p in kernels)
    return total / sum(p.numel() for p in kernels)  # type: ignore[return-value]


def decorrelation_penalty(features: torch.Tensor) -> torch.Tensor:
    """DeCov (Cogswell et al. 2016, "Reducing overfitting in deep networks by decorrelating
    representations"; review section 2.4, refs. [30, 31]): ``0.5 (||C||_F^2 - ||diag C||^2)``
    where ``C`` is the covariance of the ``C`` feature channels of ``(N, C, *spatial)``
    activations, every position of the batch being one sample (the paper uses the batch of a
    fully-connected layer's activations; for a convolutional layer each voxel is one).
    Only the off-diagonal covariances are penalised: channels that carry the same information.

    Example:
        >>> h = torch.randn(2, 1, 8, 8).repeat(1, 2, 1, 1)  # two identical channels
        >>> bool(decorrelation_penalty(h) > 0), float(decorrelation_penalty(h[:, :1]))
        (True, 0.0)
    """
    if features.ndim < 2:
        raise MedsrError(f"need (N, C, ...) features, got shape {tuple(features.shape)}")
    h = features.transpose(0, 1).reshape(features.shape[1], -1).float()  # (C, samples)
    h = h - h.mean(dim=1, keepdim=True)
    cov = h @ h.t() / max(h.shape[1] - 1, 1)
    return 0.5 * ((cov**2).sum() - (torch.diagonal(cov) ** 2).sum())
