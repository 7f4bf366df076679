"""NIfTI reading/writing: header, scaling, geometry and channels survive a round trip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medsr import io
from medsr.volume import Volume


def _scaled_nifti(path: Path, affine: np.ndarray) -> np.ndarray:
    """An int16 file with slope 0.5 / intercept -100, sform+qform, intent and descrip."""
    rng = np.random.default_rng(1)
    stored = rng.integers(-2000, 30000, size=(11, 9, 7), dtype=np.int16)
    img = nib.Nifti1Image(stored, None)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    hdr = img.header
    hdr.set_data_dtype(np.int16)
    hdr.set_slope_inter(0.5, -100.0)
    hdr.set_xyzt_units("mm", "msec")
    hdr["descrip"] = b"phantom for medsr"
    hdr.set_intent("t test", (12.0,), name="tstat")
    img.to_filename(str(path))
    return stored


def test_scaled_int16_round_trip_keeps_integers_header_and_geometry(
    tmp_out: Path, oblique: np.ndarray
) -> None:
    src = tmp_out / "scaled.nii.gz"
    stored = _scaled_nifti(src, oblique)
    vol = io.read(src)
    assert vol.data.dtype == np.float32
    np.testing.assert_allclose(vol.data[0], stored * 0.5 - 100.0)
    assert vol.meta.dtype == "int16"
    assert (vol.meta.slope, vol.meta.intercept) == (0.5, -100.0)
    assert vol.meta.modality is None and not vol.meta.is_2d

    report = io.write(vol, tmp_out / "copy.nii.gz")
    assert report.dtype == "int16" and report.clipped == 0
    back = nib.load(str(tmp_out / "copy.nii.gz"))
    np.testing.assert_array_equal(np.asanyarray(back.dataobj.get_unscaled()), stored)
    assert (back.dataobj.slope, back.dataobj.inter) == (0.5, -100.0)
    h = back.header
    assert (int(h["qform_code"]), int(h["sform_code"])) == (1, 1)
    assert h.get_xyzt_units() == ("mm", "msec")
    assert h["descrip"].item() == b"phantom for medsr"
    assert h.get_intent() == ("t test", (12.0,), "tstat")
    again = io.read(tmp_out / "copy.nii.gz")
    np.testing.assert_allclose(again.affine, vol.affine, atol=1e-6)
    np.testing.assert_array_equal(again.data, vol.data)


def test_float_output_drops_scaling(tmp_out: Path, oblique: np.ndarray) -> None:
    src = tmp_out / "scaled.nii"
    stored = _scaled_nifti(src, oblique)
    vol = io.read(src)
    io.write(vol, tmp_out / "f.nii", dtype="float32")
    back = nib.load(str(tmp_out / "f.nii"))
    assert back.get_data_dtype() == np.float32
    np.testing.assert_allclose(np.asanyarray(back.dataobj.get_unscaled()), stored * 0.5 - 100.0)


def test_sform_wins_over_qform_and_codes_are_kept(tmp_out: Path, oblique: np.ndarray) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    img = nib.Nifti1Image(data, None)
    q_aff = np.diag([2.0, 2.0, 2.0, 1.0])
    img.set_qform(q_aff, code=1)
    img.set_sform(oblique, code=2)
    img.to_filename(str(tmp_out / "both.nii"))
    vol = io.read(tmp_out / "both.nii")
    np.testing.assert_allclose(vol.affine, oblique, atol=1e-6)
    assert vol.meta.extra["qform_code"] == 1 and vol.meta.extra["sform_code"] == 2

    only_q = nib.Nifti1Image(data, None)
    only_q.set_qform(oblique, code=1)
    only_q.set_sform(None, code=0)
    only_q.to_filename(str(tmp_out / "q.nii"))
    vol_q = io.read(tmp_out / "q.nii")
    np.testing.assert_allclose(vol_q.affine, oblique, atol=1e-5)
    io.write(vol_q, tmp_out / "q2.nii")
    h = nib.load(str(tmp_out / "q2.nii")).header
    assert (int(h["qform_code"]), int(h["sform_code"])) == (1, 0)
    np.testing.assert_allclose(io.read(tmp_out / "q2.nii").affine, vol_q.affine, atol=1e-6)


def test_phantom_without_header_gets_scanner_codes_and_exact_geometry(
    phantom: Volume, tmp_out: Path
) -> None:
    report = io.write(phantom, tmp_out / "p.nii.gz")
    assert report.dtype == "float32"
    back = io.read(tmp_out / "p.nii.gz")
    np.testing.assert_allclose(back.affine, phantom.affine, atol=1e-6)
    np.testing.assert_array_equal(back.data, phantom.data)
    h = nib.load(str(tmp_out / "p.nii.gz")).header
    assert (int(h["qform_code"]), int(h["sform_code"])) == (1, 1)


def test_channels_are_the_fourth_dimension(tmp_out: Path, make_phantom: Callable) -> None:
    vol = make_phantom((6, 5, 4))
    multi = Volume(np.concatenate([vol.data, 2 * vol.data, 3 * vol.data]), vol.affine, vol.meta)
    io.write(multi, tmp_out / "c3.nii.gz")
    img = nib.load(str(tmp_out / "c3.nii.gz"))
    assert img.shape == (6, 5, 4, 3)
    np.testing.assert_allclose(img.get_fdata()[..., 2], 3 * vol.data[0], rtol=1e-6)
    back = io.read(tmp_out / "c3.nii.gz")
    assert back.channels == 3 and back.shape == (6, 5, 4)
    np.testing.assert_array_equal(back.data, multi.data)


def test_integer_output_rounds_and_counts_clipped(tmp_out: Path, make_phantom: Callable) -> None:
    vol = make_phantom((5, 4, 3))
    data = np.linspace(-10.6, 300.4, vol.data.size, dtype=np.float32).reshape(vol.data.shape)
    report = io.write(vol.with_data(data), tmp_out / "u8.nii.gz", dtype="uint8")
    expected = np.clip(np.rint(data.astype(np.float64)), 0, 255)
    assert report.clipped == int(((np.rint(data) < 0) | (np.rint(data) > 255)).sum()) > 0
    stored = np.asanyarray(nib.load(str(tmp_out / "u8.nii.gz")).dataobj)
    np.testing.assert_array_equal(stored, expected[0])


def test_two_d_nifti_is_2d(tmp_out: Path) -> None:
    img = nib.Nifti1Image(np.ones((7, 5), dtype=np.uint8), np.eye(4))
    img.to_filename(str(tmp_out / "flat.nii"))
    vol = io.read(tmp_out / "flat.nii")
    assert vol.shape == (7, 5, 1) and vol.meta.is_2d


@pytest.mark.data
@pytest.mark.parametrize(
    "name, shape, spacing",
    [
        ("chris_t1", (188, 256, 190), (0.88, 0.88, 0.88)),
        ("chris_PD", (191, 256, 54), (0.858, 0.859, 2.4)),
        ("CT_pitch", (175, 248, 58), (0.8125, 0.8125, 2.397)),
    ],
)
def test_real_files_match_nibabel_and_round_trip(
    shared_data: Path, tmp_out: Path, name: str, shape: tuple, spacing: tuple
) -> None:
    path = shared_data / "medical" / f"{name}.nii.gz"
    ref = nib.load(str(path))
    vol = io.read(path)
    assert vol.shape == shape and vol.channels == 1
    np.testing.assert_allclose(vol.spacing, spacing, atol=2e-3)
    np.testing.assert_allclose(vol.affine, ref.affine, atol=1e-6)
    np.testing.assert_array_equal(vol.data[0], ref.get_fdata(dtype=np.float32))
    assert vol.meta.dtype == "uint8"
    io.write(vol, tmp_out / "copy.nii.gz")
    back = io.read(tmp_out / "copy.nii.gz")
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-6)
    np.testing.assert_array_equal(back.data, vol.data)
    assert nib.load(str(tmp_out / "copy.nii.gz")).header["descrip"] == ref.header["descrip"]
