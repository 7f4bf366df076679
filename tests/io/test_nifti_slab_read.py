"""NIfTI is read slab by slab into one float32 array (issue 13): same values as nibabel's
``get_fdata``, no whole-volume temporaries, optionally into a memory-mapped file."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medsr.infer.buffers import allocate
from medsr.io import read


def _reference(path: Path) -> np.ndarray:
    """What medsr read before: nibabel's whole-array float32, channels first, C order."""
    data = nib.load(str(path)).get_fdata(dtype=np.float32)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 5:
        data = data[:, :, :, 0, :]
    data = data[None] if data.ndim == 3 else np.moveaxis(data, 3, 0)
    return np.ascontiguousarray(data)


@pytest.mark.parametrize(
    "name,shape,dtype,scaling",
    [
        ("ct.nii.gz", (70, 90, 33), np.int16, None),
        ("scaled.nii.gz", (40, 50, 19), np.int16, (0.37, -12.5)),
        ("big_endian.nii.gz", (300, 300, 29), ">i2", (2.0, 1.0)),
        ("double.nii", (30, 20, 11), np.float64, None),
        ("channels.nii.gz", (17, 19, 7, 3), np.uint8, None),
        ("five_d.nii.gz", (9, 8, 5, 1, 2), np.float32, None),
        ("picture.nii.gz", (33, 41), np.int16, None),
    ],
)
def test_slab_read_equals_nibabel(tmp_path, name, shape, dtype, scaling) -> None:
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        arr = rng.normal(size=shape).astype(dtype)
    else:
        arr = rng.integers(0, 250, shape).astype(dtype)
    img = nib.Nifti1Image(arr, np.diag([0.7, 0.8, 2.0, 1.0]))
    img.set_data_dtype(arr.dtype)
    if scaling:
        img.header.set_slope_inter(*scaling)
    nib.save(img, str(tmp_path / name))
    data = read(tmp_path / name).data
    assert data.dtype == np.float32 and data.flags.c_contiguous
    np.testing.assert_array_equal(data, _reference(tmp_path / name))


def test_read_allocates_the_volume_once_and_can_map_it(tmp_path) -> None:
    shape = (256, 256, 64)  # 4 M voxels: one slab (1 M voxels) is a quarter of it
    arr = np.random.default_rng(1).integers(-1024, 3000, shape).astype(np.int16)
    nib.save(nib.Nifti1Image(arr, np.eye(4)), str(tmp_path / "ct.nii.gz"))
    tracemalloc.start()
    try:
        volume = read(tmp_path / "ct.nii.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    float32_bytes = 4 * int(np.prod(shape))
    assert peak < 1.5 * float32_bytes  # get_fdata, then a C-ordered copy: 2x
    mapped = read(
        tmp_path / "ct.nii.gz",
        allocate=lambda s: allocate(s, max_memory=0, scratch=tmp_path),
    )
    assert isinstance(mapped.data.base, np.memmap) or isinstance(mapped.data, np.memmap)
    np.testing.assert_array_equal(mapped.data, volume.data)
    np.testing.assert_array_equal(volume.data[0], arr.astype(np.float32))
