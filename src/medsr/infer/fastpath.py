"""The fast CPU inference path of a PyTorch network: channels-last layout and a frozen graph.

Inference of the networks of the review (EDSR, SRResNet, RDN, 3D SRCNN, ...; review section 4)
is dominated by 3x3(x3) convolutions. On a CPU, oneDNN runs those fastest in the channels-last
layout (``NHWC`` / ``NDHWC``), and fastest again when the graph is frozen and handed to
``torch.jit.optimize_for_inference``, which folds constants, fuses convolutions with their
activations and keeps the activations in oneDNN's blocked layout between layers. Measured on
EDSR-baseline x2, 256x256 RGB, 2 busy cores: eager NCHW 9.4 s, channels-last 5.9 s (1.6x), frozen
graph 5.4 s but 5.7 s to trace and freeze: the graph pays only when one predictor serves many
calls, so it is opt-in (``jit=True``). Figures: ``benchmarks/perf.py``, ``docs/benchmarks/perf.md``.

:class:`FastForward` wraps a module in eval mode:

* every call runs under ``torch.inference_mode``, 2D networks with input and weights in
  channels-last (3D networks keep NCDHW: see ``dims`` below);
* with ``jit``, the first call whose input holds at least ``jit_min_elements`` values traces the
  network on a small crop of that input, freezes and optimises the graph, and *checks* it on
  another crop of a different shape and batch size against the eager network (``|a - b| <= 1e-4
  + 1e-4 |b|``): a network whose trace bakes in a shape, or that does not trace at all, keeps the
  eager path. The result is cached for the life of the wrapper.

CUDA devices keep plain eager execution (cuDNN chooses its own layouts).
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["FastForward", "TOLERANCE"]

#: Fast and eager outputs agree within ``TOLERANCE + TOLERANCE * |eager|`` (the check on trace).
TOLERANCE = 1e-4


class FastForward:
    """Call a network as fast as this machine allows; outputs equal eager within 1e-4.

    Args:
        model: the network (put in eval mode here).
        dims: 2 or 3. 2D networks run channels-last; 3D networks keep NCDHW: channels-last-3d
            was no faster (0.96x eager on a 3D EDSR) and raised the peak memory of a tiled 3D x4
            job of 512x512x120 from 1.26 to 2.95 GiB (``benchmarks/upscale_memory.py``).
        device: a ``torch.device``.
        jit: try the frozen, oneDNN-optimised graph (CPU only; off by default, see above).
        jit_min_elements: smallest input (values) worth the tracing (about one second).
        report: a dict (the predictor's ``info``) whose ``"execution"`` entry follows ``mode``.
    """

    def __init__(
        self,
        model: Any,
        dims: int,
        device: Any,
        *,
        jit: bool = False,
        jit_min_elements: int = 2**16,
        report: dict[str, Any] | None = None,
    ) -> None:
        import torch

        self.model = model.eval()
        self.cpu = torch.device(device).type == "cpu"
        self.layout = torch.channels_last if dims == 2 else torch.contiguous_format
        if self.cpu and dims == 2:
            self.model = self.model.to(memory_format=self.layout)
        self.jit = bool(jit) and self.cpu
        self.jit_min_elements = int(jit_min_elements)
        self.compiled: Any = None
        self.report = report if report is not None else {}
        self.cpu_2d = self.cpu and dims == 2
        self.mode = "channels-last" if self.cpu_2d else "eager"

    @property
    def mode(self) -> str:
        """How the network runs: ``eager``, ``channels-last``, ``[channels-last, ]frozen ...``."""
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
                    self.mode = ("channels-last, " if self.cpu_2d else "") + "frozen oneDNN graph"
            y = (self.compiled or self.model)(x)
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
                traced = torch.jit.trace(_last_output(self.model), crop_a, check_trace=False)
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
