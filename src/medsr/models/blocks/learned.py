"""Learned interpolation layers of the review's section 3.4 (up-sampling at the network input).

* :class:`ShepardInterpolation` -- the Shepard interpolation layer of ShCNN (Ren, Xu, Yan & Sun,
  "Shepard convolutional neural networks", NeurIPS 2015, eq. 2; the review's ref. [57]): missing
  samples (mask 0) are filled with the normalised weighted average ``(K * I) / (K * M)`` of the
  known samples around them, with a *trainable* non-negative kernel ``K`` per channel -- Shepard's
  inverse-distance weighting (Shepard 1968) whose weights are learned. Known samples are kept
  (``keep_known=True``, interpolation in the strict sense) and the returned mask marks where a
  value now exists, so layers can be stacked to fill larger holes, as in ShCNN.
* :class:`LearnedPreUpsample` -- a learned up-sampling layer at the network input (the review's
  ref. [55]): a transposed convolution in place of the fixed bicubic of pre-upsampling networks,
  initialised so that it *starts as* (tri)linear interpolation with replicated borders (exactly
  :class:`~medsr.models.blocks.upsample.PreUpsample` with ``kernel="linear",
  border="replicate"``) and is then trained with the network. Reached from the zoo with the
  ``kernel="learned"`` option of every pre-upsampling network, e.g.
  ``create_model("vdsr", scale=2, kernel="learned")`` (``model: {name: vdsr, kwargs: {kernel:
  learned}}`` in a training config).

* :class:`ShepardPreUpsample` -- the Shepard layer as the input up-sampler of a pre-upsampling
  network (ShCNN's use of it for SR: the LR samples are the known samples on the HR grid).
  Reached with ``kernel="shepard"`` of every pre-upsampling network (``model: {name: srcnn,
  kwargs: {kernel: shepard}}``).

Example::

    >>> layer = ShepardInterpolation(2, channels=1, kernel=5)
    >>> filled, mask_out = layer(image * mask, mask)   # holes filled, mask_out: where defined
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import check_dims, integer_factors
from medsr.models.blocks.upsample import TransposedUpsample

__all__ = ["LearnedPreUpsample", "ShepardInterpolation", "ShepardPreUpsample"]


class ShepardInterpolation(nn.Module):
    """Trainable Shepard interpolation (ShCNN, Ren et al. 2015, eq. 2), 2D or 3D.

    ``forward(x, mask)`` with ``x`` ``(N, C, *spatial)`` and ``mask`` ``(N, 1 or C, *spatial)``
    (1 where a sample is known, 0 where it is missing; values under the mask are ignored) returns
    ``(y, mask_out)``: ``y = (K * (M x)) / (K * M)`` per channel wherever ``K * M > eps``, else 0;
    with ``keep_known`` the known samples are passed through unchanged. ``mask_out`` is 1 where
    ``y`` is defined (known, or with a known sample within the kernel's reach).

    The kernel is ``softplus(theta)`` (non-negative, so the result is a convex combination: a
    normalised weighted average) and starts as Shepard's inverse-distance weights
    ``1 / (1 + d^power)``.

    Args:
        dims: 2 or 3.
        channels: number of channels (one kernel each).
        kernel: odd kernel size (the reach of the interpolation is ``kernel // 2`` samples).
        power: exponent of the initial inverse-distance weights (Shepard: 2).
        keep_known: keep the known samples (ShCNN's interpolation) rather than smoothing them.
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        kernel: int = 5,
        *,
        power: float = 2.0,
        keep_known: bool = True,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        if kernel < 1 or kernel % 2 == 0:
            raise MedsrError(f"Shepard kernel size must be a positive odd integer, got {kernel}")
        self.channels, self.kernel, self.keep_known, self.eps = channels, kernel, keep_known, eps
        r = np.arange(kernel, dtype=np.float64) - kernel // 2
        grids = np.meshgrid(*([r] * dims), indexing="ij")
        dist = np.sqrt(sum(g**2 for g in grids))
        w0 = 1.0 / (1.0 + dist**power)
        theta = np.log(np.expm1(w0))  # softplus^-1
        shape = (channels, 1) + (kernel,) * dims
        self.theta = nn.Parameter(torch.as_tensor(theta, dtype=torch.float32).expand(shape).clone())

    def weights(self) -> torch.Tensor:
        """The non-negative kernels ``(C, 1, k, ...)``."""
        return F.softplus(self.theta)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != self.dims + 2 or x.shape[1] != self.channels:
            raise MedsrError(
                f"Shepard layer expects (N, {self.channels}, {self.dims} spatial axes), "
                f"got {tuple(x.shape)}"
            )
        m = mask.to(x.dtype).expand_as(x)
        w = self.weights().to(x.dtype)
        conv = F.conv2d if self.dims == 2 else F.conv3d
        pad = self.kernel // 2
        num = conv(x * m, w, padding=pad, groups=self.channels)
        den = conv(m, w, padding=pad, groups=self.channels)
        defined = den > self.eps
        y = torch.where(defined, num / den.clamp_min(self.eps), torch.zeros_like(num))
        if self.keep_known:
            y = m * x + (1 - m) * y
            defined = defined | (m > 0)
        return y, defined.to(x.dtype)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, channels={self.channels}, kernel={self.kernel}"


class LearnedPreUpsample(nn.Module):
    """A trainable input up-sampler (review ref. [55]) by integer factors per axis that starts as
    (tri)linear interpolation with replicated borders.

    Implementation: replicate-pad one sample, a transposed convolution of kernel ``2r - r % 2``
    and stride ``r`` initialised with the bilinear filter (Long et al. 2015), crop ``r`` samples
    per side. All its weights (cross-channel ones included, initially 0) are trained.
    """

    def __init__(self, dims: int, channels: int, factors: int | Sequence[int]) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.factors = integer_factors(factors, dims)
        kernel = tuple(2 * f - f % 2 for f in self.factors)
        self.up = TransposedUpsample(
            dims, channels, channels, self.factors, kernel=kernel, bias=False, init="bilinear"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(F.pad(x, (1, 1) * self.dims, mode="replicate"))
        crop = (slice(None), slice(None)) + tuple(slice(f, -f) for f in self.factors)
        return y[crop]

    def extra_repr(self) -> str:
        return f"factors={self.factors}"


class ShepardPreUpsample(nn.Module):
    """Trainable Shepard interpolation from the LR grid onto the HR grid (ShCNN, Ren et al. 2015,
    eq. 2, review ref. [57]) by integer factors per axis: ``y = (K * I) / (K * M)`` where ``I``
    holds the LR samples at their positions on the HR grid and ``M`` marks them.

    The LR sample ``i`` of an axis with factor ``r`` lies at HR coordinate ``i r + (r - 1) / 2``
    (pixel centres, as :class:`~medsr.models.blocks.upsample.PreUpsample`), between HR samples
    when ``r`` is even, so ``K * I`` and ``K * M`` are computed as transposed convolutions of
    stride ``r`` whose taps sit at sub-sample offsets. ``K = softplus(theta)`` (one non-negative
    kernel per channel), so every output is a normalised weighted average of the LR samples
    within ``reach`` LR samples -- a constant stays constant, at the borders too. It starts as
    Shepard's inverse-distance weights ``1 / (softening + d^power)`` (``d`` in LR samples; the
    softening keeps the weight finite at ``d = 0``), which nearly pass through the LR samples
    and average the two nearest ones half-way between them. Axes of factor 1 are not touched.

    Simplified: the layer of ShCNN used once, at the input, in place of the fixed interpolation
    (ShCNN stacks Shepard layers inside its network for inpainting and SR).
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        factors: int | Sequence[int],
        *,
        reach: int = 2,
        power: float = 2.0,
        softening: float = 0.01,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.factors = integer_factors(factors, dims)
        if reach < 1 or softening <= 0:
            raise MedsrError(
                f"Shepard up-sampling needs reach >= 1 and softening > 0, got {reach}, {softening}"
            )
        self.channels, self.reach = channels, reach
        self.kernel_size = tuple(2 * reach * r - r % 2 if r > 1 else 1 for r in self.factors)
        axes = [
            (np.arange(k, dtype=np.float64) - (k - 1) / 2) / r
            for k, r in zip(self.kernel_size, self.factors)
        ]
        grids = np.meshgrid(*axes, indexing="ij")
        dist = np.sqrt(sum(g**2 for g in grids))
        w0 = 1.0 / (softening + dist**power)
        theta = np.log(np.expm1(w0))  # softplus^-1
        shape = (channels, 1) + self.kernel_size
        self.theta = nn.Parameter(torch.as_tensor(theta, dtype=torch.float32).expand(shape).clone())

    def weights(self) -> torch.Tensor:
        """The non-negative kernels ``(C, 1, *kernel_size)``."""
        return F.softplus(self.theta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.dims + 2 or x.shape[1] != self.channels:
            raise MedsrError(
                f"Shepard up-sampling expects (N, {self.channels}, {self.dims} spatial axes), "
                f"got {tuple(x.shape)}"
            )
        w = self.weights().to(x.dtype)
        conv_t = F.conv_transpose2d if self.dims == 2 else F.conv_transpose3d
        num = conv_t(x, w, stride=self.factors, groups=self.channels)
        ones = torch.ones((1, self.channels) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        den = conv_t(ones, w, stride=self.factors, groups=self.channels)
        crop = (slice(None), slice(None)) + tuple(
            slice((k - r) // 2, (k - r) // 2 + n * r)
            for k, r, n in zip(self.kernel_size, self.factors, x.shape[2:])
        )
        return num[crop] / den[crop]

    def extra_repr(self) -> str:
        return f"factors={self.factors}, kernel_size={self.kernel_size}, reach={self.reach}"
