"""The NIfTI writer streams the voxels: same file as nibabel's writer, memory of one slab."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medsr.io import read
from medsr.io.nifti import write_nifti
from medsr.io.storage import to_storage
from medsr.volume import Volume

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "medical"


def _nibabel_reference(volume: Volume, path: Path, dtype: str) -> None:
    """What nibabel's own ``to_filename`` writes for the same header and stored values."""
    hdr = volume.meta.header.copy()
    integer = np.dtype(dtype).kind in "iu"
    slope, inter = (volume.meta.slope, volume.meta.intercept) if integer else (1.0, 0.0)
    stored, _ = to_storage(volume.data, dtype, slope, inter)
    array = stored[0] if volume.channels == 1 else np.moveaxis(stored, 0, 3)
    img = type(volume.meta.header) is nib.Nifti2Header and nib.Nifti2Image or nib.Nifti1Image
    img = img(array, None, header=hdr)
    img.set_sform(volume.affine, code=int(hdr["sform_code"]))
    img.set_qform(volume.affine, code=int(hdr["qform_code"]))
    img.header.set_data_dtype(np.dtype(dtype))
    if integer and (slope != 1.0 or inter != 0.0):
        img.header.set_slope_inter(slope, inter)
    else:
        img.header.set_slope_inter(np.nan, np.nan)
    img.to_filename(str(path))


def _bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32"])
def test_same_bytes_as_nibabel_on_a_real_upscaled_ct(
    tmp_path: Path, suffix: str, dtype: str
) -> None:
    ct = read(DATA / "CT_pitch.nii.gz")
    # an up-scaled grid (twice the slices) whose values overshoot uint8: clipping is counted
    up = Volume(np.repeat(ct.data, 2, axis=3) * 1.5, ct.affine @ np.diag([1, 1, 0.5, 1]), ct.meta)
    ours, theirs = tmp_path / f"ours{suffix}", tmp_path / f"theirs{suffix}"
    _, clipped, _ = write_nifti(up, ours, dtype)
    _nibabel_reference(up, theirs, dtype)
    assert _bytes(ours) == _bytes(theirs)
    assert (clipped > 0) == (dtype == "uint8")


def test_big_endian_source_and_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    hdr = nib.Nifti1Header(endianness=">")
    hdr.set_data_dtype(np.int16)
    src = tmp_path / "big.nii"
    data = rng.integers(-500, 500, size=(9, 7, 5, 3)).astype(">i2")
    nib.Nifti1Image(data, np.diag([0.8, 0.9, 2.0, 1.0]), header=hdr).to_filename(str(src))
    vol = read(src)
    assert vol.channels == 3
    out = tmp_path / "out.nii"
    write_nifti(vol, out, "int16")
    back = nib.load(str(out))
    assert back.header.endianness == ">"
    np.testing.assert_array_equal(np.asanyarray(back.dataobj), data)
    np.testing.assert_allclose(back.affine, vol.affine)


def test_writing_needs_one_slab_not_the_whole_stored_array(tmp_path: Path) -> None:
    # 256 x 256 x 256 float32 (64 MiB) -> int16 (32 MiB stored): nibabel's writer would hold the
    # whole stored array (and copies); the streaming writer holds a slab of about 1 M voxels
    data = np.broadcast_to(np.linspace(-1000, 1000, 256, dtype=np.float32), (1, 256, 256, 256))
    vol = Volume(np.ascontiguousarray(data), np.diag([0.5, 0.5, 0.5, 1.0]))
    tracemalloc.start()
    try:
        write_nifti(vol, tmp_path / "big.nii", "int16")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 * 2**20, f"peak {peak / 2**20:.1f} MiB"  # below the 32 MiB stored array
    back = nib.load(str(tmp_path / "big.nii"))
    np.testing.assert_array_equal(back.dataobj[:, 0, 0], np.rint(data[0, :, 0, 0]))
