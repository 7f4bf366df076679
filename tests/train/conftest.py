"""Fixtures of the training tests: tiny real data sets and a tiny-run config factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medsr.io import read, write
from medsr.metrics.colour import rgb_to_y
from medsr.volume import Volume


@pytest.fixture(scope="session")
def bsd_crops(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 64x64 luma (Y) crops of CBSD68 training images, as 8-bit PNGs (real data)."""
    out = tmp_path_factory.mktemp("bsd_crops")
    files = sorted((shared_data / "natural" / "CBSD68").glob("*.png"))[:4]
    for f in files:
        rgb = np.moveaxis(read(f).data, 0, -1)  # (X, Y, 1, 3)
        y = np.round(rgb_to_y(rgb))[100:164, 100:164]
        write(Volume(y[None].astype(np.float32), np.eye(4)), out / f.name, dtype="uint8")
    return out


@pytest.fixture(scope="session")
def t1_block(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48x48x32 block of the real T1 MRI (chris_t1), as NIfTI (keeps tests light)."""
    vol = read(shared_data / "medical" / "chris_t1.nii.gz")
    x0, y0, z0 = (np.asarray(vol.shape) - (48, 48, 32)) // 2
    block = vol.data[:, x0 : x0 + 48, y0 : y0 + 48, z0 : z0 + 32].astype(np.float32)
    out = tmp_path_factory.mktemp("t1") / "t1_block.nii.gz"
    write(Volume(block, vol.affine), out, dtype="float32")
    return out


@pytest.fixture
def tiny_config(
    bsd_crops: Path, tmp_path: Path, tiny_run_config: Callable[[Path, Path], dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    """``tiny_config(**section_updates)`` -> a config dict for a few-step run on the BSD crops
    (``tiny_run_config``), written to a fresh folder; e.g. ``tiny_config(train={"max_steps": 6})``
    updates a section."""

    def make(**updates: Any) -> dict[str, Any]:
        cfg = tiny_run_config(bsd_crops, tmp_path / f"run{len(list(tmp_path.iterdir()))}")
        for key, value in updates.items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key].update(value)
            else:
                cfg[key] = value
        return cfg

    return make
