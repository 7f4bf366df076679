"""Up-samplers: where the resolution of an SR network increases (review section 3.3, Fig. 6).

* :class:`PreUpsample` -- the fixed interpolation of pre-upsampling networks (SRCNN, VDSR, DRCN,
  DRRN): separable cubic (MATLAB ``imresize`` bicubic by default) on the medsr grid, any positive
  factor per axis. Written here rather than with ``F.interpolate(mode="bicubic")`` because torch's
  bicubic uses the kernel parameter a = -0.75 and clamped borders, whereas the training data of
  these papers (and :mod:`medsr.degrade`) use MATLAB's a = -0.5 with symmetric borders; and torch
  has no tricubic mode for 3D. Integer factors run as a fixed poly-phase convolution followed by a
  1-axis pixel shuffle, so the layer exports to ONNX with dynamic spatial sizes.
* :class:`TransposedUpsample` -- learned transposed convolution (FSRCNN, Dong et al. 2016;
  LapSRN, Lai et al. 2017), per-axis stride; optional bilinear initialisation (LapSRN).
* :class:`SubPixelUpsample` -- convolution to ``C * prod(r)`` channels then periodic shuffling
  (ESPCN, Shi et al. 2016, eq. 4), optionally in x2/x3 stages (EDSR, SRResNet), with the ICNR
  initialisation of Aitken et al. 2017 ("Checkerboard artifact free sub-pixel convolution").
* :class:`ResizeConvUpsample` -- nearest-neighbour resize then convolution (Odena et al. 2016,
  "Deconvolution and checkerboard artifacts"; used by ESRGAN).
* :func:`pixel_shuffle_nd` / :class:`PixelShuffleND` -- anisotropic N-D periodic shuffling for
  per-axis factors such as (1, 1, 4), with reshape/permute only (ONNX-exportable);
  :func:`pixel_unshuffle_nd` is its inverse.
* :func:`make_upsampler` -- the factory networks use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import (
    activation,
    as_factors,
    check_dims,
    conv,
    conv_transpose,
    integer_factors,
)
from medsr.volume import index_coordinates

__all__ = [
    "NearestUpsample",
    "PixelShuffleND",
    "PixelUnshuffleND",
    "PreUpsample",
    "ResizeConvUpsample",
    "SubPixelUpsample",
    "TransposedUpsample",
    "bilinear_kernel",
    "cubic_kernel",
    "icnr_",
    "make_upsampler",
    "pixel_shuffle_nd",
    "pixel_unshuffle_nd",
    "stage_factors",
]


# --------------------------------------------------------------------------- pixel shuffle
def _shuffle_factors(x: torch.Tensor, factors: Sequence[int], name: str) -> tuple[int, ...] | None:
    """Integer per-axis factors checked against ``x`` (one per spatial axis); None when all are
    1."""
    out = tuple(int(f) for f in factors)
    if x.dim() != len(out) + 2:
        raise MedsrError(
            f"{name} with {len(out)} factors needs a {len(out) + 2}-D tensor, got {x.dim()}-D"
        )
    return None if all(f == 1 for f in out) else out


def pixel_shuffle_nd(x: torch.Tensor, factors: Sequence[int]) -> torch.Tensor:
    """Periodic shuffling with one integer factor per spatial axis (Shi et al. 2016, eq. 4).

    ``(N, C * prod(r), n_1, ..., n_d) -> (N, C, n_1 r_1, ..., n_d r_d)``. Channel ``c * prod(r) +
    offset`` (offset in C order over ``(r_1, ..., r_d)``) lands at sub-position ``offset`` of
    output channel ``c``, the same ordering as :func:`torch.nn.functional.pixel_shuffle` in 2D.
    """
    factors = _shuffle_factors(x, factors, "pixel_shuffle_nd")
    if factors is None:
        return x
    d = len(factors)
    n = x.shape[0]
    spatial = x.shape[2:]
    y = x.reshape(n, -1, *factors, *spatial)
    # (N, C, r_1..r_d, n_1..n_d) -> (N, C, n_1, r_1, ..., n_d, r_d)
    perm = [0, 1]
    for i in range(d):
        perm += [2 + d + i, 2 + i]
    y = y.permute(*perm)
    out_spatial = [spatial[i] * factors[i] for i in range(d)]
    return y.reshape(n, -1, *out_spatial)


def pixel_unshuffle_nd(x: torch.Tensor, factors: Sequence[int]) -> torch.Tensor:
    """Inverse of :func:`pixel_shuffle_nd`: ``(N, C, n_i r_i) -> (N, C prod(r), n_i)``."""
    factors = _shuffle_factors(x, factors, "pixel_unshuffle_nd")
    if factors is None:
        return x
    d = len(factors)
    n, c = x.shape[0], x.shape[1]
    spatial = x.shape[2:]
    for s, f in zip(spatial, factors):
        if isinstance(s, int) and s % f:
            raise MedsrError(
                f"spatial size {tuple(spatial)} is not divisible by the factors {factors}"
            )
    split: list = []
    for i in range(d):
        split += [spatial[i] // factors[i], factors[i]]
    y = x.reshape(n, c, *split)
    # (N, C, n_1, r_1, ..., n_d, r_d) -> (N, C, r_1..r_d, n_1..n_d)
    perm = [0, 1] + [3 + 2 * i for i in range(d)] + [2 + 2 * i for i in range(d)]
    y = y.permute(*perm)
    return y.reshape(n, c * math.prod(factors), *[spatial[i] // factors[i] for i in range(d)])


class _Shuffle(nn.Module):
    """A parameter-free per-axis (un)shuffle by ``factors``; subclasses name the function."""

    shuffle: Callable[[torch.Tensor, Sequence[int]], torch.Tensor]

    def __init__(self, factors: Sequence[int]) -> None:
        super().__init__()
        self.factors = tuple(int(f) for f in factors)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return type(self).shuffle(x, self.factors)

    def extra_repr(self) -> str:
        return f"factors={self.factors}"


class PixelShuffleND(_Shuffle):
    """Module form of :func:`pixel_shuffle_nd` (depth-to-space; per-axis factors, 2D or 3D)."""

    shuffle = staticmethod(pixel_shuffle_nd)


class PixelUnshuffleND(_Shuffle):
    """Module form of :func:`pixel_unshuffle_nd` (space-to-depth)."""

    shuffle = staticmethod(pixel_unshuffle_nd)


# --------------------------------------------------------------------------- kernels / inits
def cubic_kernel(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (Keys 1981, eq. 15); a = -0.5 is MATLAB's ``imresize``."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    ax2, ax3 = ax**2, ax**3
    inner = (a + 2) * ax3 - (a + 3) * ax2 + 1
    outer = a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a
    return np.where(ax <= 1, inner, np.where(ax < 2, outer, 0.0))


def _linear_kernel(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(np.asarray(x, dtype=np.float64)))


def bilinear_kernel(size: Sequence[int]) -> np.ndarray:
    """The separable bilinear up-sampling filter used to initialise transposed convolutions
    (Long et al. 2015, FCN; LapSRN, Lai et al. 2017, section 3.3)."""
    arrays = []
    for k in size:
        factor = (k + 1) // 2
        centre = factor - 1 if k % 2 == 1 else factor - 0.5
        og = np.arange(k, dtype=np.float64)
        arrays.append(1 - np.abs(og - centre) / factor)
    out = arrays[0]
    for a in arrays[1:]:
        out = np.multiply.outer(out, a)
    return out


def icnr_(
    weight: torch.Tensor, factors: Sequence[int], init=nn.init.kaiming_normal_
) -> torch.Tensor:
    """ICNR initialisation (Aitken et al. 2017, section 3): initialise the ``C`` kernels of the
    low-resolution convolution and copy each to the ``prod(r)`` channels that the pixel shuffle
    sends to one output channel, so that the sub-pixel layer starts as a convolution followed by
    nearest-neighbour up-sampling -- no checkerboard at initialisation. In place; returns weight.
    """
    prod = math.prod(int(f) for f in factors)
    out_ch = weight.shape[0]
    if out_ch % prod:
        raise ValueError(f"weight has {out_ch} output channels, not a multiple of {prod}")
    sub = torch.empty((out_ch // prod, *weight.shape[1:]), dtype=weight.dtype, device=weight.device)
    init(sub)
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(prod, dim=0))
    return weight


def stage_factors(factors: Sequence[int]) -> list[tuple[int, ...]]:
    """Split per-axis integer factors into prime stages, e.g. (4, 4) -> [(2, 2), (2, 2)] and
    (1, 1, 4) -> [(1, 1, 2), (1, 1, 2)]: x4 as two x2 sub-pixel stages, as EDSR and SRResNet do."""
    per_axis: list[list[int]] = []
    for f in factors:
        primes, n, p = [], int(f), 2
        while n > 1:
            while n % p == 0:
                primes.append(p)
                n //= p
            p += 1
        per_axis.append(primes)
    depth = max((len(p) for p in per_axis), default=0)
    return [tuple(p[k] if k < len(p) else 1 for p in per_axis) for k in range(depth)]


# --------------------------------------------------------------------------- fixed interpolation
class PreUpsample(nn.Module):
    """Fixed (not learned) separable interpolation by any positive factor per axis.

    The output grid is the medsr grid (:func:`medsr.volume.zoom_grid`): ``m = round(n s)`` voxels
    whose centres sit at old index ``(j - (m-1)/2)/s + (n-1)/2``, i.e. ``(j + 0.5)/s - 0.5`` for
    integer ``s``. ``kernel="cubic"`` is Keys' cubic with ``a`` (-0.5: MATLAB bicubic, which the
    pre-upsampling papers used to make their inputs), ``"linear"`` is (tri)linear. Borders are
    ``"symmetric"`` (MATLAB) or ``"replicate"`` (torch's ``F.interpolate``). A factor of 1 leaves
    the axis untouched, so ``scale=1`` makes the network a restoration network on an interpolated
    grid.

    Integer factors run as a fixed poly-phase convolution + 1-axis pixel shuffle (ONNX export with
    dynamic spatial sizes); other factors as a matrix product built for the input's size (ONNX
    export then fixes the spatial size).
    """

    def __init__(
        self,
        dims: int,
        factors: float | Sequence[int | float],
        *,
        kernel: str = "cubic",
        a: float = -0.5,
        border: str = "symmetric",
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        f = as_factors(factors, dims)
        if not all(math.isfinite(v) and v > 0 for v in f):
            raise MedsrError(f"interpolation factors must be positive, got {f}")
        self.factors = tuple(int(round(v)) if abs(v - round(v)) < 1e-9 else float(v) for v in f)  # noqa: RUF046
        if kernel not in ("cubic", "linear"):
            raise MedsrError(f"PreUpsample kernel must be 'cubic' or 'linear', got {kernel!r}")
        if border not in ("symmetric", "replicate"):
            raise MedsrError(
                f"PreUpsample border must be 'symmetric' or 'replicate', got {border!r}"
            )
        self.kernel, self.a, self.border = kernel, float(a), border
        for axis, s in enumerate(self.factors):
            if isinstance(s, int) and s > 1:
                self.register_buffer(f"phase_{axis}", self._phase_weights(s), persistent=False)

    # ---- kernel helpers
    def _k(self, x: np.ndarray) -> np.ndarray:
        return cubic_kernel(x, self.a) if self.kernel == "cubic" else _linear_kernel(x)

    def _phase_weights(self, s: int) -> torch.Tensor:
        """(s, 5) tap weights for offsets -2..2 around old voxel i, output j = s i + r."""
        t = (np.arange(s) + 0.5) / s - 0.5
        offsets = np.arange(-2, 3)
        w = self._k(t[:, None] - offsets[None, :])
        w /= w.sum(axis=1, keepdims=True)
        return torch.as_tensor(w, dtype=torch.float32)

    def _matrix(self, n: int, s: float) -> torch.Tensor:
        m = max(1, int(np.round(n * s)))
        x = index_coordinates(n, m, s)
        base = np.floor(x).astype(int)
        mat = np.zeros((m, n))
        for o in range(-2, 4):
            idx = base + o
            w = self._k(x - idx)
            if self.border == "symmetric":
                period = 2 * n
                idx = np.mod(idx, period)
                idx = np.where(idx >= n, period - 1 - idx, idx)
            else:
                idx = np.clip(idx, 0, n - 1)
            np.add.at(mat, (np.arange(m), idx), w)
        mat /= mat.sum(axis=1, keepdims=True)
        return torch.as_tensor(mat, dtype=torch.float32)

    # ---- one axis
    def _pad(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        n = x.shape[dim]
        if self.border == "symmetric" and n >= 2:
            left = torch.cat([x.narrow(dim, 1, 1), x.narrow(dim, 0, 1)], dim=dim)
            right = torch.cat([x.narrow(dim, n - 1, 1), x.narrow(dim, n - 2, 1)], dim=dim)
        else:
            left = torch.cat([x.narrow(dim, 0, 1)] * 2, dim=dim)
            right = torch.cat([x.narrow(dim, n - 1, 1)] * 2, dim=dim)
        return torch.cat([left, x, right], dim=dim)

    def _axis_integer(self, x: torch.Tensor, axis: int, s: int) -> torch.Tensor:
        # x: (B, 1, *spatial); poly-phase conv along `axis` -> (B, s, ...) then shuffle
        dim = 2 + axis
        w = getattr(self, f"phase_{axis}").to(dtype=x.dtype)
        shape = [s, 1] + [1] * self.dims
        shape[dim] = 5
        w = w.reshape(shape)
        xp = self._pad(x, dim)
        y = F.conv2d(xp, w) if self.dims == 2 else F.conv3d(xp, w)
        factors = [1] * self.dims
        factors[axis] = s
        return pixel_shuffle_nd(y, factors)

    def _axis_matrix(self, x: torch.Tensor, axis: int, s: float) -> torch.Tensor:
        dim = 2 + axis
        mat = self._matrix(int(x.shape[dim]), s).to(device=x.device, dtype=x.dtype)
        last = x.dim() - 1  # explicit positive axes: ONNX's Transpose takes no negative perm
        y = x.transpose(dim, last) @ mat.T
        return y.transpose(dim, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            raise MedsrError(
                f"expected a {self.dims + 2}-D tensor (N, C, *spatial), got {x.dim()}-D"
            )
        if all(s == 1 for s in self.factors):
            return x
        n, c = x.shape[0], x.shape[1]
        y = x.reshape(-1, 1, *x.shape[2:])
        for axis, s in enumerate(self.factors):
            if s == 1:
                continue
            y = (
                self._axis_integer(y, axis, s)
                if isinstance(s, int)
                else self._axis_matrix(y, axis, s)
            )
        return y.reshape(n, c, *y.shape[2:])

    def extra_repr(self) -> str:
        return (
            f"dims={self.dims}, factors={self.factors}, kernel={self.kernel}, a={self.a}, "
            f"border={self.border}"
        )


# --------------------------------------------------------------------------- learned up-samplers
def _transposed_geometry(k: int, s: int) -> tuple[int, int]:
    """Padding and output padding so that a transposed conv of kernel k, stride s maps n -> n s."""
    p = math.ceil((k - s) / 2)
    op = 2 * p - (k - s)
    return p, op


class TransposedUpsample(nn.Module):
    """A transposed convolution that multiplies each axis by its integer factor exactly (n -> n r).

    Kernel size per axis defaults to ``kernel`` (FSRCNN: 9) but at least the factor; padding and
    output padding are chosen so the output has exactly ``n r`` voxels. ``init="bilinear"`` sets the
    kernel to bilinear up-sampling (LapSRN, Lai et al. 2017), else PyTorch's default init (or a
    Gaussian N(0, 0.001) with ``init="gaussian"`` as FSRCNN).
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        factors: int | Sequence[int],
        *,
        kernel: int | Sequence[int] = 3,
        bias: bool = True,
        init: str = "default",
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.factors = integer_factors(factors, dims)
        ks = as_factors(kernel, dims)
        ks = tuple(max(int(k), f) for k, f in zip(ks, self.factors))
        # a factor of 1 with an even kernel cannot keep the size: make it odd
        ks = tuple(k + 1 if (f == 1 and k % 2 == 0) else k for k, f in zip(ks, self.factors))
        geo = [_transposed_geometry(k, f) for k, f in zip(ks, self.factors)]
        self.kernel_size = ks
        self.conv = conv_transpose(
            dims,
            in_channels,
            out_channels,
            ks,
            stride=self.factors,
            padding=tuple(g[0] for g in geo),
            output_padding=tuple(g[1] for g in geo),
            bias=bias,
        )
        if init == "bilinear":
            self._init_bilinear()
        elif init == "gaussian":
            nn.init.normal_(self.conv.weight, 0.0, 1e-3)
            if bias:
                nn.init.zeros_(self.conv.bias)
        elif init != "default":
            raise MedsrError(
                f"unknown init {init!r} for TransposedUpsample (default, bilinear, gaussian)"
            )

    def _init_bilinear(self) -> None:
        # per axis: the FCN bilinear filter, or a centred delta where the factor is 1 (identity)
        axes = []
        for k, f in zip(self.kernel_size, self.factors):
            if f == 1:
                delta = np.zeros(k)
                delta[k // 2] = 1.0
                axes.append(delta)
            else:
                axes.append(bilinear_kernel((k,)))
        kernel = axes[0]
        for a in axes[1:]:
            kernel = np.multiply.outer(kernel, a)
        w = torch.as_tensor(kernel, dtype=torch.float32)
        cin, cout = self.conv.weight.shape[:2]
        with torch.no_grad():
            self.conv.weight.zero_()
            if cin == cout:
                for c in range(cin):
                    self.conv.weight[c, c] = w
            else:
                self.conv.weight.copy_(w.expand_as(self.conv.weight) / cin)
            if self.conv.bias is not None:
                self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _learned_stages(
    factors: int | Sequence[int], dims: int, staged: bool
) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """Integer per-axis factors and the non-trivial stages a learned up-sampler runs: prime stages
    (x4 = x2, x2 as EDSR/SRResNet/ESRGAN) when ``staged``, else one."""
    out = integer_factors(factors, dims)
    stages = stage_factors(out) if staged else [out]
    return out, [tuple(s) for s in stages if math.prod(s) > 1]


def _stage_plan(
    dims: int,
    channels: int,
    factors: int | Sequence[int],
    out_channels: int | None,
    staged: bool,
) -> tuple[tuple[int, ...], list[tuple[tuple[int, ...], int]], int]:
    """What a learned up-sampler builds: its integer factors, ``(stage, out_channels)`` per stage
    (each stage takes ``channels``; only the last changes the width) and the final width
    (``out_channels``, default ``channels``); with no stage and another width a projection conv
    follows (:func:`_projection`)."""
    out, stages = _learned_stages(factors, dims, staged)
    width = channels if out_channels is None else out_channels
    plan = [(st, width if k == len(stages) - 1 else channels) for k, st in enumerate(stages)]
    return out, plan, width


def _projection(
    dims: int, channels: int, out_channels: int, kernel: int, bias: bool, has_stages: bool
) -> nn.Module | None:
    """The conv that changes the width when no up-sampling stage does, else None."""
    if has_stages or out_channels == channels:
        return None
    return conv(dims, channels, out_channels, kernel, bias=bias)


class SubPixelUpsample(nn.Module):
    """Sub-pixel convolution (ESPCN, Shi et al. 2016): conv to ``out * prod(r)`` channels, then
    :func:`pixel_shuffle_nd`.

    Args:
        staged: split the factors into prime stages (x4 = x2, x2 as EDSR/SRResNet); else one stage.
        act: activation after each shuffle (SRResNet: "prelu"; EDSR: None).
        icnr: ICNR initialisation (Aitken et al. 2017) -- checkerboard-free at initialisation.
        out_channels: channels after the shuffle (default: ``channels``).
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        factors: int | Sequence[int],
        *,
        out_channels: int | None = None,
        kernel: int = 3,
        staged: bool = True,
        act: str | None = None,
        icnr: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.factors, plan, width = _stage_plan(dims, channels, factors, out_channels, staged)
        layers: list[nn.Module] = []
        for st, cout in plan:
            c = conv(dims, channels, cout * math.prod(st), kernel, bias=bias)
            if icnr:
                icnr_(c.weight, st)
                if bias:
                    nn.init.zeros_(c.bias)  # equal biases for the sub-pixels of one channel
            layers += [c, PixelShuffleND(st)]
            if act is not None and act != "none":
                layers.append(activation(act, 1))
        project = _projection(dims, channels, width, kernel, bias, bool(plan))
        if project is not None:
            layers.append(project)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ResizeConvUpsample(nn.Module):
    """Nearest-neighbour resize then convolution (Odena et al. 2016), in prime stages when
    ``staged`` (ESRGAN: two x2 stages with LeakyReLU for x4)."""

    def __init__(
        self,
        dims: int,
        channels: int,
        factors: int | Sequence[int],
        *,
        out_channels: int | None = None,
        kernel: int = 3,
        staged: bool = True,
        act: str | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.factors, plan, width = _stage_plan(dims, channels, factors, out_channels, staged)
        self.stage_list = [st for st, _ in plan]
        self.convs = nn.ModuleList()
        self.acts = nn.ModuleList()
        for _, cout in plan:
            self.convs.append(conv(dims, channels, cout, kernel, bias=bias))
            self.acts.append(activation(act, 1))
        self.project = _projection(dims, channels, width, kernel, bias, bool(plan))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for st, c, a in zip(self.stage_list, self.convs, self.acts):
            x = F.interpolate(x, scale_factor=tuple(float(f) for f in st), mode="nearest")
            x = a(c(x))
        if self.project is not None:
            x = self.project(x)
        return x


def make_upsampler(
    kind: str,
    dims: int,
    channels: int,
    factors: float | Sequence[int | float],
    *,
    out_channels: int | None = None,
    **kw,
) -> nn.Module:
    """Build an up-sampler by name: "subpixel", "transposed", "resize_conv", "pre" (fixed
    interpolation; channels unchanged), "nearest" (fixed nearest-neighbour; channels unchanged).

    ``factors`` is a number or a per-axis tuple; learned up-samplers need integers.
    """
    if kind == "subpixel":
        return SubPixelUpsample(dims, channels, factors, out_channels=out_channels, **kw)
    if kind == "transposed":
        return TransposedUpsample(
            dims, channels, channels if out_channels is None else out_channels, factors, **kw
        )
    if kind == "resize_conv":
        return ResizeConvUpsample(dims, channels, factors, out_channels=out_channels, **kw)
    if kind == "pre":
        return PreUpsample(dims, factors, **kw)
    if kind == "nearest":
        return NearestUpsample(dims, factors)
    raise MedsrError(
        f"unknown up-sampler {kind!r}; use subpixel, transposed, resize_conv, pre or nearest"
    )


class NearestUpsample(nn.Module):
    """Fixed nearest-neighbour up-sampling by integer per-axis factors."""

    def __init__(self, dims: int, factors: int | Sequence[int]) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.factors = integer_factors(factors, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if all(f == 1 for f in self.factors):
            return x
        return F.interpolate(x, scale_factor=tuple(float(f) for f in self.factors), mode="nearest")
