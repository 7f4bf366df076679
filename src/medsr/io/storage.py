"""From physical intensities to the numbers a file stores (and back).

A :class:`~medsr.volume.Volume` holds physical values (``stored * slope + intercept``). Writing
turns them back into a storage dtype: integer outputs are rounded to nearest and clipped to the
dtype's range, and the clipped voxels are counted so the caller can tell the user (a
super-resolved image commonly overshoots a little at edges).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medsr.errors import MedsrError

__all__ = ["DTYPES", "WriteReport", "check_dtype", "physical_dtype", "to_storage"]

#: Storage dtypes a user may ask for with ``dtype=`` / ``--dtype``.
DTYPES: tuple[str, ...] = (
    "uint8",
    "int8",
    "uint16",
    "int16",
    "uint32",
    "int32",
    "float32",
    "float64",
)

_ALIASES = {
    "float": "float32",
    "single": "float32",
    "double": "float64",
    "short": "int16",
    "ushort": "uint16",
    "byte": "uint8",
    "int": "int32",
}


@dataclass(frozen=True)
class WriteReport:
    """What :func:`medsr.io.write` did.

    Attributes:
        path: the file written.
        dtype: its storage dtype.
        clipped: how many values fell outside the dtype's range and were clipped.
        notes: what the writer could not keep as it was (e.g. a sheared grid written as sform
            only), one sentence each.
    """

    path: Path
    dtype: str
    clipped: int = 0
    notes: tuple[str, ...] = ()


def check_dtype(dtype: str | np.dtype | type) -> str:
    """Normalise a dtype name (``"int16"``, ``np.int16``, ``"float"``) or raise a MedsrError."""
    try:
        name = np.dtype(_ALIASES.get(str(dtype).lower(), dtype)).name
    except TypeError:
        name = str(dtype)
    if name not in DTYPES:
        raise MedsrError(f"unsupported output dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return name


def to_storage(
    data: np.ndarray, dtype: str, slope: float = 1.0, intercept: float = 0.0
) -> tuple[np.ndarray, int]:
    """Convert physical values to stored values ``(data - intercept) / slope`` in ``dtype``.

    Integers: rounded to nearest (half to even) and clipped to the dtype's range. The conversion
    runs slab by slab into a preallocated output so that a large volume is never copied in float64
    as a whole (peak extra memory: the output plus one slab).

    Returns:
        ``(array, clipped_count)``.
    """
    target = np.dtype(check_dtype(dtype))
    data = np.asarray(data)
    out = np.empty(data.shape, dtype=target)
    if data.size == 0:
        return out, 0
    if target.kind == "f":
        lo, hi = (-float(np.finfo(target).max), float(np.finfo(target).max))
    else:
        lo, hi = float(np.iinfo(target).min), float(np.iinfo(target).max)
    clipped = 0
    flat_in = data.reshape(data.shape[0], -1) if data.ndim > 1 else data.reshape(1, -1)
    flat_out = out.reshape(flat_in.shape)
    step = max(1, (1 << 22) // max(1, flat_in.shape[0]))  # about 4 M values per slab
    for start in range(0, flat_in.shape[1], step):
        values = flat_in[:, start : start + step].astype(np.float64)
        if slope != 1.0 or intercept != 0.0:
            values = (values - intercept) / slope
        if target.kind != "f":
            np.rint(values, out=values)
        outside = (values < lo) | (values > hi)
        n_out = int(np.count_nonzero(outside))
        if n_out:
            clipped += n_out
            np.clip(values, lo, hi, out=values)
        flat_out[:, start : start + step] = values
    return out, clipped


def _is_integral(x: float) -> bool:
    return float(x).is_integer()


def physical_dtype(source_dtype: str, slope: float, intercept: float, data: np.ndarray) -> str:
    """A dtype that holds the physical values of a source stored as ``source_dtype`` with scaling.

    Formats without slope/intercept (NRRD, MetaImage, PNG, TIFF) store physical values directly.
    A CT stored as uint16 with intercept -1024 must then become signed (or every negative HU would
    be clipped), and a non-integer slope needs float32. Without scaling the source dtype is kept;
    with integer scaling the result is int16, or int32 when ``data`` does not fit in int16.
    """
    source_dtype = check_dtype(source_dtype)
    if slope == 1.0 and intercept == 0.0:
        return source_dtype
    if np.dtype(source_dtype).kind == "f" or not (_is_integral(slope) and _is_integral(intercept)):
        return "float32"
    finite = np.asarray(data)[np.isfinite(data)]
    if finite.size == 0:
        return "int16"
    lo, hi = float(finite.min()), float(finite.max())
    for name in ("int16", "int32"):
        info = np.iinfo(np.dtype(name))
        if info.min <= lo and hi <= info.max:
            return name
    return "float32"
