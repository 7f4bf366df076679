"""Saliency maps for saliency-weighted SR losses (Mahapatra et al. 2017, 2019; review section 4).

Mahapatra et al. weight the content loss of their GANs by a local saliency map of the HR image,
so that errors in salient regions cost more. Three maps, for 2D and 3D tensors ``(N, C, *spatial)``:

* ``"curvature_entropy"`` -- the saliency of Mahapatra, Bozorgtabar, Hewavitharanage & Garnavi,
  "Image super resolution using generative adversarial networks and local saliency maps for
  retinal image analysis", MICCAI 2017 (review ref. [67]), built from the two local features the
  paper names: *curvature* (here the magnitude of the Hessian of the Gaussian-smoothed image,
  ``sqrt(sum_i kappa_i^2)`` over its principal curvatures ``kappa_i``, high on vessels and
  edges) and *local entropy* (Shannon entropy of the intensity histogram, ``bins`` levels, in a
  ``window``-wide neighbourhood, high in textured regions). Each is normalised to [0, 1] and the
  two are averaged (the combination is our reading: equal weights);

* ``"spectral_residual"`` -- Hou X., Zhang L., "Saliency detection: a spectral residual approach",
  CVPR 2007: with ``A = log |F(x)|`` and ``P = arg F(x)``, the spectral residual ``R = A - h * A``
  (``h`` a 3-wide box filter) gives ``S = g * |F^-1(exp(R + iP))|^2`` (``g`` a Gaussian), eq. 5-8.
* ``"gradient"`` -- the Gaussian-smoothed gradient magnitude (edges and texture are salient).

Maps are normalised to [0, 1] per image, channels averaged (``(N, 1, *spatial)``), and computed
without gradients (a loss weight, not a learned quantity). :func:`saliency_weights` turns a map into
the weights ``1 + alpha * S``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.metrics.window import gaussian_window_1d, separable_filter, three_sigma_size

__all__ = [
    "SaliencyMap",
    "curvature_entropy_saliency",
    "curvature_magnitude",
    "local_entropy",
    "saliency_map",
    "saliency_weights",
]

METHODS = ("spectral_residual", "gradient", "curvature_entropy")


def _normalise(s: torch.Tensor) -> torch.Tensor:
    flat = s.flatten(1)
    lo = flat.min(dim=1).values.reshape(-1, *([1] * (s.dim() - 1)))
    hi = flat.max(dim=1).values.reshape(-1, *([1] * (s.dim() - 1)))
    return (s - lo) / (hi - lo).clamp_min(1e-12)


def curvature_magnitude(img: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """``||H||_F`` of the Gaussian-smoothed ``img`` (N, 1, *spatial): the root of the sum of the
    squared principal curvatures (Hessian eigenvalues)."""
    gauss = gaussian_window_1d(three_sigma_size(sigma), sigma, dtype=img.dtype, device=img.device)
    smooth = separable_filter(img, gauss)
    axes = tuple(range(2, img.dim()))
    total = torch.zeros_like(img)
    for g in torch.gradient(smooth, dim=axes):
        for h in torch.gradient(g, dim=axes):
            total = total + h**2
    return torch.sqrt(total)


def local_entropy(img: torch.Tensor, window: int = 9, bins: int = 16) -> torch.Tensor:
    """Shannon entropy (nats) of the intensity histogram in a ``window``-wide neighbourhood of each
    voxel of ``img`` (N, 1, *spatial); intensities are quantised to ``bins`` levels over each
    image's range (as ``skimage.filters.rank.entropy`` on an 8-bit image, with fewer levels)."""
    if window < 1 or bins < 2:
        raise MedsrError(f"local entropy needs window >= 1 and bins >= 2, got {window}, {bins}")
    q = (_normalise(img) * bins).clamp(max=bins - 1).long()[:, 0]  # (N, *spatial)
    onehot = F.one_hot(q, bins).movedim(-1, 1).to(img.dtype)  # (N, bins, *spatial)
    pool = F.avg_pool2d if img.dim() == 4 else F.avg_pool3d
    hist = pool(onehot, window, stride=1, padding=window // 2, count_include_pad=False)
    hist = hist[(slice(None), slice(None)) + tuple(slice(0, n) for n in img.shape[2:])]
    return -(hist * torch.log(hist.clamp_min(1e-12))).sum(dim=1, keepdim=True)


def curvature_entropy_saliency(
    x: torch.Tensor, sigma: float = 1.0, window: int = 9, bins: int = 16
) -> torch.Tensor:
    """Mahapatra et al. 2017's saliency (review ref. [67]): the mean of the [0, 1]-normalised
    curvature and local-entropy maps of the channel-averaged image, renormalised to [0, 1];
    ``(N, C, *spatial) -> (N, 1, *spatial)``, without gradients."""
    with torch.no_grad():
        img = x.detach().float().mean(dim=1, keepdim=True)
        curvature = _normalise(curvature_magnitude(img, sigma))
        s = 0.5 * (curvature + _normalise(local_entropy(img, window, bins)))
        return _normalise(s).to(x.dtype)


def saliency_map(
    x: torch.Tensor, method: str = "spectral_residual", sigma: float = 2.0
) -> torch.Tensor:
    """Saliency of each image of ``x`` (N, C, H, W[, D]) -> (N, 1, H, W[, D]) in [0, 1]."""
    if method not in METHODS:
        raise MedsrError(f"unknown saliency method {method!r}; choose one of: {', '.join(METHODS)}")
    if x.dim() not in (4, 5):
        raise MedsrError(f"saliency needs a 4-D or 5-D tensor (N, C, *spatial), got {x.dim()}-D")
    if sigma <= 0:
        raise MedsrError(f"saliency sigma must be positive, got {sigma}")
    if method == "curvature_entropy":
        return curvature_entropy_saliency(x, sigma)
    with torch.no_grad():
        img = x.detach().float().mean(dim=1, keepdim=True)
        axes = tuple(range(2, img.dim()))
        gauss = gaussian_window_1d(
            three_sigma_size(sigma), sigma, dtype=img.dtype, device=img.device
        )
        if method == "spectral_residual":
            spec = torch.fft.fftn(img, dim=axes)
            log_amp = torch.log(spec.abs() + 1e-8)
            box = torch.full((3,), 1.0 / 3.0, dtype=img.dtype, device=img.device)
            residual = log_amp - separable_filter(log_amp, box)
            s = (
                torch.fft.ifftn(
                    torch.exp(torch.complex(residual, torch.angle(spec))), dim=axes
                ).abs()
                ** 2
            )
        else:
            smooth = separable_filter(img, gauss)
            grads = torch.gradient(smooth, dim=axes)
            s = torch.sqrt(sum(g**2 for g in grads))
        s = separable_filter(s, gauss)
        return _normalise(s).to(x.dtype)


def saliency_weights(saliency: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Per-voxel loss weights ``1 + alpha * S`` (salient voxels count up to ``1 + alpha`` times)."""
    if alpha < 0:
        raise MedsrError(f"saliency weight alpha must be >= 0, got {alpha}")
    return 1.0 + alpha * saliency


class SaliencyMap(nn.Module):
    """Module form of :func:`saliency_map` (no parameters), for use inside losses."""

    def __init__(self, method: str = "spectral_residual", sigma: float = 2.0) -> None:
        super().__init__()
        if method not in METHODS:
            raise MedsrError(
                f"unknown saliency method {method!r}; choose one of: {', '.join(METHODS)}"
            )
        self.method, self.sigma = method, float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return saliency_map(x, self.method, self.sigma)

    def extra_repr(self) -> str:
        return f"method={self.method}, sigma={self.sigma}"
