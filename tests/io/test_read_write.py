"""read()/write() dispatch and the user rules: errors, overwrite, atomicity, untouched inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medsr import io
from medsr.errors import MedsrError
from medsr.io.storage import check_dtype, physical_dtype, to_storage
from medsr.volume import Volume


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(MedsrError, match="does not exist; check the path"):
        io.read(tmp_path / "nope.nii.gz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(MedsrError, match="unknown file type 'notes.txt'"):
        io.read(tmp_path / "notes.txt")


@pytest.mark.parametrize(
    "name", ["bad.nii.gz", "bad.nii", "bad.nrrd", "bad.mha", "bad.png", "bad.tif", "bad.jpg"]
)
def test_corrupt_files_give_one_line_errors(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"this is not an image at all" * 20)
    with pytest.raises(MedsrError) as err:
        io.read(tmp_path / name)
    assert name in str(err.value) and "\n" not in str(err.value)


def test_truncated_nifti_is_reported(phantom: Volume, tmp_path: Path) -> None:
    io.write(phantom, tmp_path / "p.nii.gz")
    blob = (tmp_path / "p.nii.gz").read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(MedsrError, match="cut.nii.gz"):
        io.read(tmp_path / "cut.nii.gz")
    (tmp_path / "empty.nii").write_bytes(b"")
    with pytest.raises(MedsrError, match="empty"):
        io.read(tmp_path / "empty.nii")


def test_extensionless_dicom_file_is_recognised(tmp_path: Path) -> None:
    from medsr.data import sample_path

    src = min(sample_path("dicom").glob("*.dcm"))
    (tmp_path / "IM0001").write_bytes(src.read_bytes())
    assert io.read(tmp_path / "IM0001").shape == (512, 512, 1)


def test_refuses_to_overwrite_unless_asked(phantom: Volume, tmp_path: Path) -> None:
    out = tmp_path / "p.nii.gz"
    io.write(phantom, out)
    before = _digest(out)
    with pytest.raises(MedsrError, match="already exists; pass overwrite or"):
        io.write(phantom.with_data(phantom.data + 1), out)
    assert _digest(out) == before
    io.write(phantom.with_data(phantom.data + 1), out, overwrite=True)
    np.testing.assert_allclose(io.read(out).data, phantom.data + 1)


def test_input_is_never_touched(phantom: Volume, tmp_path: Path) -> None:
    src = tmp_path / "in.nii.gz"
    io.write(phantom, src)
    digest, mtime = _digest(src), src.stat().st_mtime_ns
    vol = io.read(src)
    io.write(vol, tmp_path / "out.nrrd")
    io.write(vol, tmp_path / "out.nii")
    with pytest.raises(MedsrError, match="refusing to overwrite the input"):
        io.write(vol, src, overwrite=True)
    assert _digest(src) == digest and src.stat().st_mtime_ns == mtime


def test_failed_write_leaves_no_file(
    phantom: Volume, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import medsr.io.nifti as nifti_module

    def half_then_crash(volume: Volume, path: Path, dtype: str) -> tuple[str, int]:
        path.write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(nifti_module, "write_nifti", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        io.write(phantom, tmp_path / "p.nii.gz")
    assert list(tmp_path.iterdir()) == []


def test_nan_cannot_be_written_but_can_be_read(phantom: Volume, tmp_path: Path) -> None:
    data = phantom.data.copy()
    data[0, 1, 2, 3] = np.nan
    data[0, 2, 2, 3] = np.inf
    with pytest.raises(MedsrError, match="2 NaN/Inf voxels"):
        io.write(phantom.with_data(data), tmp_path / "nan.nii.gz")
    assert list(tmp_path.iterdir()) == []
    nib.Nifti1Image(data[0], phantom.affine).to_filename(str(tmp_path / "nan.nii.gz"))
    vol = io.read(tmp_path / "nan.nii.gz")
    assert int(np.isnan(vol.data).sum()) == 1
    with pytest.raises(MedsrError):
        vol.check_finite()


def test_write_errors_for_bad_names(phantom: Volume, tmp_path: Path) -> None:
    with pytest.raises(MedsrError, match="end the name with one of"):
        io.write(phantom, tmp_path / "out.xyz")
    with pytest.raises(MedsrError, match="DICOM as a series folder \\(format dicom"):
        io.write(phantom, tmp_path / "out.dcm")
    with pytest.raises(MedsrError, match="does not exist"):
        io.write(phantom, tmp_path / "missing" / "out.nii.gz")
    with pytest.raises(MedsrError, match="is a folder"):
        io.write(phantom, tmp_path)
    with pytest.raises(MedsrError, match="unsupported output dtype"):
        io.write(phantom, tmp_path / "o.nii.gz", dtype="complex64")
    io.write(phantom, tmp_path / "p.nii.gz")
    with pytest.raises(MedsrError, match="only applies to DICOM"):
        io.read(tmp_path / "p.nii.gz", series="1.2.3")


def test_dtype_override_and_default(phantom: Volume, tmp_path: Path) -> None:
    meta = phantom.meta.copy(dtype="int16")
    vol = Volume(phantom.data, phantom.affine, meta)
    assert io.write(vol, tmp_path / "a.nii.gz").dtype == "int16"
    assert nib.load(str(tmp_path / "a.nii.gz")).get_data_dtype() == np.int16
    assert io.write(vol, tmp_path / "b.nii.gz", dtype="float").dtype == "float32"
    assert io.write(vol, tmp_path / "c.mha", dtype="uint8").clipped == int(
        (np.rint(vol.data) > 255).sum()
    )


def test_storage_helpers() -> None:
    assert check_dtype(np.int16) == "int16" and check_dtype("double") == "float64"
    stored, clipped = to_storage(np.array([-0.5, 0.5, 1.5, 2.5, 70000.0]), "uint16")
    np.testing.assert_array_equal(stored, [0, 0, 2, 2, 65535])  # round half to even, clip top
    assert clipped == 1 and stored.dtype == np.uint16
    stored, _ = to_storage(np.array([-1024.0, 0.0, 1000.0]), "uint16", 1.0, -1024.0)
    np.testing.assert_array_equal(stored, [0, 1024, 2024])
    hu = np.array([-1024.0, 3000.0])
    assert physical_dtype("uint16", 1.0, -1024.0, hu) == "int16"
    assert physical_dtype("uint16", 1.0, -1024.0, hu * 20) == "int32"
    assert physical_dtype("int16", 0.25, 0.0, hu) == "float32"
    assert physical_dtype("uint8", 1.0, 0.0, hu) == "uint8"


def test_float64_input_says_it_is_processed_in_float32(tmp_path) -> None:
    data = np.linspace(0, 1, 48, dtype=np.float64).reshape(4, 4, 3) + 1e-9
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "f64.nii.gz")
    volume = io.read(tmp_path / "f64.nii.gz")
    assert volume.meta.dtype == "float64"
    assert any("processed as float32" in note for note in volume.meta.notes)
