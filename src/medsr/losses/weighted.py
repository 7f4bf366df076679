"""Weighted combinations of losses: the saliency-weighted L1 and :class:`WeightedSum`.

Most SR objectives are sums of named terms, ``L = sum_k w_k L_k`` (e.g. SRGAN:
``1e-3`` adversarial + VGG content, Ledig et al. 2017 eq. 3; ESRGAN:
``L_percep + 5e-3 L_G^Ra + 1e-2 L_1``, Wang et al. 2018 eq. 3). :class:`WeightedSum` holds such
a sum as configured in YAML and reports every term so the logs show which one dominates.

The saliency-weighted L1 concentrates the pixel loss where the image carries structure: a weight map
``1 + gain * S / max S`` from a saliency map ``S`` (by default the gradient magnitude of the
reference, smoothed), so edges and small lesions are not drowned by large uniform regions — the
content term of the saliency-weighted GANs for medical SR (review section 4).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.losses.regularisers import GradientMagnitudeLoss

__all__ = ["SaliencyWeightedL1", "SaliencyWeightedMSE", "WeightedSum", "gradient_saliency"]


def gradient_saliency(target: torch.Tensor, smooth: int = 3) -> torch.Tensor:
    """Saliency map of ``(N, C, *spatial)``: gradient magnitude (forward differences, padded back
    to the input size), averaged over channels and box-smoothed with a ``smooth``-voxel window."""
    mag = GradientMagnitudeLoss.magnitude(target.detach(), 0.0)
    pad: list[int] = []
    for _ in range(target.ndim - 2):
        pad += [0, 1]
    mag = F.pad(mag, pad, mode="replicate").mean(dim=1, keepdim=True)
    if smooth > 1:
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[target.ndim - 3]
        mag = pool(mag, smooth, stride=1, padding=smooth // 2, count_include_pad=False)
    return mag


class SaliencyWeightedL1(nn.Module):
    """Mean of ``w * |pred - target|`` with ``w = 1 + gain * S / max(S)`` per image.

    Args:
        gain: how much more a maximally salient voxel counts than a flat one.
        smooth: box-filter width applied to the gradient-magnitude saliency.
    """

    def __init__(self, gain: float = 4.0, smooth: int = 3) -> None:
        super().__init__()
        if gain < 0:
            raise MedsrError(f"saliency gain must be >= 0, got {gain}")
        self.gain = float(gain)
        self.smooth = int(smooth)

    def weights(self, target: torch.Tensor, saliency: torch.Tensor | None = None) -> torch.Tensor:
        s = gradient_saliency(target, self.smooth) if saliency is None else saliency.detach()
        peak = s.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, *([1] * (s.ndim - 1)))
        return 1.0 + self.gain * s / peak

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, saliency: torch.Tensor | None = None
    ) -> torch.Tensor:
        if pred.shape != target.shape:
            raise MedsrError(
                f"saliency L1: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}"
            )
        w = self.weights(target, saliency)
        return (w * (pred - target).abs()).mean()


class SaliencyWeightedMSE(nn.Module):
    """Saliency-weighted MSE of Mahapatra et al., "Image super resolution using generative
    adversarial networks and local saliency maps for retinal image analysis", MICCAI 2017 (review
    ref. [67]): ``mean((offset + S) * (pred - target)^2)`` with ``S`` the [0, 1] saliency map of
    the HR target (:func:`medsr.models.medical.saliency.saliency_map`; by default the paper's
    curvature + local-entropy map), computed without gradients.

    Args:
        method: saliency map (``curvature_entropy``, ``gradient``, ``spectral_residual``).
        sigma: Gaussian scale of the map (the curvature's smoothing).
        offset: added to the map; 0 (default) is the paper's ``S``-weighted MSE, which leaves
            regions of zero saliency (flat background) to the adversarial term alone; 1 keeps a
            plain MSE under the saliency emphasis.
    """

    def __init__(
        self, method: str = "curvature_entropy", sigma: float = 1.0, offset: float = 0.0
    ) -> None:
        super().__init__()
        from medsr.models.medical.saliency import SaliencyMap

        if offset < 0:
            raise MedsrError(f"saliency MSE offset must be >= 0, got {offset}")
        self.saliency = SaliencyMap(method, sigma)
        self.offset = float(offset)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise MedsrError(
                f"saliency MSE: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}"
            )
        w = self.saliency(target).detach() + self.offset
        return (w * (pred - target) ** 2).mean()


class WeightedSum(nn.Module):
    """``sum_k w_k L_k(pred, target)`` over named terms.

    Args:
        terms: ``{name: (loss module, weight)}``; each loss is called as ``loss(pred, target)``.

    ``forward`` returns ``(total, {name: unweighted value (detached)})``.
    """

    def __init__(self, terms: Mapping[str, tuple[nn.Module, float]]) -> None:
        super().__init__()
        if not terms:
            raise MedsrError("a loss needs at least one term; add e.g. `l1: 1.0` under loss.terms")
        self.terms = nn.ModuleDict({name: module for name, (module, _) in terms.items()})
        self.weights = {name: float(w) for name, (_, w) in terms.items()}

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total = pred.new_zeros((), dtype=torch.float32)
        parts: dict[str, torch.Tensor] = {}
        for name, module in self.terms.items():
            value = module(pred, target)
            parts[name] = value.detach()
            w = self.weights[name]
            if w != 0.0:
                total = total + w * value.float()
        return total, parts
