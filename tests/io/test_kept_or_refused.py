"""No silent wrong output: data are kept exactly, converted with a note, or refused in one line.

Each case runs ``medsr upscale`` / ``medsr info`` on a real file written by the test: NIfTI voxel
sizes that are zero, negative or NaN (refused, and the ``--spacing-override`` that fixes them),
qform/sform codes 0 kept, complex and 64-bit samples, 16-bit colour PNG, 5-D NIfTI, a Z factor for
a 2-D image, DICOM gantry tilt (kept as a sheared sform, true slice spacing in ``info``) and
non-perpendicular ImageOrientationPatient, and reader notes carried to the output and sidecar.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from medsr import io
from medsr.data import sample_path
from medsr.errors import MedsrError

LINEAR = ["--method", "linear"]


def _refused(code: int, err: str, *phrases: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err, err


def _sidecar(out: Path) -> dict:
    return json.loads(Path(f"{out}.json").read_text())


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------- NIfTI voxel size
def _nifti_with_pixdim(path: Path, value: float, *, sform: bool = False) -> None:
    """A 6x5x4 NIfTI with qform code 1 and pixdim[3] patched to ``value`` in the file bytes."""
    data = np.arange(120, dtype=np.float32).reshape(6, 5, 4)
    img = nib.Nifti1Image(data, None)
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1 if sform else 0)
    img.to_filename(str(path))
    raw = bytearray(path.read_bytes())
    raw[76 + 12 : 76 + 16] = struct.pack("<f", value)  # pixdim[3] (NIfTI-1 header offset 76)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("value", [0.0, -3.0, float("nan")])
def test_invalid_pixdim_is_refused_and_the_override_fixes_it(
    value: float, tmp_path: Path, medsr_main
) -> None:
    src = tmp_path / "bad.nii"
    _nifti_with_pixdim(src, value)
    out = tmp_path / "sr.nii.gz"
    code, _, err = medsr_main("upscale", src, "-o", out, "--factors", "1,1,2", *LINEAR)
    _refused(code, err, "invalid voxel size", "--spacing-override", "no sform")
    code, _, err = medsr_main("info", src)
    _refused(code, err, "--spacing-override")
    assert _files(tmp_path) == ["bad.nii"]

    code, stdout, err = medsr_main(
        "upscale", src, "-o", out, "--factors", "1,1,2", *LINEAR, "--spacing-override", "2,2,4"
    )
    assert code == 0, err
    img = nib.load(str(out))
    assert img.shape == (6, 5, 8)
    np.testing.assert_allclose(img.header.get_zooms(), (2.0, 2.0, 2.0))
    note = "voxel size set to 2,2,4 mm by the spacing override"
    assert note in stdout and any(note in n for n in _sidecar(out)["notes"])
    info = json.loads(medsr_main("info", src, "--json", "--spacing-override", "2,2,4")[1])
    assert info["spacing_mm"] == [2.0, 2.0, 4.0]


def test_invalid_pixdim_with_a_valid_sform_reads_the_sform(tmp_path: Path) -> None:
    _nifti_with_pixdim(tmp_path / "s.nii", 0.0, sform=True)
    vol = io.read(tmp_path / "s.nii")
    np.testing.assert_allclose(vol.spacing, (2.0, 2.0, 3.0))


def test_zero_qform_and_sform_codes_stay_zero(tmp_path: Path, medsr_main) -> None:
    src = tmp_path / "nocodes.nii.gz"
    img = nib.Nifti1Image(np.arange(120, dtype=np.float32).reshape(6, 5, 4), None)
    img.header.set_zooms((2.0, 2.0, 3.0))
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    img.to_filename(str(src))
    out = tmp_path / "sr.nii.gz"
    code, _, err = medsr_main("upscale", src, "-o", out, "--factors", "1,1,3", *LINEAR)
    assert code == 0, err
    back = nib.load(str(out))
    assert (int(back.header["qform_code"]), int(back.header["sform_code"])) == (0, 0)
    np.testing.assert_allclose(back.header.get_zooms(), (2.0, 2.0, 1.0), rtol=1e-6)
    # the grid without codes is centred on 0 (nibabel's base affine) before and after
    src_img = nib.load(str(src))
    np.testing.assert_allclose(_centre(back), _centre(src_img), atol=1e-5)


def _centre(img: nib.Nifti1Image) -> np.ndarray:
    return img.affine @ np.append((np.array(img.shape) - 1) / 2, 1)


# ------------------------------------------------------------------------- sample types
def test_complex_nifti_is_refused(tmp_path: Path, medsr_main) -> None:
    src = tmp_path / "c.nii.gz"
    data = (np.ones((6, 5, 4)) + 1j * np.ones((6, 5, 4))).astype(np.complex64)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(src))
    code, _, err = medsr_main(
        "upscale", src, "-o", tmp_path / "o.nii.gz", "--factors", "2", *LINEAR
    )
    _refused(code, err, "complex", "magnitude")
    assert _files(tmp_path) == ["c.nii.gz"]


def test_int64_beyond_int32_is_refused_within_is_written_as_int32(
    tmp_path: Path, medsr_main
) -> None:
    big = np.full((6, 5, 4), 7, dtype=np.int64)
    big[0, 0, 0] = 3_000_000_000
    nib.save(nib.Nifti1Image(big, np.eye(4), dtype=np.int64), str(tmp_path / "big.nii.gz"))
    code, _, err = medsr_main(
        "upscale",
        tmp_path / "big.nii.gz",
        "-o",
        tmp_path / "o.nii.gz",
        "--factors",
        "1,1,2",
        *LINEAR,
    )
    _refused(code, err, "int64", "beyond the int32 range")
    assert not (tmp_path / "o.nii.gz").exists()

    small = np.arange(120, dtype=np.int64).reshape(6, 5, 4) * 1000
    nib.save(nib.Nifti1Image(small, np.eye(4), dtype=np.int64), str(tmp_path / "ok.nii.gz"))
    out = tmp_path / "ok_sr.nii.gz"
    code, stdout, err = medsr_main(
        "upscale", tmp_path / "ok.nii.gz", "-o", out, "--factors", "1,1,2", "--method", "nearest"
    )
    assert code == 0, err
    back = nib.load(str(out))
    assert back.get_data_dtype() == np.int32
    np.testing.assert_array_equal(np.asanyarray(back.dataobj)[:, :, ::2], small)
    assert "written as int32" in stdout and any("int32" in n for n in _sidecar(out)["notes"])


def test_16bit_colour_png_stays_16bit(tmp_path: Path, medsr_main) -> None:
    import SimpleITK as sitk

    rgb = np.random.default_rng(0).integers(0, 65536, size=(7, 9, 3), dtype=np.uint16)
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(tmp_path / "c16.png"))
    vol = io.read(tmp_path / "c16.png")
    assert vol.meta.dtype == "uint16" and vol.channels == 3 and vol.meta.notes == []
    np.testing.assert_array_equal(vol.data[..., 0], np.moveaxis(rgb, 2, 0))

    out = tmp_path / "c16_sr.png"
    code, _, err = medsr_main(
        "upscale", tmp_path / "c16.png", "-o", out, "--factors", "2", "--method", "nearest"
    )
    assert code == 0, err
    head = out.read_bytes()[:26]
    assert head[12:16] == b"IHDR" and (head[24], head[25]) == (16, 2)  # 16-bit RGB
    back = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))
    np.testing.assert_array_equal(back[::2, ::2], rgb)


def test_alpha_note_reaches_the_output_and_sidecar(tmp_path: Path, medsr_main) -> None:
    rgba = np.random.default_rng(1).integers(0, 256, size=(6, 8, 4), dtype=np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    out = tmp_path / "a_sr.png"
    code, stdout, err = medsr_main(
        "upscale", tmp_path / "a.png", "-o", out, "--factors", "2", *LINEAR
    )
    assert code == 0, err
    assert "note: alpha channel dropped" in stdout
    assert _sidecar(out)["notes"] == ["alpha channel dropped"]


def test_five_d_nifti_is_refused(tmp_path: Path, medsr_main) -> None:
    src = tmp_path / "five.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2, 3), np.float32), np.eye(4)), str(src))
    code, _, err = medsr_main(
        "upscale", src, "-o", tmp_path / "o.nii.gz", "--factors", "2", *LINEAR
    )
    _refused(code, err, "5 dimensions", "split the file")


def test_z_factor_for_a_2d_image_is_refused(tmp_path: Path, medsr_main) -> None:
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8)).save(tmp_path / "g.png")
    out = tmp_path / "g_sr.png"
    code, _, err = medsr_main(
        "upscale", tmp_path / "g.png", "-o", out, "--factors", "2,2,3", *LINEAR
    )
    _refused(code, err, "factor 3 along Z", "2-D image", "--factors 2,2")
    assert not out.exists()
    code, _, err = medsr_main("upscale", tmp_path / "g.png", "-o", out, "--factors", "2", *LINEAR)
    assert code == 0, err
    assert io.read(out).shape == (12, 16, 1)


# ------------------------------------------------------------------------- DICOM geometry
def _small_series(folder: Path, *, tilt_deg: float = 0.0, iop: list[float] | None = None) -> float:
    """Five 8x8 axial slices 3 mm apart along z; each slice shifted along y by 3 tan(tilt) mm."""
    folder.mkdir()
    template = pydicom.dcmread(min(sample_path("dicom").glob("*.dcm")))
    step = 3.0
    for k in range(5):
        ds = template.copy()
        ds.Rows = ds.Columns = 8
        ds.PixelData = (np.arange(64, dtype=np.uint16).reshape(8, 8) + 100 * k).tobytes()
        ds.ImageOrientationPatient = iop or [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, k * step * np.tan(np.radians(tilt_deg)), k * step]
        ds.PixelSpacing = [1.0, 1.0]
        ds.SliceThickness = step
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.InstanceNumber = k + 1
        ds.save_as(folder / f"s{k}.dcm")
    return step


def test_gantry_tilt_is_kept_as_sform_only_with_notes_and_true_spacing(
    tmp_path: Path, medsr_main
) -> None:
    step = _small_series(tmp_path / "tilted", tilt_deg=20.0)
    code, stdout, err = medsr_main("info", tmp_path / "tilted", "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["spacing_mm"][2] == pytest.approx(step, abs=1e-6)  # distance along the normal
    assert any("gantry tilt of 20.00 degrees" in n for n in info["notes"])

    out = tmp_path / "tilted_sr.nii.gz"
    code, stdout, err = medsr_main(
        "upscale", tmp_path / "tilted", "-o", out, "--factors", "1,1,2", *LINEAR
    )
    assert code == 0, err
    img = nib.load(str(out))
    h = img.header
    assert int(h["qform_code"]) == 0 and int(h["sform_code"]) > 0
    vol = io.read(tmp_path / "tilted")
    np.testing.assert_allclose(img.affine[:3, 2], vol.affine[:3, 2] / 2, atol=1e-5)  # sheared
    notes = _sidecar(out)["notes"]
    assert any("gantry tilt" in n for n in notes) and any("only the sform" in n for n in notes)
    assert "note: gantry tilt" in stdout and "only the sform" in stdout


def test_untilted_series_has_no_note_and_both_codes(tmp_path: Path, medsr_main) -> None:
    _small_series(tmp_path / "straight")
    out = tmp_path / "straight_sr.nii.gz"
    code, stdout, err = medsr_main(
        "upscale", tmp_path / "straight", "-o", out, "--factors", "1,1,2", *LINEAR
    )
    assert code == 0, err
    h = nib.load(str(out)).header
    assert (int(h["qform_code"]), int(h["sform_code"])) == (1, 1)
    assert _sidecar(out)["notes"] == [] and "note:" not in stdout


def test_non_perpendicular_orientation_is_refused(tmp_path: Path, medsr_main) -> None:
    _small_series(tmp_path / "skew", iop=[1, 0, 0, 0.2, 0.98, 0])
    code, _, err = medsr_main(
        "upscale", tmp_path / "skew", "-o", tmp_path / "o.nii.gz", "--factors", "1,1,2", *LINEAR
    )
    _refused(code, err, "not 90", "header is damaged")
    with pytest.raises(MedsrError, match="degrees apart"):
        io.read(tmp_path / "skew")
    assert not (tmp_path / "o.nii.gz").exists()
    shutil.rmtree(tmp_path / "skew")
