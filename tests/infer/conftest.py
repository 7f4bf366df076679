"""Fixtures for the inference tests: tiny networks with known receptive fields, real-data crops."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
import torch
import torch.nn as nn

from medsr.volume import Volume, crop_affine

torch.set_num_threads(1)


class TinyNet(nn.Module):
    """``nearest-upsample(x) + upsample(conv(relu(conv(x))))``: receptive-field radius 2 (input voxels).

    A stand-in for a trained post-upsampling network with a receptive field we know exactly
    (two 3-wide convolutions on the input grid, then nearest up-sampling).
    """

    def __init__(self, dims: int, scale: Sequence[int], seed: int = 0, features: int = 4) -> None:
        super().__init__()
        torch.manual_seed(seed)
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.dims = dims
        self.scale = tuple(int(s) for s in scale)
        self.in_channels = 1
        self.body = nn.Sequential(conv(1, features, 3, padding=1), nn.ReLU(), conv(features, 1, 3, padding=1))
        self.up = nn.Upsample(scale_factor=tuple(float(s) for s in self.scale), mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x + 0.1 * self.body(x))


@pytest.fixture
def tiny_net():
    return TinyNet


@pytest.fixture(scope="session")
def t1_path(shared_data: Path) -> Path:
    path = shared_data / "medical" / "chris_t1.nii.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def crop(volume: Volume, start: Sequence[int], size: Sequence[int]) -> Volume:
    """A sub-volume with its affine (header and dtype kept)."""
    idx = (slice(None),) + tuple(slice(s, s + n) for s, n in zip(start, size))
    return volume.with_data(np.ascontiguousarray(volume.data[idx]), crop_affine(volume.affine, start))


@pytest.fixture(scope="session")
def t1_crop(t1_path: Path) -> Volume:
    """A 32^3 crop through the middle of the isotropic 0.88 mm T1 (uint8 on disk)."""
    from medsr.io import read

    return crop(read(t1_path), (78, 110, 80), (32, 32, 32))


def thick(volume: Volume, axis: int, factor: int) -> Volume:
    """Thick slices along ``axis`` (medsr.degrade.ThickSlice: Gaussian profile, FWHM = factor)."""
    from medsr.degrade import ThickSlice

    return ThickSlice(axis, factor)(volume)
