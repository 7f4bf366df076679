"""JSON for medsr's records: one converter to plain JSON values and one atomic writer.

Every JSON medsr writes (``model.json`` of trained weights, the ``OUT.json`` sidecar of
``medsr upscale``, benchmark ``results.json``, ``medsr metrics --json``) records measurements such
as the PSNR and SSIM of review section 5.2 (eqs. 24-25), which can be infinite (identical images)
or NaN. Strict JSON has neither, so :func:`to_jsonable` writes them as ``null`` (or, where a record
documents it, as the strings ``"inf"``/``"nan"``). It also turns numpy/torch scalars and arrays into
Python numbers and lists, paths into strings and dataclasses into dicts. :func:`write_json` writes
the result atomically through :func:`medsr.io.atomic.atomic_path`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from medsr.errors import MedsrError

__all__ = ["NonFinite", "to_jsonable", "write_json"]

#: How :func:`to_jsonable` writes NaN and +-inf: ``"null"`` (JSON null) or ``"string"`` ("inf",
#: "nan").
NonFinite = Literal["null", "string"]


def to_jsonable(value: Any, *, nonfinite: NonFinite = "null", strict: bool = False) -> Any:
    """``value`` made of plain JSON types (dict with str keys, list, str, int, float, bool, None).

    Args:
        value: mappings, sequences, dataclass instances, numpy/torch scalars and arrays, paths,
            numbers and strings, nested in any way.
        nonfinite: NaN and +-inf become None (``"null"``) or ``str(value)`` (``"string"``).
        strict: an object of another type raises :class:`MedsrError` instead of becoming
            ``str(value)``.

    Raises:
        MedsrError: ``strict`` and a value JSON cannot hold (e.g. a function or a module).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return None if nonfinite == "null" else str(value)
    if isinstance(value, Mapping):
        return {
            str(k): to_jsonable(v, nonfinite=nonfinite, strict=strict) for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v, nonfinite=nonfinite, strict=strict) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), nonfinite=nonfinite, strict=strict)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy / torch scalars and arrays
        return to_jsonable(value.tolist(), nonfinite=nonfinite, strict=strict)
    if hasattr(value, "item") and callable(value.item):  # other 0-d array-likes
        return to_jsonable(value.item(), nonfinite=nonfinite, strict=strict)
    if strict:
        raise MedsrError(
            f"cannot store {type(value).__name__} value {value!r} in JSON; "
            "pass plain numbers, strings, lists or dicts"
        )
    return str(value)


def write_json(
    path: str | os.PathLike[str],
    data: Any,
    *,
    nonfinite: NonFinite = "null",
    strict: bool = False,
    indent: int = 2,
) -> Path:
    """Write ``to_jsonable(data)`` to ``path`` atomically (a crash leaves no half file).

    The text is indented by ``indent`` and ends with a newline.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        MedsrError: the folder does not exist or is not writable, or (``strict``) a value JSON
            cannot hold.
    """
    from medsr.io.atomic import atomic_path

    text = json.dumps(
        to_jsonable(data, nonfinite=nonfinite, strict=strict), indent=indent, allow_nan=False
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path
