"""Process-wide torch settings, changed only inside a context that restores them.

medsr never leaves a global setting changed behind a call: the number of intra-op threads and the
global RNG are set through :func:`torch_threads` / :func:`torch_seed`, which restore what was there
on exit (also on error). Code that needs randomness should prefer an explicit generator from
:func:`generator` over the global RNG.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = [
    "PRECISIONS",
    "autocast",
    "cpu_has_native_bf16",
    "generator",
    "resolve_precision",
    "torch_seed",
    "torch_threads",
]

#: compute precisions of :func:`autocast`: ``auto`` resolves to ``bf16`` on CPUs with native
#: bfloat16 arithmetic (:func:`cpu_has_native_bf16`) and ``fp32`` elsewhere
PRECISIONS = ("auto", "fp32", "bf16")

#: /proc/cpuinfo flags of native bfloat16 matrix arithmetic (Intel AMX, AVX-512 BF16)
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the body with ``torch.set_num_threads(threads)``; restore the old number on exit.

    ``None`` or a value < 1 keeps the current number. Yields the number in force.
    """
    import torch

    old = torch.get_num_threads()
    n = int(threads) if threads is not None and int(threads) >= 1 else old
    if n != old:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


@contextmanager
def torch_seed(seed: int | None) -> Iterator[None]:
    """Seed torch's global RNG for the body (``None``: leave it alone); restore its state on exit.

    For modules whose initialisation draws from the global RNG (``nn.Conv2d`` and friends); new
    code should take a :func:`generator` instead.
    """
    import torch

    if seed is None:
        yield
        return
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):  # CPU and every CUDA device's state come back
        torch.manual_seed(int(seed))
        yield


def generator(seed: int | None, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` seeded with ``seed`` (``None``: a random seed)."""
    import torch

    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX or AVX-512 BF16 in ``/proc/cpuinfo``).

    oneDNN runs bfloat16 convolutions on such CPUs about 2x faster than float32; elsewhere it
    emulates them (slower), so :func:`resolve_precision` keeps float32 there. A fixed property
    of the machine: the choice it makes never depends on the load. ``cpuinfo`` (tests) replaces
    the file's text; a system without the file (not Linux) answers False.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return any(f in flags for f in _BF16_FLAGS)
    return False


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """``"fp32"`` or ``"bf16"`` for a :data:`PRECISIONS` value: ``auto`` is ``bf16`` on a CPU
    with native bfloat16 (:func:`cpu_has_native_bf16`) and ``fp32`` otherwise (CUDA included)."""
    from medsr.errors import OptionError

    if precision not in PRECISIONS:
        raise OptionError(f"precision must be {', '.join(PRECISIONS)}; got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if str(device).startswith("cpu") and cpu_has_native_bf16() else "fp32"


@contextmanager
def autocast(precision: str, device: str = "cpu") -> Iterator[None]:
    """Run the body's convolutions and matrix products in ``precision`` (``"fp32"``: unchanged;
    ``"bf16"``: ``torch.autocast`` with bfloat16, weights and optimiser state stay float32, as
    mixed-precision training does; Micikevicius et al., ICLR 2018). Callers cast outputs back to
    float32 before losses and before writing voxels."""
    import torch

    if precision == "fp32":
        yield
        return
    device_type = "cuda" if str(device).startswith("cuda") else "cpu"
    with torch.autocast(device_type, dtype=torch.bfloat16):
        yield
