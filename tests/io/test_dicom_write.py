"""Writing a derived DICOM series: geometry, intensities, identity, UIDs, atomicity, the CLI.

Every written series is read back three ways: medsr, SimpleITK (ITK's GDCM series reader) and
pydicom; the affine must agree with the written grid within 1e-4 mm and the intensities within the
rounding of the stored integers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from io_helpers import sitk_series

from medsr import io
from medsr.data import sample_path
from medsr.errors import MedsrError, OptionError
from medsr.io.dicom_write import Derivation
from medsr.volume import Volume, VolumeMeta

DERIVED = Derivation("linear", (1.0, 1.0, 2.0), "0.1.0")
FORMAT = "dicom-enhanced"


def _headers(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(f) for f in sorted(folder.iterdir())]


def _ct_series(tmp_path: Path) -> Path:
    """The sample series as a CT stored uint16 with intercept -1024 (HU = stored - 1024)."""
    folder = tmp_path / "ct"
    shutil.copytree(sample_path("dicom"), folder)
    for f in folder.iterdir():
        ds = pydicom.dcmread(f)
        ds.Modality, ds.SOPClassUID = "CT", "1.2.840.10008.5.1.4.1.1.2"
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.save_as(f)
    return folder


def test_ct_series_round_trips_in_hounsfield_units_with_the_study_kept(tmp_path: Path) -> None:
    source = io.read(_ct_series(tmp_path))
    report = io.write(source, tmp_path / "out", format="dicom", derivation=DERIVED)
    assert report.dtype == "uint16" and report.clipped == 0
    back = io.read(tmp_path / "out")
    np.testing.assert_array_equal(back.data, source.data)  # HU, exactly
    np.testing.assert_allclose(back.affine, source.affine, atol=1e-9)
    data, affine = sitk_series(tmp_path / "out")
    np.testing.assert_allclose(affine, source.affine, atol=1e-4)
    np.testing.assert_array_equal(data, source.data[0])  # SimpleITK applies the rescale too
    ref = pydicom.dcmread(min((tmp_path / "ct").iterdir()))
    headers = _headers(tmp_path / "out")
    assert len(headers) == 6
    for ds in headers:
        assert ds.Modality == "CT" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
        assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
        assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, -1024.0)
        assert ds.StudyInstanceUID == ref.StudyInstanceUID
        assert ds.FrameOfReferenceUID == ref.FrameOfReferenceUID
        assert ds.PatientName == ref.PatientName and ds.PatientID == ref.PatientID
        assert ds.SeriesInstanceUID != ref.SeriesInstanceUID
        assert "medsr linear x1x1x2" in ds.SeriesDescription
        assert "medsr 0.1.0" in ds.DerivationDescription and "linear" in ds.DerivationDescription
    assert len({ds.SeriesInstanceUID for ds in headers}) == 1
    assert len({ds.SOPInstanceUID for ds in headers}) == 6
    assert sorted(int(ds.InstanceNumber) for ds in headers) == list(range(1, 7))


def test_oblique_float_volume_geometry_is_exact(phantom: Volume, tmp_path: Path) -> None:
    """An oblique grid (no DICOM source): IPP/IOP/PixelSpacing/spacing from the affine."""
    report = io.write(phantom, tmp_path / "obl", format="dicom")
    assert report.dtype == "uint16" and any("uint16 with RescaleSlope" in n for n in report.notes)
    back = io.read(tmp_path / "obl")
    np.testing.assert_allclose(back.affine, phantom.affine, atol=1e-9)
    _, affine = sitk_series(tmp_path / "obl")
    np.testing.assert_allclose(affine, phantom.affine, atol=1e-4)
    slope = float(_headers(tmp_path / "obl")[0].RescaleSlope)
    assert np.abs(back.data - phantom.data).max() <= slope / 2 + 1e-3
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ phantom.affine
    for k, ds in enumerate(_headers(tmp_path / "obl")):
        np.testing.assert_allclose(
            [float(v) for v in ds.ImagePositionPatient], lps[:3, 3] + k * lps[:3, 2], atol=1e-9
        )
        row = lps[:3, 0] / np.linalg.norm(lps[:3, 0])
        np.testing.assert_allclose([float(v) for v in ds.ImageOrientationPatient[:3]], row)
        np.testing.assert_allclose([float(v) for v in ds.PixelSpacing], (1.1, 0.9), atol=1e-12)
        assert float(ds.SpacingBetweenSlices) == pytest.approx(2.5, abs=1e-12)
        assert float(ds.SliceThickness) == pytest.approx(2.5, abs=1e-12)
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"  # the phantom is MR-like


def test_anonymise_removes_identity_but_keeps_geometry(tmp_path: Path) -> None:
    source = io.read(sample_path("dicom"))
    ref = pydicom.dcmread(min(sample_path("dicom").glob("*.dcm")))
    io.write(source, tmp_path / "anon", format="dicom", derivation=DERIVED, anonymise=True)
    for ds in _headers(tmp_path / "anon"):
        text = str(ds)
        for key in ("PatientName", "PatientID", "StudyInstanceUID", "FrameOfReferenceUID"):
            assert str(ref.get(key)) not in text, key
        assert str(ref.StudyDate) not in text
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.SeriesDescription == "medsr linear x1x1x2"
    np.testing.assert_allclose(io.read(tmp_path / "anon").affine, source.affine, atol=1e-9)


def test_writing_is_atomic_and_refuses_to_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = io.read(sample_path("dicom"))
    import medsr.io.dicom_write as dw

    calls = {"n": 0}
    real = pydicom.Dataset.save_as

    def failing(self: pydicom.Dataset, *args: object, **kw: object) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        real(self, *args, **kw)

    monkeypatch.setattr(pydicom.Dataset, "save_as", failing)
    with pytest.raises(MedsrError, match="no space left"):
        io.write(source, tmp_path / "out", format="dicom")
    assert list(tmp_path.iterdir()) == []  # no folder, no temporary
    monkeypatch.setattr(pydicom.Dataset, "save_as", real)
    io.write(source, tmp_path / "out", format="dicom")
    with pytest.raises(OptionError, match="already exists"):
        io.write(source, tmp_path / "out", format="dicom")
    io.write(source, tmp_path / "out", format="dicom", overwrite=True)
    assert len(list((tmp_path / "out").iterdir())) == 6
    (tmp_path / "notes.txt").write_text("keep")
    shutil.copy(tmp_path / "notes.txt", tmp_path / "out" / "notes.txt")
    with pytest.raises(MedsrError, match="not DICOM"):
        io.write(source, tmp_path / "out", format="dicom", overwrite=True)
    assert dw.Derivation  # the module stays importable on its own


def test_channels_other_than_grey_or_rgb_are_refused(tmp_path: Path) -> None:
    vol = Volume(np.zeros((2, 4, 4, 3), np.float32), np.eye(4), VolumeMeta())
    with pytest.raises(MedsrError, match="1 \\(grey\\) or 3 \\(RGB\\)"):
        io.write(vol, tmp_path / "two", format="dicom")
    assert not (tmp_path / "two").exists()


def test_cli_upscale_writes_a_derived_series_and_a_clean_sidecar(
    tmp_path: Path, medsr_main
) -> None:
    args = ["upscale", str(sample_path("dicom")), "--method", "linear", "--factors", "1,1,2"]
    code, _out, err = medsr_main(*args, "-o", str(tmp_path / "sr"), "--format", "dicom")
    assert code == 0, err
    source = io.read(sample_path("dicom"))
    back = io.read(tmp_path / "sr")
    assert back.shape == (512, 512, 12)
    np.testing.assert_allclose(back.spacing, (0.41015625, 0.41015625, 0.75), atol=1e-9)
    sidecar = json.loads((tmp_path / "sr.json").read_text())
    np.testing.assert_allclose(back.affine, sidecar["geometry"]["output"]["affine"], atol=1e-6)
    assert source.data.min() <= back.data.min() and back.data.max() <= source.data.max()
    ref = pydicom.dcmread(min(sample_path("dicom").glob("*.dcm")))
    text = (tmp_path / "sr.json").read_text()
    assert str(ref.PatientName) not in text and str(ref.PatientID) not in text
    # an existing folder as -o: the series goes into it, named after the input
    (tmp_path / "batch").mkdir()
    code, _, err = medsr_main(*args, "-o", str(tmp_path / "batch"), "--format", "dicom")
    assert code == 0, err
    assert len(list((tmp_path / "batch" / "dicom").glob("*.dcm"))) == 12
    # --anonymise without DICOM output, and an unknown format: one-line option errors
    code, _, err = medsr_main(*args, "-o", str(tmp_path / "a.nii.gz"), "--anonymise")
    assert code == 2 and "--anonymise applies to DICOM output (--format dicom)" in err
    code, _, err = medsr_main(*args, "-o", str(tmp_path / "b"), "--format", "png")
    assert code == 2 and "--format must be dicom" in err
    # one enhanced multi-frame file instead of a folder
    code, _, err = medsr_main(*args, "-o", str(tmp_path / "e.dcm"), "--format", FORMAT)
    assert code == 0, err
    enhanced = io.read(tmp_path / "e.dcm")
    np.testing.assert_allclose(enhanced.affine, back.affine, atol=1e-9)
    np.testing.assert_array_equal(enhanced.data, back.data)
    assert (tmp_path / "e.dcm.json").is_file()
    code, _, err = medsr_main(*args, "-o", str(tmp_path / "c.nii.gz"), "--format", "dicom")
    assert code == 2 and "give a folder name without the .nii.gz suffix" in err
    assert not (tmp_path / "a.nii.gz").exists() and not (tmp_path / "b").exists()
    assert not (tmp_path / "c.nii.gz").exists()


@pytest.mark.data
def test_shared_series_round_trips_through_dicom(
    shared_data: Path, tmp_path: Path, medsr_main
) -> None:
    """read -> upscale (linear, x2 through-plane) -> DICOM -> medsr, SimpleITK and pydicom."""
    from medsr.infer.files import Job, upscale_file

    series = shared_data / "medical" / "mr_t1_series_dicom"
    nifti = tmp_path / "sr.nii.gz"
    job = Job(factors="1,1,2", method="linear")
    upscale_file(series, nifti, job)
    expected = io.read(nifti)  # the same result, stored with the source's uint16 storage
    upscale_file(series, tmp_path / "sr", Job(factors="1,1,2", method="linear", format="dicom"))
    back = io.read(tmp_path / "sr")
    assert back.shape == (512, 512, 48) and back.meta.dtype == "uint16"
    np.testing.assert_allclose(back.affine, expected.affine, atol=1e-4)
    np.testing.assert_array_equal(back.data, expected.data)
    data, affine = sitk_series(tmp_path / "sr")
    np.testing.assert_allclose(affine, expected.affine, atol=1e-4)
    np.testing.assert_array_equal(data, expected.data[0])
    headers = _headers(tmp_path / "sr")
    src = pydicom.dcmread(min(series.iterdir()), stop_before_pixels=True)
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ expected.affine
    for ds in sorted(headers, key=lambda d: int(d.InstanceNumber)):
        k = int(ds.InstanceNumber) - 1
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        np.testing.assert_allclose(ipp, lps[:3, 3] + k * lps[:3, 2], atol=1e-4)
        np.testing.assert_array_equal(ds.pixel_array.T, expected.data[0, :, :, k])
        assert ds.StudyInstanceUID == src.StudyInstanceUID
        assert ds.FrameOfReferenceUID == src.FrameOfReferenceUID
        assert float(ds.SpacingBetweenSlices) == pytest.approx(0.75, abs=1e-9)
    code, out, _ = medsr_main("info", str(tmp_path / "sr"), "--json")
    assert code == 0 and json.loads(out)["series"]["slices"] == 48


def test_gantry_tilt_is_kept_in_the_slice_positions(tmp_path: Path) -> None:
    """A sheared CT grid: IOP stays orthonormal, IPP carries the tilt; read back exactly."""
    affine = np.diag([-0.5, -0.6, 2.0, 1.0])
    affine[1, 2] = 0.35  # each slice steps along y as well: a 9.9 degree gantry tilt
    affine[:3, 3] = (10.0, -20.0, 30.0)
    data = np.random.default_rng(0).integers(-1000, 2000, (1, 8, 7, 5)).astype(np.float32)
    vol = Volume(data, affine, VolumeMeta(modality="CT", dtype="int16"))
    report = io.write(vol, tmp_path / "tilt", format="dicom")
    assert report.dtype == "int16" and report.clipped == 0
    back = io.read(tmp_path / "tilt")
    np.testing.assert_allclose(back.affine, affine, atol=1e-9)
    np.testing.assert_array_equal(back.data, data)
    assert any("gantry tilt of 9.93 degrees" in n for n in back.meta.notes)
    ds = _headers(tmp_path / "tilt")[0]
    assert float(ds.SpacingBetweenSlices) == pytest.approx(2.0, abs=1e-12)  # along the normal


def test_enhanced_multiframe_output_round_trips(phantom: Volume, tmp_path: Path) -> None:
    """--format dicom-enhanced: one Enhanced CT file, geometry in functional groups, HU kept."""
    ct = Volume(
        np.round(phantom.data * 2 - 1000),
        phantom.affine,
        VolumeMeta(modality="CT", dtype="int16"),
    )
    report = io.write(ct, tmp_path / "enh.dcm", format="dicom-enhanced", derivation=DERIVED)
    assert report.dtype == "int16" and report.clipped == 0
    back = io.read(tmp_path / "enh.dcm")
    np.testing.assert_allclose(back.affine, ct.affine, atol=1e-9)
    np.testing.assert_array_equal(back.data, ct.data)
    image = sitk.ReadImage(str(tmp_path / "enh.dcm"))
    np.testing.assert_allclose(image.GetSpacing(), (0.9, 1.1, 2.5), atol=1e-6)
    ds = pydicom.dcmread(tmp_path / "enh.dcm")
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2.1" and int(ds.NumberOfFrames) == 9
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY", "VOLUME", "NONE"]
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert shared.PixelValueTransformationSequence[0].RescaleType == "HU"
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ct.affine
    for k, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        ipp = [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient]
        np.testing.assert_allclose(ipp, lps[:3, 3] + k * lps[:3, 2], atol=1e-9)
        assert frame.FrameContentSequence[0].InStackPositionNumber == k + 1
        np.testing.assert_array_equal(ds.pixel_array[k].T, ct.data[0, :, :, k] + 0)
    with pytest.raises(MedsrError, match="end its name with .dcm"):
        io.write(ct, tmp_path / "enh", format="dicom-enhanced")
    with pytest.raises(OptionError, match="CT and MR, not OT"):
        io.write(Volume(ct.data, ct.affine, VolumeMeta()), tmp_path / "ot.dcm", format=FORMAT)
    assert not (tmp_path / "ot.dcm").exists()
