"""Issue 13: the finite checks of an up-scaling job allocate no array the size of the volume.

``np.isfinite`` of a whole x4 output is a boolean mask a quarter of the float32 output (as large as
the float32 input); :func:`medsr.volume.count_nonfinite` counts in bounded blocks instead. These
tests check that the blocked count is the exact count, and that its extra memory is bounded.
"""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.infer.pipeline import resolve_target, upscale
from medsr.infer.predictor import Predictor
from medsr.volume import Volume, _blocks, count_nonfinite, finite_range


@pytest.mark.parametrize(
    "shape,block",
    [
        ((7,), 3),
        ((1, 5, 6, 7), 4),  # a row of the last axis is larger than the block
        ((2, 5, 6, 7), 42),  # whole X slices of one channel
        ((3, 4, 5, 6), 10_000),  # everything in one block
        ((1, 1, 1, 1), 1),
        ((2, 3, 1, 9), 2),
    ],
)
def test_blocks_visit_every_voxel_once(shape: tuple[int, ...], block: int) -> None:
    seen = np.zeros(shape, np.int64)
    for index in _blocks(shape, block):
        assert seen[index].size <= max(block, shape[-1])
        seen[index] += 1
    assert np.all(seen == 1)


@pytest.mark.parametrize("block", [1, 7, 100, 2**24])
def test_count_nonfinite_is_the_exact_count_on_real_data(t1_crop: Volume, block: int) -> None:
    data = np.array(t1_crop.data, dtype=np.float32)  # (1, 32, 32, 32), MR intensities
    rng = np.random.default_rng(13)
    flat = data.reshape(-1)
    where = rng.choice(flat.size, 57, replace=False)
    flat[where[:20]] = np.nan
    flat[where[20:40]] = np.inf
    flat[where[40:]] = -np.inf
    assert count_nonfinite(data, block) == int(np.count_nonzero(~np.isfinite(data))) == 57
    assert count_nonfinite(data[:, ::2, 1:, ::3], block) == int(
        np.count_nonzero(~np.isfinite(data[:, ::2, 1:, ::3]))
    )
    assert count_nonfinite(np.zeros((3, 4, 5), np.int16), block) == 0
    assert count_nonfinite(np.float32(np.nan)) == 1


@pytest.mark.parametrize("block", [1, 7, 100, 2**24])
def test_finite_range_is_numpys_range_of_the_finite_samples(t1_crop: Volume, block: int) -> None:
    data = np.array(t1_crop.data, dtype=np.float32)
    expected = (float(data.min()), float(data.max()))
    flat = data.reshape(-1)
    flat[[3, 500, 9000]] = [np.nan, np.inf, -np.inf]
    finite = flat[np.isfinite(flat)]
    assert finite_range(data, block) == (float(finite.min()), float(finite.max()))
    assert finite_range(data, block)[1] <= expected[1]
    assert finite_range(np.full((2, 3), np.nan, np.float32), block) is None
    assert finite_range(np.arange(-5, 7, dtype=np.int16).reshape(3, 4), block) == (-5.0, 6.0)


def test_check_finite_of_a_large_memory_mapped_volume_allocates_one_block(tmp_path) -> None:
    """A one-channel (1, 256, 256, 512) memory-mapped float32 volume (128 MiB on disk): the old
    check allocated a 32 MiB boolean mask (one byte per voxel); now at most one 16 MiB block."""
    shape = (1, 256, 256, 512)
    data = np.lib.format.open_memmap(tmp_path / "big.npy", "w+", np.float32, shape)
    data[0, 255, 255, 511] = np.nan  # the very last voxel
    data[0, 0, 0, 0] = np.inf
    volume = Volume(data, np.eye(4))
    tracemalloc.start()
    try:
        with pytest.raises(MedsrError, match="holds 2 NaN/Inf voxels"):
            volume.check_finite()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    mask_of_whole = int(np.prod(shape))  # bytes of np.isfinite(data)
    assert peak <= 2**24 + 2**20 < mask_of_whole


class _HolesNet(torch.nn.Module):
    """x4 along z by nearest up-sampling, with NaN written where the input equals ``hole``."""

    dims = 3
    scale = (1, 1, 4)
    in_channels = 1

    def __init__(self, hole: float) -> None:
        super().__init__()
        self.hole = hole

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.interpolate(x, scale_factor=(1.0, 1.0, 4.0), mode="nearest")
        return torch.where(y == self.hole, torch.full_like(y, float("nan")), y)


def test_network_nan_count_is_exact(t1_crop: Volume) -> None:
    """The output check counts every NaN a network writes (blocked count, same number)."""
    lr = t1_crop.with_data(np.array(t1_crop.data[:, :, :, :8], dtype=np.float32))
    hole = float(lr.data[0, 3, 4, 5])
    expected = 4 * int(np.count_nonzero(lr.data == hole))  # each input voxel -> 4 output voxels
    pred = Predictor.from_module(_HolesNet(hole), fast=False)
    target = resolve_target(lr, factors="1,1,4")
    with pytest.raises(MedsrError, match=re.escape(f"produced {expected} NaN/Inf voxels")):
        upscale(lr, target, predictor=pred)
