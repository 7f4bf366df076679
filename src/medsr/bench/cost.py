"""What a method costs: parameters, FLOPs, CPU latency and peak memory for one LR input.

Every row of ``medsr benchmark`` carries the cost of its method next to its PSNR, because the
review's comparison (Li, Sixou & Peyrin, IRBM 2021, Table 1 and section 3.4) weighs accuracy
against size and speed. The cost is measured on one ``size x size`` LR image (256 x 256 by
default, the same for every method, whatever its up-sampling strategy):

* parameters: the number of elements of ``model.parameters()``;
* FLOPs: :class:`torch.utils.flop_counter.FlopCounterMode` over one forward pass (convolutions,
  matrix products: 2 FLOPs per multiply-add; element-wise operations and interpolation layers
  are not counted by torch's counter);
* latency: the median wall time of ``repeats`` calls after one warm-up call, on the CPU with the
  current torch thread count (:func:`medsr.runtime.torch_threads` sets it);
* peak memory: the growth of the process's peak resident memory during one call (Linux: free
  heap pages are handed back first with glibc's ``malloc_trim``, so that the call's allocations
  show in the resident size, and the high-water mark is reset through ``/proc/self/clear_refs``;
  then ``VmHWM`` minus the resident size before the call); None where the platform cannot reset
  it (:mod:`medsr.memory`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medsr.memory import reset_peak, status_kib, trim_heap

__all__ = ["Cost", "count_flops", "count_params", "measure_call", "network_cost"]

#: side of the LR image every cost is measured on
COST_SIZE = 256


@dataclass(frozen=True)
class Cost:
    """The cost of a method on one LR image (None: not measurable for this method)."""

    params: int | None
    flops: float | None
    latency_ms: float | None
    peak_memory_mib: float | None
    input_size: int = COST_SIZE


def count_params(model: Any) -> int:
    """Number of parameters (trainable or not) of a torch module."""
    return int(sum(p.numel() for p in model.parameters()))


def count_flops(model: Any, example: Any) -> float:
    """FLOPs of ``model(example)`` counted by torch's :class:`FlopCounterMode`."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(example)
    return float(counter.get_total_flops())


def measure_call(fn: Callable[[], Any], *, repeats: int = 5) -> tuple[float, float | None]:
    """``(median milliseconds, peak memory growth in MiB or None)`` of ``fn()``: one warm-up call
    (also the memory measurement), then ``repeats`` timed calls."""
    trim_heap()
    before = status_kib("VmRSS")
    reset = before is not None and reset_peak()
    fn()
    peak = status_kib("VmHWM") if reset else None
    memory = None if peak is None or before is None else max(0.0, (peak - before) / 1024)
    times = []
    for _ in range(max(1, int(repeats))):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times), memory


def network_cost(model: Any, in_channels: int, *, size: int = COST_SIZE, repeats: int = 5) -> Cost:
    """Parameters, FLOPs, median CPU latency and peak memory of ``model`` on one
    ``(1, in_channels, size, size)`` input (the model in eval mode, no gradients)."""
    import torch

    model = model.eval()
    x = torch.rand(1, int(in_channels), int(size), int(size))

    def forward() -> None:
        with torch.no_grad():
            model(x)

    latency, memory = measure_call(forward, repeats=repeats)
    return Cost(count_params(model), count_flops(model, x), latency, memory, int(size))
