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

__all__ = ["generator", "torch_seed", "torch_threads"]


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
