"""medsr.jsonutil: plain JSON from medsr's records, written atomically."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.jsonutil import to_jsonable, write_json


@dataclass
class _Row:
    name: str
    psnr: float
    where: Path
    extra: dict = field(default_factory=dict)


def test_to_jsonable_converts_every_kind():
    value = {
        1: np.float32(2.5),
        "i": np.int64(7),
        "b": np.bool_(True),
        "arr": np.arange(3, dtype=np.int16),
        "t": torch.tensor([1.5, 2.0]),
        "t0": torch.tensor(3),
        "path": Path("/tmp/x.nii.gz"),
        "tuple": (1, (2, 3)),
        "row": _Row("cubic", float("inf"), Path("a"), {"n": np.float64(float("nan"))}),
        "none": None,
    }
    out = to_jsonable(value)
    assert out == {
        "1": 2.5,
        "i": 7,
        "b": True,
        "arr": [0, 1, 2],
        "t": [1.5, 2.0],
        "t0": 3,
        "path": "/tmp/x.nii.gz",
        "tuple": [1, [2, 3]],
        "row": {"name": "cubic", "psnr": None, "where": "a", "extra": {"n": None}},
        "none": None,
    }
    assert type(out["i"]) is int and type(out["1"]) is float and type(out["b"]) is bool
    json.dumps(out, allow_nan=False)  # strict JSON


def test_nonfinite_as_strings_and_arrays():
    out = to_jsonable({"p": math.inf, "a": np.array([1.0, np.nan, -np.inf])}, nonfinite="string")
    assert out == {"p": "inf", "a": [1.0, "nan", "-inf"]}


def test_unknown_objects_become_text_or_raise_when_strict():
    assert to_jsonable({"f": print})["f"].startswith("<built-in function")
    with pytest.raises(MedsrError, match="cannot store builtin_function_or_method"):
        to_jsonable({"f": print}, strict=True)


def test_write_json_is_atomic_and_strict(tmp_path: Path):
    path = write_json(tmp_path / "r.json", {"psnr": np.float64(np.inf), "n": np.int32(3)})
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert json.loads(path.read_text()) == {"psnr": None, "n": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary file left
    with pytest.raises(MedsrError, match="cannot store"):
        write_json(tmp_path / "bad.json", {"f": print}, strict=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    with pytest.raises(MedsrError, match="does not exist"):
        write_json(tmp_path / "missing" / "r.json", {})
