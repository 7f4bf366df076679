"""DICOM: slice sorting, spacing checks, series choice, rescaling, multi-frame, vs SimpleITK.

The small series is the built-in sample (6 real slices); variants (rotated, several series,
a missing slice, CT rescale, multi-frame) are made from it with pydicom in a temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_helpers import sitk_series
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medsr import io
from medsr.data import sample_path
from medsr.errors import MedsrError


def _copy_series(dst: Path) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    files = []
    for f in sorted(sample_path("dicom").glob("*.dcm")):
        shutil.copy(f, dst / f.name)
        files.append(dst / f.name)
    return files


def _rotation(deg_z: float, deg_x: float) -> np.ndarray:
    a, b = np.deg2rad(deg_z), np.deg2rad(deg_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


def test_sample_series_geometry_and_pixels_match_simpleitk() -> None:
    folder = sample_path("dicom")
    vol = io.read(folder)
    ref_data, ref_affine = sitk_series(folder)
    assert vol.shape == (512, 512, 6) and vol.channels == 1
    np.testing.assert_allclose(vol.spacing, (0.41015625, 0.41015625, 1.5), atol=1e-6)
    np.testing.assert_allclose(vol.affine, ref_affine, atol=1e-4)
    np.testing.assert_array_equal(vol.data[0], ref_data)
    assert vol.meta.modality == "MR" and vol.meta.dtype == "uint16"
    assert vol.meta.extra["series_description"] == "t1_mpr_tra_gk_v4"
    assert vol.orientation() == "LPS"


def test_rotated_series_in_scrambled_file_order_matches_simpleitk(tmp_path: Path) -> None:
    files = _copy_series(tmp_path / "rot")
    rot = _rotation(25.0, -14.0)
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        iop = np.array(ds.ImageOrientationPatient, dtype=float)
        ds.ImageOrientationPatient = [
            f"{v:.10f}" for v in np.concatenate([rot @ iop[:3], rot @ iop[3:]])
        ]
        ds.ImagePositionPatient = [
            f"{v:.8f}" for v in rot @ np.array(ds.ImagePositionPatient, dtype=float)
        ]
        f.unlink()
        ds.save_as(tmp_path / "rot" / f"img{(7 * k) % 6}.dcm")  # names no longer follow position
    vol = io.read(tmp_path / "rot")
    ref_data, ref_affine = sitk_series(tmp_path / "rot")
    np.testing.assert_allclose(vol.affine, ref_affine, atol=1e-4)
    np.testing.assert_array_equal(vol.data[0], ref_data)
    np.testing.assert_allclose(vol.spacing, (0.41015625, 0.41015625, 1.5), atol=1e-5)


def test_non_dicom_files_are_ignored(tmp_path: Path) -> None:
    _copy_series(tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("not an image")
    (tmp_path / "s" / "README").write_bytes(b"\x00" * 300)
    assert io.read(tmp_path / "s").shape == (512, 512, 6)


def test_empty_and_non_dicom_folders_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MedsrError, match="no DICOM image files"):
        io.read(tmp_path / "empty")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.dcm").write_text("hello")
    with pytest.raises(MedsrError, match="no DICOM image files"):
        io.read(tmp_path / "text")


def test_several_series_are_listed_and_series_picks_one(tmp_path: Path) -> None:
    files = _copy_series(tmp_path / "two")
    new_uid = "1.2.826.0.1.3680043.8.498.12345"
    for f in files[3:]:
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = new_uid
        ds.SeriesDescription = "second"
        ds.save_as(f)
    with pytest.raises(MedsrError) as err:
        io.read(tmp_path / "two")
    msg = str(err.value)
    assert (
        "2 DICOM series" in msg
        and new_uid in msg
        and "'second'" in msg
        and "t1_mpr_tra_gk_v4" in msg
    )
    assert "choose one with series UID" in msg and "3 files" in msg and "\n" not in msg
    assert "--series UID" in err.value.as_flag()  # the CLI names the flag
    picked = io.read(tmp_path / "two", series=new_uid)
    assert picked.shape == (512, 512, 3) and picked.meta.extra["series_uid"] == new_uid
    first = io.read(tmp_path / "two", series="1.3.6.1.4.1.14519")  # a unique prefix is enough
    assert first.shape == (512, 512, 3)
    np.testing.assert_allclose(picked.affine[:3, 3] - first.affine[:3, 3], (0, 0, 4.5), atol=1e-6)
    with pytest.raises(MedsrError, match="matches no"):
        io.read(tmp_path / "two", series="9.9.9")


def test_missing_middle_slice_is_reported_with_location(tmp_path: Path) -> None:
    files = _copy_series(tmp_path / "gap")
    files[2].unlink()
    with pytest.raises(MedsrError) as err:
        io.read(tmp_path / "gap")
    msg = str(err.value)
    assert "uneven slice spacing" in msg and "gap of 3 mm" in msg and "1.5 mm is expected" in msg
    assert files[1].name in msg and files[3].name in msg


def test_duplicate_positions_are_refused(tmp_path: Path) -> None:
    files = _copy_series(tmp_path / "dup")
    shutil.copy(files[0], tmp_path / "dup" / "copy.dcm")
    with pytest.raises(MedsrError, match="same position"):
        io.read(tmp_path / "dup")


def test_ct_rescale_gives_hounsfield_units_and_round_trips(tmp_path: Path) -> None:
    files = _copy_series(tmp_path / "ct")
    for f in files:
        ds = pydicom.dcmread(f)
        ds.Modality = "CT"
        ds.RescaleSlope = 1
        ds.RescaleIntercept = -1024
        ds.save_as(f)
    raw = io.read(sample_path("dicom")).data
    vol = io.read(tmp_path / "ct")
    assert vol.meta.modality == "CT" and vol.meta.dtype == "uint16"
    assert (vol.meta.slope, vol.meta.intercept) == (1.0, -1024.0)
    np.testing.assert_array_equal(vol.data, raw - 1024)
    # NIfTI keeps the stored integers and the scaling; NRRD stores HU in a signed type
    report = io.write(vol, tmp_path / "ct.nii.gz")
    assert report.dtype == "uint16" and report.clipped == 0
    np.testing.assert_array_equal(io.read(tmp_path / "ct.nii.gz").data, vol.data)
    report = io.write(vol, tmp_path / "ct.nrrd")
    assert report.dtype == "int16" and report.clipped == 0
    back = io.read(tmp_path / "ct.nrrd")
    np.testing.assert_array_equal(back.data, vol.data)
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-6)


def test_per_slice_scaling_gives_float(tmp_path: Path) -> None:
    files = _copy_series(tmp_path / "pet")
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        ds.RescaleSlope = f"{0.5 + 0.25 * k}"
        ds.RescaleIntercept = "0"
        ds.save_as(f)
    raw = io.read(sample_path("dicom")).data
    vol = io.read(tmp_path / "pet")
    assert vol.meta.dtype == "float32"
    slopes = 0.5 + 0.25 * np.arange(6)
    np.testing.assert_allclose(vol.data, raw * slopes[None, None, None, :], rtol=1e-6)


def test_single_slice_is_2d_with_slice_thickness() -> None:
    f = sorted(sample_path("dicom").glob("*.dcm"))[2]
    vol = io.read(f)
    series = io.read(sample_path("dicom"))
    assert vol.shape == (512, 512, 1) and vol.meta.is_2d
    np.testing.assert_allclose(vol.spacing, (0.41015625, 0.41015625, 1.5), atol=1e-6)
    np.testing.assert_allclose(
        vol.affine[:3, 3], (series.affine @ np.array([0, 0, 2, 1.0]))[:3], atol=1e-6
    )
    np.testing.assert_array_equal(vol.data[..., 0], series.data[..., 2])


def _multiframe(
    files: list[Path], out: Path, *, functional_groups: bool, frame_order: list[int]
) -> None:
    slices = [pydicom.dcmread(f) for f in files]
    ds = slices[0].copy()
    ds.NumberOfFrames = len(frame_order)
    ds.PixelData = b"".join(slices[i].PixelData for i in frame_order)
    if functional_groups:
        shared = Dataset()
        orient, measures = Dataset(), Dataset()
        orient.ImageOrientationPatient = ds.ImageOrientationPatient
        measures.PixelSpacing = ds.PixelSpacing
        measures.SliceThickness = ds.SliceThickness
        shared.PlaneOrientationSequence = Sequence([orient])
        shared.PixelMeasuresSequence = Sequence([measures])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        frames = []
        for i in frame_order:
            item, pos = Dataset(), Dataset()
            pos.ImagePositionPatient = slices[i].ImagePositionPatient
            item.PlanePositionSequence = Sequence([pos])
            frames.append(item)
        ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
        for key in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            delattr(ds, key)
    else:
        ds.SpacingBetweenSlices = 1.5
    ds.save_as(out)


def test_multiframe_with_functional_groups_matches_the_series(tmp_path: Path) -> None:
    files = sorted(sample_path("dicom").glob("*.dcm"))
    series = io.read(sample_path("dicom"))
    _multiframe(files, tmp_path / "mf.dcm", functional_groups=True, frame_order=[3, 0, 5, 1, 4, 2])
    vol = io.read(tmp_path / "mf.dcm")
    assert vol.shape == (512, 512, 6) and not vol.meta.is_2d
    np.testing.assert_allclose(vol.affine, series.affine, atol=1e-6)
    np.testing.assert_array_equal(vol.data, series.data)


def test_multiframe_without_functional_groups_uses_slice_spacing(tmp_path: Path) -> None:
    files = sorted(sample_path("dicom").glob("*.dcm"))
    series = io.read(sample_path("dicom"))
    _multiframe(files, tmp_path / "mf.dcm", functional_groups=False, frame_order=list(range(6)))
    vol = io.read(tmp_path / "mf.dcm")
    np.testing.assert_allclose(vol.affine, series.affine, atol=1e-4)
    np.testing.assert_array_equal(vol.data, series.data)


def test_damaged_dicom_file_is_a_clear_error(tmp_path: Path) -> None:
    good = min(sample_path("dicom").glob("*.dcm")).read_bytes()
    (tmp_path / "cut.dcm").write_bytes(good[:2000])
    with pytest.raises(MedsrError, match="cut.dcm"):
        io.read(tmp_path / "cut.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\xff" * 64)
    with pytest.raises(MedsrError, match="junk.dcm"):
        io.read(tmp_path / "junk.dcm")


@pytest.mark.data
def test_shared_series_matches_simpleitk(shared_data: Path) -> None:
    folder = shared_data / "medical" / "mr_t1_series_dicom"
    vol = io.read(folder)
    assert vol.shape == (512, 512, 24)
    np.testing.assert_allclose(vol.spacing, (0.41015625, 0.41015625, 1.5), atol=1e-6)
    ref_data, ref_affine = sitk_series(folder)
    np.testing.assert_allclose(vol.affine, ref_affine, atol=1e-4)
    np.testing.assert_array_equal(vol.data[0], ref_data)
    # corner voxel (0, 0, 0) is the first file's ImagePositionPatient, in RAS
    first = pydicom.dcmread(folder / "1-050.dcm", stop_before_pixels=True)
    ipp = np.array(first.ImagePositionPatient, dtype=float)
    np.testing.assert_allclose(vol.affine[:3, 3], ipp * (-1, -1, 1), atol=1e-6)


def test_slice_thickness_is_kept_for_the_slice_profile(shared_data: Path) -> None:
    vol = io.read(shared_data / "medical" / "mr_t1_series_dicom")
    assert vol.meta.extra["slice_thickness"] == pytest.approx(1.5)
