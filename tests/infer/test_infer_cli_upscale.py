"""`medsr upscale` end to end: files, sidecars, headers, errors, folders, real scans, DICOM."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from infer_helpers import crop, run, save_network, thick, write

from medsr.volume import Volume


@pytest.fixture
def weights3d(tmp_path: Path) -> Path:
    return save_network(tmp_path / "w3d", (1, 1, 4))


@pytest.fixture
def thick_file(t1_crop: Volume, tmp_path: Path) -> Path:
    return write(thick(t1_crop, 2, 4), tmp_path / "thick.nii.gz")


def _world(path: Path) -> np.ndarray:
    img = nib.load(str(path))
    n = np.asarray(img.shape[:3]) - 1
    corners = np.array([[i, j, k, 1] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])])
    return (corners @ img.affine.T)[:, :3]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_weights_end_to_end_keeps_grid_header_and_dtype(
    t1_crop, t1_path, thick_file, weights3d, tmp_path
) -> None:
    out = tmp_path / "sr.nii.gz"
    assert (
        run(
            [
                "upscale",
                thick_file,
                "-o",
                out,
                "--factors",
                "1,1,4",
                "--weights",
                weights3d,
                "--tile",
                "16",
                "--overlap",
                "8",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    reference = write(t1_crop, tmp_path / "hr.nii.gz")
    img, ref, src = nib.load(str(out)), nib.load(str(reference)), nib.load(str(thick_file))
    assert img.shape == ref.shape == (32, 32, 32)
    np.testing.assert_allclose(img.header.get_zooms(), ref.header.get_zooms(), atol=1e-5)
    assert np.max(np.abs(_world(out) - _world(reference))) < 1e-3
    assert img.get_data_dtype() == np.uint8 == src.get_data_dtype()
    for key in ("qform_code", "sform_code", "xyzt_units", "descrip", "intent_code"):
        assert img.header[key] == src.header[key], key
    sidecar = json.loads((tmp_path / "sr.nii.gz.json").read_text())
    assert sidecar["method"] == "network" and sidecar["model"]["architecture"] == "espcn"
    assert sidecar["geometry"]["output"]["shape"] == [32, 32, 32]
    assert sidecar["geometry"]["input"]["shape"] == [32, 32, 8]
    np.testing.assert_allclose(sidecar["geometry"]["output"]["affine"], img.affine, atol=1e-6)
    assert set(sidecar["consistency"]) >= {"psnr_db", "nrmse", "psnr_db_stored", "operator"}
    assert sidecar["memory"]["peak_rss_mib"] > 0
    assert set(sidecar["timings_s"]) >= {"read", "upscale", "consistency", "write", "total"}
    assert sidecar["clipped_voxels"] >= 0 and sidecar["dtype"] == "uint8"
    assert sidecar["tiling"]["windows"] == 9  # 3 x 3 x 1 windows of 16 with overlap 8
    assert _leftovers(tmp_path) == []


def test_errors_are_one_line_and_leave_no_file(thick_file, weights3d, tmp_path, capsys) -> None:
    out = tmp_path / "o.nii.gz"
    cases = [
        (
            ["upscale", tmp_path / "missing.nii.gz", "-o", out, "--factors", "1,1,4"],
            "does not exist",
        ),
        (
            ["upscale", thick_file, "-o", out, "--factors", "4", "--spacing", "1"],
            "only one of --spacing",
        ),
        (
            ["upscale", thick_file, "-o", out, "--factors", "1,0.5,1", "--method", "linear"],
            "not super-resolution",
        ),
        (
            ["upscale", thick_file, "-o", out, "--factors", "1,1,4", "--method", "magic"],
            "unknown method",
        ),
        (
            ["upscale", thick_file, "-o", out, "--factors", "1,1,2", "--weights", weights3d],
            "model scale mismatch",
        ),
    ]
    for args, message in cases:
        capsys.readouterr()
        assert run(args) == 2, args
        err = capsys.readouterr().err
        assert message in err.replace("\n", " "), (args, err)
        assert "Traceback" not in err
        assert not out.exists()
    weights3d.with_suffix(".json").unlink()
    assert (
        run(["upscale", thick_file, "-o", out, "--factors", "1,1,4", "--weights", weights3d]) == 2
    )
    assert "model.json" in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


def test_nan_input_is_refused(tmp_path, capsys) -> None:
    data = np.ones((8, 8, 4), np.float32)
    data[2, 2, 2] = np.nan
    nib.save(nib.Nifti1Image(data, np.diag([1, 1, 4, 1])), str(tmp_path / "nan.nii.gz"))
    assert (
        run(
            [
                "upscale",
                tmp_path / "nan.nii.gz",
                "-o",
                tmp_path / "o.nii.gz",
                "--factors",
                "1,1,4",
                "--method",
                "linear",
            ]
        )
        == 2
    )
    assert "NaN" in capsys.readouterr().err
    assert not (tmp_path / "o.nii.gz").exists()


def test_existing_output_needs_overwrite(thick_file, tmp_path, capsys) -> None:
    out = tmp_path / "o.nii.gz"
    args = ["upscale", thick_file, "-o", out, "--factors", "1,1,4", "--method", "linear"]
    assert run(args) == 0
    stamp = out.stat().st_mtime_ns
    assert run(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == stamp
    assert run(args + ["--overwrite"]) == 0
    assert out.stat().st_mtime_ns != stamp


def test_enforce_consistency_cli(thick_file, weights3d, tmp_path) -> None:
    base = [
        "upscale",
        thick_file,
        "--factors",
        "1,1,4",
        "--weights",
        weights3d,
        "--dtype",
        "float32",
    ]
    assert run(base + ["-o", tmp_path / "plain.nii.gz"]) == 0
    assert run(base + ["-o", tmp_path / "ibp.nii.gz", "--enforce-consistency"]) == 0
    plain = json.loads((tmp_path / "plain.nii.gz.json").read_text())["consistency"]["psnr_db"]
    forced = json.loads((tmp_path / "ibp.nii.gz.json").read_text())["consistency"]["psnr_db"]
    assert nib.load(str(tmp_path / "ibp.nii.gz")).get_data_dtype() == np.float32
    assert forced >= 40.0 and forced >= plain + 10.0


def test_folder_input_skip_overwrite_and_failures(t1_crop, tmp_path, capsys) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    dst.mkdir()
    for i, axis_start in enumerate((0, 8)):
        write(thick(crop(t1_crop, (axis_start, 0, 0), (24, 32, 32)), 2, 4), src / f"scan{i}.nii.gz")
    (src / "broken.nii.gz").write_bytes(b"not a nifti file at all")
    args = ["upscale", src, "-o", dst, "--factors", "1,1,4", "--method", "linear"]
    assert run(args) == 1  # one scan failed, the others went on
    err = capsys.readouterr()
    assert "broken.nii.gz" in err.out + err.err
    assert sorted(p.name for p in dst.iterdir()) == [
        "cohort.csv",  # the cohort report (medsr.infer.cohort)
        "scan0.nii.gz",
        "scan0.nii.gz.json",
        "scan1.nii.gz",
        "scan1.nii.gz.json",
    ]
    stamp = (dst / "scan0.nii.gz").stat().st_mtime_ns
    (src / "broken.nii.gz").unlink()
    assert run(args) == 0
    assert "skipped" in capsys.readouterr().out
    assert (dst / "scan0.nii.gz").stat().st_mtime_ns == stamp
    assert run(args + ["--overwrite"]) == 0
    assert (dst / "scan0.nii.gz").stat().st_mtime_ns != stamp
    # a glob selects the same scans
    assert (
        run(
            [
                "upscale",
                str(src / "scan*.nii.gz"),
                "-o",
                dst,
                "--factors",
                "1,1,4",
                "--method",
                "linear",
            ]
        )
        == 0
    )
    assert "skipped" in capsys.readouterr().out


def _sitk_affine(path: Path) -> np.ndarray:
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    affine = np.eye(4)
    affine[:3, :3] = np.array(image.GetDirection()).reshape(3, 3) * np.array(image.GetSpacing())
    affine[:3, 3] = image.GetOrigin()
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine  # LPS -> RAS


@pytest.mark.parametrize("method", ["linear", "network"])
@pytest.mark.parametrize("name", ["chris_PD", "CT_pitch"])
def test_real_thick_slice_scans(shared_data, name, method, tmp_path) -> None:
    """Real anisotropic (and, for CT_pitch, tilted) acquisitions: crop in-plane, x2
    through-plane."""
    from medsr.io import read

    path = shared_data / "medical" / f"{name}.nii.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    vol = read(path)
    small = write(
        crop(vol, (vol.shape[0] // 2 - 20, vol.shape[1] // 2 - 20, 0), (40, 40, vol.shape[2])),
        tmp_path / f"{name}.nii.gz",
    )
    spacing = vol.spacing
    out = tmp_path / f"{name}_sr.nii.gz"
    how = (
        ["--method", "linear"]
        if method == "linear"
        else ["--weights", save_network(tmp_path / "w", (1, 1, 2))]
    )
    assert (
        run(
            [
                "upscale",
                small,
                "-o",
                out,
                "--spacing",
                f"{spacing[0]:.7f},{spacing[1]:.7f},{spacing[2] / 2:.4f}",
            ]
            + how
        )
        == 0
    )
    img = nib.load(str(out))
    assert img.shape == (40, 40, 2 * vol.shape[2])
    np.testing.assert_allclose(_sitk_affine(out), img.affine, atol=1e-4)
    np.testing.assert_allclose(
        img.header.get_zooms(), [spacing[0], spacing[1], spacing[2] / 2], rtol=1e-5
    )
    centre_in = nib.load(str(small)).affine @ np.append(
        (np.array([40, 40, vol.shape[2]]) - 1) / 2, 1
    )
    centre_out = img.affine @ np.append((np.array(img.shape) - 1) / 2, 1)
    np.testing.assert_allclose(centre_out, centre_in, atol=1e-3)  # same field of view
    sidecar = json.loads(Path(str(out) + ".json").read_text())
    assert sidecar["method"] == ("linear" if method == "linear" else "network")
    if method == "linear":
        assert sidecar["consistency"]["psnr_db"] > 25


def test_dicom_series_to_nifti(shared_data, tmp_path) -> None:
    folder = shared_data / "medical" / "mr_t1_series_dicom"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    out = tmp_path / "dicom_sr.nii.gz"
    assert run(["upscale", folder, "-o", out, "--factors", "1,1,2", "--method", "linear"]) == 0
    img = nib.load(str(out))
    assert img.shape == (512, 512, 48)
    np.testing.assert_allclose(_sitk_affine(out), img.affine, atol=1e-4)
    np.testing.assert_allclose(img.header.get_zooms(), [0.41015625, 0.41015625, 0.75], rtol=1e-5)
    sidecar = json.loads(Path(str(out) + ".json").read_text())
    assert sidecar["geometry"]["input"]["shape"] == [512, 512, 24]
    assert sidecar["dtype"] == str(img.get_data_dtype())


def test_default_method_is_reported(thick_file, tmp_path, capsys) -> None:
    from medsr.infer.methods import default_method

    out = tmp_path / "default.nii.gz"
    expected = default_method()
    extra = ["--option", "iterations=2"] if expected == "self" else []
    assert run(["upscale", thick_file, "-o", out, "--factors", "1,1,4"] + extra) == 0
    assert f"method: {expected} (default)" in capsys.readouterr().err
    assert json.loads(Path(str(out) + ".json").read_text())["method"] == expected


def test_ensemble_model_name_and_series_options(
    thick_file, weights3d, tmp_path, capsys, shared_data
) -> None:
    base = ["upscale", thick_file, "--factors", "1,1,4", "--dtype", "float32"]
    assert (
        run(base + ["-o", tmp_path / "a.nii.gz", "--weights", weights3d, "--model", "espcn"]) == 0
    )
    assert run(base + ["-o", tmp_path / "b.nii.gz", "--weights", weights3d, "--ensemble"]) == 0
    a = np.asarray(nib.load(str(tmp_path / "a.nii.gz")).dataobj)
    b = np.asarray(nib.load(str(tmp_path / "b.nii.gz")).dataobj)
    assert a.shape == b.shape and not np.allclose(a, b)  # 16 flipped/transposed views averaged
    assert json.loads((tmp_path / "b.nii.gz.json").read_text())["model"]["ensemble"] is True
    capsys.readouterr()
    assert run(base + ["-o", tmp_path / "c.nii.gz", "--weights", weights3d, "--model", "edsr"]) == 2
    assert "does not match" in capsys.readouterr().err
    assert run(base + ["-o", tmp_path / "c.nii.gz", "--method", "linear", "--ensemble"]) == 2
    assert (
        run(base + ["-o", tmp_path / "c.nii.gz", "--method", "linear", "--weights", weights3d]) == 2
    )
    assert "only one of" in capsys.readouterr().err
    folder = shared_data / "medical" / "mr_t1_series_dicom"
    if folder.is_dir():
        assert (
            run(
                [
                    "upscale",
                    folder,
                    "-o",
                    tmp_path / "d.nii.gz",
                    "--factors",
                    "1,1,2",
                    "--method",
                    "linear",
                    "--series",
                    "1.2.3.4.does.not.exist",
                ]
            )
            == 2
        )
        assert not (tmp_path / "d.nii.gz").exists()


def test_clipping_note_says_which_end_of_the_dtype_was_cut(tmp_path: Path, capsys) -> None:
    """A uint8 step from 0 to 255 up-scaled with Lanczos rings past both ends: the result is
    clipped into uint8, and the note (stdout and sidecar) gives the count and the result's own
    span, below 0 and above 255, so the user sees what was cut before choosing float32."""
    data = np.zeros((12, 12, 6), np.uint8)
    data[6:] = 255
    src = tmp_path / "step.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), str(src))
    out = tmp_path / "sr.nii.gz"
    assert run(["upscale", src, "-o", out, "--factors", "2,1,1", "--method", "lanczos"]) == 0
    sidecar = json.loads((tmp_path / "sr.nii.gz.json").read_text())
    assert sidecar["dtype"] == "uint8" and sidecar["clipped_voxels"] > 0
    note = next(n for n in sidecar["notes"] if "were clipped" in n)
    low, high = (float(v) for v in note.split("the result spans ")[1].split(")")[0].split(" to "))
    assert low < 0 and high > 255, note
    assert note.startswith(f"{sidecar['clipped_voxels']} voxels") and "--dtype float32" in note
    assert "the result spans" in capsys.readouterr().out
