"""The output array: in memory, or a memory-mapped temporary file when it is large.

Tiles stream into one preallocated float32 array at output resolution; it is the only array of
that size inference creates (no weight accumulator, see :mod:`medsr.infer.sliding`). Above
``max_memory`` bytes it is an ``np.memmap`` on a temporary file that is unlinked at once (POSIX
keeps the data while the mapping lives, so nothing is left behind even after a crash).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medsr.errors import MedsrError

__all__ = ["DEFAULT_MAX_MEMORY", "allocate", "parse_bytes"]

#: Default ``--max-memory``: larger outputs go to a memory-mapped temporary file.
DEFAULT_MAX_MEMORY = 4 * 2**30

_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "kb": 2**10,
    "kib": 2**10,
    "m": 2**20,
    "mb": 2**20,
    "mib": 2**20,
    "g": 2**30,
    "gb": 2**30,
    "gib": 2**30,
    "t": 2**40,
    "tb": 2**40,
    "tib": 2**40,
}


def parse_bytes(value: str | float) -> int:
    """``"4GB"``, ``"512M"``, ``"1.5GiB"`` or a number of bytes -> bytes (binary units)."""
    if isinstance(value, (int, float)):
        return int(value)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise MedsrError(f"cannot read the memory size {value!r}; write it like 4GB or 512MB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def allocate(
    shape: Sequence[int],
    *,
    max_memory: int = DEFAULT_MAX_MEMORY,
    scratch: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """A zero-filled float32 array of ``shape``; memory-mapped if it is larger than ``max_memory``.

    Args:
        shape: the array shape.
        max_memory: bytes above which a memory-mapped temporary file is used.
        scratch: folder for that file (default: the system's temporary folder).
    """
    shape = tuple(int(s) for s in shape)
    nbytes = 4 * int(np.prod(shape, dtype=np.int64))
    if nbytes <= max_memory:
        return np.zeros(shape, dtype=np.float32)
    folder = Path(scratch) if scratch is not None else Path(tempfile.gettempdir())
    if not folder.is_dir():
        raise MedsrError(f"scratch folder {folder} does not exist; create it or choose another")
    fd, name = tempfile.mkstemp(prefix=".medsr-buffer-", suffix=".f32", dir=folder)
    os.close(fd)
    try:
        array = np.memmap(name, dtype=np.float32, mode="w+", shape=shape)  # zero-filled, sparse
    except OSError as exc:
        os.unlink(name)
        raise MedsrError(
            f"cannot map a {nbytes / 2**30:.1f} GiB scratch file in {folder} ({exc}); "
            "free disk space"
        ) from None
    try:
        os.unlink(name)
    except OSError:  # e.g. Windows: the file stays until the mapping closes
        pass
    return array
