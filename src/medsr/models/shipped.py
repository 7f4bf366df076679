"""Weights shipped inside the package: ``medsr upscale --model NAME`` without ``--weights``.

Each shipped model is a folder ``medsr/weights/<name>_x<scale>/`` holding ``model.safetensors``
and ``model.json`` (:mod:`medsr.models.io`), trained on natural images (Y channel, MATLAB-bicubic
LR; see ``benchmarks/train_shipped.py`` and the ``extra.shipped`` record of each model.json: the
training command, steps, time, hardware and the Set5 / Set14 scores). Only files inside the
installed package are read, never the network.

>>> from medsr.models.shipped import shipped_weights, shipped_scales
>>> shipped_weights("edsr", 2)   # Path of the folder, or None when not shipped
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medsr.errors import OptionError

__all__ = [
    "WEIGHTS_DIR",
    "list_shipped",
    "load_shipped",
    "scale_for_factors",
    "shipped_for",
    "shipped_scales",
    "shipped_weights",
]

#: Folder of the shipped weights (tests point it elsewhere with monkeypatch).
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

_FOLDER = re.compile(r"^(?P<name>[a-z0-9_]+?)_x(?P<scale>[1-9][0-9]*)$")


def list_shipped() -> dict[str, list[int]]:
    """``{name: [scales]}`` of every complete shipped model (both files present)."""
    out: dict[str, list[int]] = {}
    folder = Path(WEIGHTS_DIR)
    if not folder.is_dir():
        return out
    for sub in sorted(folder.iterdir()):
        m = _FOLDER.match(sub.name)
        if m and (sub / "model.safetensors").is_file() and (sub / "model.json").is_file():
            out.setdefault(m["name"], []).append(int(m["scale"]))
    return {k: sorted(v) for k, v in out.items()}


def shipped_scales(name: str) -> list[int]:
    """The scales at which ``name`` has shipped weights (empty when none)."""
    return list_shipped().get(str(name).lower(), [])


def shipped_weights(name: str, scale: int) -> Path | None:
    """The folder of the shipped weights of ``name`` at ``scale`` (``model.safetensors`` +
    ``model.json``), or None when the package has none."""
    if not float(scale).is_integer():
        return None
    sub = Path(WEIGHTS_DIR) / f"{str(name).lower()}_x{int(scale)}"
    if (sub / "model.safetensors").is_file() and (sub / "model.json").is_file():
        return sub
    return None


def scale_for_factors(factors: str | Sequence[float] | float | None) -> int | None:
    """The integer scale a network needs for ``factors`` (the largest one, rounded up as the
    pipeline does), or None when no factor is given."""
    if factors is None:
        return None
    from medsr.volume import MAX_FACTOR, parse_numbers

    values = parse_numbers(factors, "factors", maximum=MAX_FACTOR)
    return max(math.ceil(float(f) - 1e-6) for f in values)


def shipped_for(name: str, factors: str | Sequence[float] | float | None = None) -> Path:
    """The shipped weights ``--model name`` means for ``--factors``.

    Without factors the model must be shipped at exactly one scale.

    Raises:
        OptionError: no shipped weights for that name or that scale (the message lists what
            exists).
    """
    scales = shipped_scales(name)
    if not scales:
        names = ", ".join(f"{n} (x{', x'.join(map(str, s))})" for n, s in list_shipped().items())
        raise OptionError(
            f"{{model}} {name} needs {{weights}} FILE.safetensors (with its model.json beside "
            "it): medsr ships no weights for it" + (f"; shipped models: {names}" if names else "")
        )
    scale = scale_for_factors(factors)
    if scale is None:
        if len(scales) > 1:
            raise OptionError(
                f"{{model}} {name} is shipped at x{', x'.join(map(str, scales))}: give {{factors}} "
                "to choose (e.g. 2), or {weights}"
            )
        scale = scales[0]
    path = shipped_weights(name, scale)
    if path is None:
        raise OptionError(
            f"{{model}} {name} is shipped at x{', x'.join(map(str, scales))}, not x{scale}; "
            "change {factors} or give {weights} trained for it"
        )
    return path


def load_shipped(name: str, scale: int, *, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """``(network in eval mode, model.json as a dict)`` of a shipped model
    (:func:`medsr.models.io.load_weights`)."""
    from medsr.models.io import load_weights

    path = shipped_weights(name, scale) or shipped_for(name, scale)  # raises: what is shipped
    return load_weights(path, device=device)
