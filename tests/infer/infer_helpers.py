"""Helpers shared by the inference tests (``from infer_helpers import ...``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from medsr.volume import Volume, crop_affine


class TinyNet(nn.Module):
    """``nearest-upsample(x + 0.1 conv(relu(conv(x))))``: receptive-field radius 2 (input voxels).

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
        self.body = nn.Sequential(
            conv(1, features, 3, padding=1), nn.ReLU(), conv(features, 1, 3, padding=1)
        )
        self.up = nn.Upsample(scale_factor=tuple(float(s) for s in self.scale), mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x + 0.1 * self.body(x))


def crop(volume: Volume, start: Sequence[int], size: Sequence[int]) -> Volume:
    """A sub-volume with its affine (header and dtype kept)."""
    idx = (slice(None),) + tuple(slice(s, s + n) for s, n in zip(start, size))
    return volume.with_data(
        np.ascontiguousarray(volume.data[idx]), crop_affine(volume.affine, start)
    )


def thick(volume: Volume, axis: int, factor: int) -> Volume:
    """Thick slices along ``axis`` (medsr.degrade.ThickSlice: Gaussian profile, FWHM = factor)."""
    from medsr.degrade import ThickSlice

    return ThickSlice(axis, factor)(volume)


def run(args: list) -> int:
    """Run the CLI in-process; the exit code (0 on success)."""
    from medsr.cli import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def write(volume: Volume, path: Path, dtype: str | None = None) -> Path:
    from medsr.io import write as write_volume

    write_volume(volume, path, dtype=dtype)
    return path


def save_network(folder: Path, scale: tuple[int, ...], dims: int = 3, name: str = "espcn") -> Path:
    """A registered network (tiny preset, random weights) saved as safetensors + model.json."""
    from medsr.models import create_model
    from medsr.models.io import save_weights

    torch.manual_seed(0)
    model = create_model(name, scale=scale, dims=dims, in_channels=1, preset="tiny")
    tensors, _ = save_weights(
        model,
        folder,
        name=name,
        preset="tiny",
        normalisation={"kind": "minmax", "params": {"min": 0, "max": 255}},
    )
    return tensors
