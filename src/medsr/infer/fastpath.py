"""The fast CPU inference path of a PyTorch network: layout, a fused tail and a frozen graph.

Inference of the networks of the review (EDSR, SRResNet, RDN, 3D SRCNN, ...; review section 4)
is dominated by 3x3(x3) convolutions. On a CPU, oneDNN runs those fastest in the channels-last
layout (``NHWC``), and fastest again when the graph is frozen and handed to
``torch.jit.optimize_for_inference``, which folds constants, fuses convolutions with their
activations and keeps the activations in oneDNN's blocked layout between layers. Post-upsampling
networks also lose time after their sub-pixel stage (a shuffle copying the widest tensor, then a
convolution to 1-3 channels on the high-resolution grid, where oneDNN is slow):
:class:`SubPixelTail` computes that convolution on the low-resolution grid instead (exact).
Interleaved A/B on 2 busy cores (``benchmarks/perf.py --ab 2|3``, ``docs/benchmarks/perf.md``),
EDSR-baseline x2 512x512 RGB: eager 44.4 s, channels-last 34.9 s, + fused tail 32.1 s, + frozen
graph 27.7 s (first call, tracing included, 35.7 s); EDSR-3D (8x32) x2 on 48^3: eager 10.1 s,
fused tail 9.6 s, frozen 8.8 s, fused + frozen 6.9 s (first call 17.7 s). On 256x256 RGB the frozen
graph lost (9.0 s against 7.5 s fused): it pays on large inputs, which is what whole slices and 3D
windows are, so it is on by default.

:class:`FastForward` wraps a module in eval mode:

* every call runs under ``torch.inference_mode``, 2D networks with input and weights in
  channels-last (3D networks keep NCDHW: see ``dims`` below), through
  :func:`fuse_subpixel_tail` of the network (``fuse``);
* with ``jit`` (default), the first call whose input holds at least ``jit_min_elements`` values
  traces the network on a small crop of that input, freezes and optimises the graph, and *checks*
  it on another crop of a different shape and batch size against the eager, unfused network
  (``|a - b| <= 1e-4 + 1e-4 |b|``): a network whose trace bakes in a shape, or that does not trace
  at all, keeps the eager path. The result is cached for the life of the wrapper.

CUDA devices keep plain eager execution (cuDNN chooses its own layouts).
"""

from __future__ import annotations

import copy
import itertools
import warnings
from typing import Any

import torch

__all__ = ["TOLERANCE", "FastForward", "SubPixelTail", "fuse_subpixel_tail"]

#: Fast and eager outputs agree within ``TOLERANCE + TOLERANCE * |eager|`` (the check on trace).
TOLERANCE = 1e-4


class FastForward:
    """Call a network as fast as this machine allows; outputs equal eager within 1e-4.

    Args:
        model: the network (put in eval mode here).
        dims: 2 or 3. 2D networks run channels-last; 3D networks keep NCDHW (the frozen graph
            picks oneDNN's blocked layout itself; channels-last-3d gained 14 % in eager mode on
            the fused EDSR-3D, less than the frozen graph, so it is not used).
        device: a ``torch.device``.
        jit: run the frozen, oneDNN-optimised graph (CPU only; on by default: on EDSR x2 the
            first call, tracing included, is already faster than channels-last eager).
        fuse: compute the last shuffle + tail conv of post-upsampling trunks on the
            low-resolution grid (:class:`SubPixelTail`; CPU only; exact).
        jit_min_elements: smallest input (values) worth the tracing (about one second).
        report: a dict (the predictor's ``info``) whose ``"execution"`` entry follows ``mode``.
    """

    def __init__(
        self,
        model: Any,
        dims: int,
        device: Any,
        *,
        jit: bool = True,
        fuse: bool = True,
        jit_min_elements: int = 2**16,
        report: dict[str, Any] | None = None,
    ) -> None:
        self.model = model.eval()
        self.cpu = torch.device(device).type == "cpu"
        self.layout = torch.channels_last if dims == 2 else torch.contiguous_format
        if self.cpu and dims == 2:
            self.model = self.model.to(memory_format=self.layout)
        # the network that runs: ``model`` itself, or a copy sharing its parameters
        self.run = fuse_subpixel_tail(self.model) if self.cpu and fuse else self.model
        self.jit = bool(jit) and self.cpu
        self.jit_min_elements = int(jit_min_elements)
        self.compiled: Any = None
        self.report = report if report is not None else {}
        self.cpu_2d = self.cpu and dims == 2
        self.mode = self._describe(frozen=False)

    def _describe(self, frozen: bool) -> str:
        parts = ["channels-last"] if self.cpu_2d else []
        parts += ["fused sub-pixel tail"] if self.run is not self.model else []
        parts += ["frozen oneDNN graph"] if frozen else []
        return ", ".join(parts) or "eager"

    @property
    def mode(self) -> str:
        """How the network runs, e.g. ``channels-last, fused sub-pixel tail, frozen oneDNN graph``
        (``eager``: none of these)."""
        return str(self.report["execution"])

    @mode.setter
    def mode(self, value: str) -> None:
        self.report["execution"] = value

    def __call__(self, x: Any) -> Any:
        """``(N, C, *spatial)`` float32 tensor -> the network's output (contiguous tensor)."""
        import torch

        with torch.inference_mode():
            if self.cpu:
                x = x.contiguous(memory_format=self.layout)
            if self.jit and self.compiled is None and x.numel() >= self.jit_min_elements:
                self.compiled = self._compile(x)
                self.jit = self.compiled is not None
                if self.compiled is not None:
                    self.mode = self._describe(frozen=True)
            y = (self.compiled or self.run)(x)
            if isinstance(y, (list, tuple)):
                y = y[-1]
            return y.contiguous()

    def _compile(self, x: Any) -> Any:
        """Trace on one crop of ``x``, check on another; None when the trace is not usable."""
        import torch

        spatial = x.shape[2:]
        small = [min(int(n), 16) for n in spatial]
        other = [min(int(n), 24) for n in spatial]
        crop_a = x[(slice(0, 1), slice(None)) + tuple(slice(0, n) for n in small)]
        crop_b = x[(slice(0, 2), slice(None)) + tuple(slice(0, n) for n in other)]
        crop_a = crop_a.contiguous(memory_format=self.layout)
        crop_b = crop_b.contiguous(memory_format=self.layout)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(_last_output(self.run), crop_a, check_trace=False)
                frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
                fast = frozen(crop_b)
            slow = self.model(crop_b)
            if isinstance(slow, (list, tuple)):
                slow = slow[-1]
            if fast.shape != slow.shape or not torch.allclose(
                fast, slow, atol=TOLERANCE, rtol=TOLERANCE
            ):
                return None
        except Exception:  # noqa: BLE001 - any tracing failure means: stay eager
            return None
        return frozen


def _last_output(model: Any) -> Any:
    """The network as a module returning one tensor (the last of a deep-supervision list)."""
    import torch

    class Last(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.inner(x)
            return y[-1] if isinstance(y, (list, tuple)) else y

    return Last(model).eval()


# --------------------------------------------------------------------------- sub-pixel tail
class SubPixelTail(torch.nn.Module):
    """``conv(pixel_shuffle_nd(u, r))`` computed on the low-resolution grid: the same numbers.

    The post-upsampling networks (EDSR, Lim et al. 2017; RRDBNet; review section 3.3) end in a
    sub-pixel stage (ESPCN, Shi et al. 2016: conv to ``C prod(r)`` maps, periodic shuffle) and a
    stride-1 'same' convolution to the output channels. That last convolution sees the shuffled,
    high-resolution maps: ``prod(r)`` times the positions, and few output channels, for which oneDNN
    is slow (EDSR-3D x2 on 48^3: 15 % of the time at 1.4 GFLOP/s), after a shuffle that copies the
    widest tensor of the network. An output voxel ``r i + p`` (phase ``p``) reads high-resolution
    voxels ``r i + p + d``, i.e. low-resolution voxel ``i + floor((p + d) / r)`` of phase
    ``(p + d) mod r``: so the convolution is one low-resolution convolution from ``C prod(r)`` to
    ``O prod(r)`` channels (one per output phase; kernel ``K`` spans the low-resolution offsets a
    phase needs, 2 for a 3-tap kernel at x2), followed by a shuffle of the ``O prod(r)`` outputs
    only. An exact rewrite (sums in another order), not an approximation. The fused kernel is
    derived from ``conv`` once and again whenever ``conv``'s tensors change.
    """

    def __init__(self, conv: torch.nn.Module, factors: tuple[int, ...]) -> None:
        super().__init__()
        self.conv = conv
        self.factors = tuple(int(f) for f in factors)
        halves = [(int(k) - 1) // 2 for k in conv.kernel_size]
        # per axis: first low-resolution offset per phase and the kernel that spans every phase
        self.starts = [[(p - h) // r for p in range(r)] for r, h in zip(self.factors, halves)]
        ends = [[(p + h) // r for p in range(r)] for r, h in zip(self.factors, halves)]
        self.kernel = [max(e - s for s, e in zip(ss, es)) + 1 for ss, es in zip(self.starts, ends)]
        self.padding = [
            max(-ss[0], ss[-1] + k - 1) for ss, k in zip(self.starts, self.kernel)
        ]
        self.halves = halves
        # the fused kernel as buffers (a traced graph takes them as constants), rebuilt when the
        # convolution's tensors change (``_key``)
        self._key = self._conv_key()
        weight, bias = self.fused_weight()
        self.register_buffer("weight", weight, persistent=False)
        self.register_buffer("bias", bias, persistent=False)

    def _conv_key(self) -> tuple[tuple[int, int], ...]:
        return tuple((t.data_ptr(), t._version) for t in self.conv.parameters())

    def fused_weight(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The low-resolution kernel ``(O prod(r), C prod(r), *K)`` and bias ``(O prod(r),)``."""
        w = self.conv.weight.detach()
        o, c = w.shape[:2]
        phases = list(itertools.product(*[range(r) for r in self.factors]))
        n = len(phases)
        out = w.new_zeros((o * n, c * n, *self.kernel))
        for pi, p in enumerate(phases):
            for qi, q in enumerate(phases):
                for t in itertools.product(*[range(k) for k in self.kernel]):
                    # high-resolution tap d = r (start_p + t) + q - p, inside the kernel or not
                    d = [
                        r * (ss[pa] + ta) + qa - pa
                        for r, ss, pa, qa, ta in zip(self.factors, self.starts, p, q, t)
                    ]
                    if all(-h <= v <= h for v, h in zip(d, self.halves)):
                        tap = tuple(v + h for v, h in zip(d, self.halves))
                        out[(slice(pi, None, n), slice(qi, None, n)) + t] = w[(..., *tap)]
        bias = self.conv.bias
        return out, None if bias is None else bias.detach().repeat_interleave(n)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``u``: the sub-pixel convolution's output ``(N, C prod(r), *n)`` (before the shuffle)."""
        from medsr.models.blocks.upsample import pixel_shuffle_nd

        if not torch.jit.is_tracing() and self._conv_key() != self._key:
            with torch.no_grad():
                self.weight, self.bias = self.fused_weight()
            self._key = self._conv_key()
        weight, bias = self.weight, self.bias
        conv = torch.nn.functional.conv2d if len(self.factors) == 2 else torch.nn.functional.conv3d
        if u.is_contiguous(memory_format=torch.channels_last) or u.is_contiguous(
            memory_format=torch.channels_last_3d
        ):
            weight = weight.contiguous(
                memory_format=torch.channels_last if u.dim() == 4 else torch.channels_last_3d
            )
        z = conv(u, weight, bias, padding=self.padding)
        phases = list(itertools.product(*[range(r) for r in self.factors]))
        n = len(phases)
        crops = []
        for pi, p in enumerate(phases):
            # the n positions of phase p: from pad + start_p, ending (2 pad - K + 1 - that) early
            # (slices relative to both ends: no size baked into a traced graph)
            window = tuple(
                slice(pad + ss[pa], (pad + ss[pa]) - (2 * pad - k + 1) or None)
                for pad, ss, pa, k in zip(self.padding, self.starts, p, self.kernel)
            )
            crops.append(z[(slice(None), slice(pi, None, n)) + window])
        y = torch.stack(crops, dim=2).flatten(1, 2)  # (N, O prod(r), *n), phase fastest
        return pixel_shuffle_nd(y, self.factors)


def fuse_subpixel_tail(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with the last shuffle + tail conv of each post-upsampling trunk fused.

    Applies to :class:`medsr.models.natural._common.ResidualTrunkNet` networks (EDSR, RRDBNet,
    ...) whose forward is ``tail(upsample(...))``, whose up-sampler ends in a periodic shuffle
    (no activation after it: not SRResNet's PReLU) and whose tail is a stride-1, undilated,
    ungrouped, zero-padded 'same' convolution; anything else is returned as it is. The result
    shares its parameters with ``model`` (shallow copies of the changed modules; ``model`` itself
    is untouched) and computes the same function (:class:`SubPixelTail`).
    """
    from medsr.models.blocks.upsample import PixelShuffleND, SubPixelUpsample
    from medsr.models.natural._common import ResidualTrunkNet

    def fusable(m: torch.nn.Module) -> bool:
        if not isinstance(m, ResidualTrunkNet) or type(m).forward is not ResidualTrunkNet.forward:
            return False
        up, tail = m.upsample, m.tail
        if not isinstance(up, SubPixelUpsample) or not isinstance(up.body[-1], PixelShuffleND):
            return False
        if not isinstance(tail, (torch.nn.Conv2d, torch.nn.Conv3d)):
            return False
        if isinstance(tail.padding, str):
            return False
        same = all(int(p) == (int(k) - 1) // 2 and k % 2 for p, k in
                   zip(tail.padding, tail.kernel_size))
        return bool(
            same and tail.padding_mode == "zeros" and tail.groups == 1
            and all(s == 1 for s in tail.stride) and all(d == 1 for d in tail.dilation)
        )

    def rebuild(m: torch.nn.Module) -> torch.nn.Module:
        if fusable(m):
            up = copy.copy(m.upsample)
            up._modules = dict(up._modules)
            up.body = torch.nn.Sequential(*list(m.upsample.body)[:-1])
            new = copy.copy(m)
            new._modules = dict(m._modules)
            new.upsample = up
            new.tail = SubPixelTail(m.tail, m.upsample.body[-1].factors)
            return new
        children = {k: rebuild(c) for k, c in m._modules.items() if c is not None}
        if all(children[k] is m._modules[k] for k in children):
            return m
        new = copy.copy(m)
        new._modules = dict(m._modules)
        new._modules.update(children)
        return new

    return rebuild(model)
