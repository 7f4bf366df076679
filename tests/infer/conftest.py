"""Fixtures for the inference tests: tiny networks with known receptive fields, real-data crops."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from infer_helpers import TinyNet, crop

from medsr.volume import Volume

torch.set_num_threads(1)


@pytest.fixture
def tiny_net() -> type[TinyNet]:
    return TinyNet


@pytest.fixture(scope="session")
def t1_path(shared_data: Path) -> Path:
    path = shared_data / "medical" / "chris_t1.nii.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def t1_crop(t1_path: Path) -> Volume:
    """A 32^3 crop through the middle of the isotropic 0.88 mm T1 (uint8 on disk)."""
    from medsr.io import read

    return crop(read(t1_path), (78, 110, 80), (32, 32, 32))
