"""`medsr info`: human and JSON output, series listing, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from medsr import io
from medsr.cli import app
from medsr.data import sample_path
from medsr.errors import MedsrError
from medsr.volume import Volume

runner = CliRunner()


def _info_json(*args: str) -> dict:
    result = runner.invoke(app, ["info", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_describes_a_nifti_with_nan(phantom: Volume, tmp_path: Path) -> None:
    data = phantom.data[0].copy()
    data[0, 0, :3] = np.nan
    nib.Nifti1Image(data, phantom.affine).to_filename(str(tmp_path / "p.nii.gz"))
    info = _info_json(str(tmp_path / "p.nii.gz"))
    assert info["shape"] == [20, 16, 9] and info["channels"] == 1
    np.testing.assert_allclose(info["spacing_mm"], (0.9, 1.1, 2.5), atol=1e-5)
    np.testing.assert_allclose(info["affine"], phantom.affine, atol=1e-5)
    assert info["orientation"] == phantom.orientation()
    assert info["dtype"] == "float32" and info["format"] == "nifti"
    assert info["nan_count"] == 3 and info["inf_count"] == 0
    finite = data[np.isfinite(data)]
    assert info["min"] == pytest.approx(float(finite.min()))
    assert info["max"] == pytest.approx(float(finite.max()))
    assert info["mean"] == pytest.approx(float(finite.mean()), rel=1e-6)


def test_json_describes_the_dicom_sample() -> None:
    info = _info_json(str(sample_path("dicom")))
    assert info["shape"] == [512, 512, 6] and info["modality"] == "MR"
    assert info["dtype"] == "uint16" and info["orientation"] == "LPS"
    assert info["series"]["description"] == "t1_mpr_tra_gk_v4" and info["series"]["slices"] == 6
    np.testing.assert_allclose(info["spacing_mm"], (0.410156, 0.410156, 1.5), atol=1e-6)


def test_human_output_names_every_field(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((6, 8, 3), 200, np.uint8)).save(tmp_path / "rgb.png")
    result = runner.invoke(app, ["info", str(tmp_path / "rgb.png")])
    assert result.exit_code == 0, result.output
    for word in (
        "shape",
        "6 x 8 x 1",
        "3 channels",
        "spacing",
        "orientation",
        "dtype",
        "uint8",
        "natural",
        "min 200, max 200",
        "NaN / Inf",
        "0 / 0",
    ):
        assert word in result.stdout


def test_folder_with_several_series_is_listed(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    for k, f in enumerate(sorted(sample_path("dicom").glob("*.dcm"))[:4]):
        ds = pydicom.dcmread(f)
        if k >= 2:
            ds.SeriesInstanceUID = "1.2.3.4.5"
            ds.SeriesDescription = "other"
        ds.save_as(folder / f.name)
    listing = _info_json(str(folder))
    assert min((s["uid"], s["files"]) for s in listing["series"]) == ("1.2.3.4.5", 2)
    picked = _info_json(str(folder), "--series", "1.2.3.4.5")
    assert picked["shape"] == [512, 512, 2] and picked["series"]["description"] == "other"
    result = runner.invoke(app, ["info", str(folder)])
    assert result.exit_code == 0 and "1.2.3.4.5" in result.stdout and "--series" in result.stdout


def test_errors_raise_medsr_error_in_process(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", str(tmp_path / "missing.nii.gz")])
    assert isinstance(result.exception, MedsrError)


def test_real_exit_codes_and_one_line_errors(phantom: Volume, tmp_path: Path) -> None:
    """Through ``python -m medsr``: exit 2 and one line for a missing file; exit 0 with JSON."""
    io.write(phantom, tmp_path / "p.nrrd")
    medsr = [sys.executable, "-m", "medsr", "info"]
    bad = subprocess.run(
        [*medsr, str(tmp_path / "missing.nii.gz")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "missing.nii.gz does not exist" in lines[0]
        and "Traceback" not in bad.stderr
    )
    good = subprocess.run(
        [*medsr, str(tmp_path / "p.nrrd"), "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0 and json.loads(good.stdout)["shape"] == [20, 16, 9]


def test_info_says_what_upscale_does_by_default(phantom: Volume, tmp_path: Path) -> None:
    """``medsr info`` names the grid and method a bare ``medsr upscale`` would use: the same grid
    the upscale then writes; an isotropic scan and a picture get the reason there is none."""
    path = tmp_path / "p.nii.gz"
    nib.Nifti1Image(phantom.data[0], phantom.affine).to_filename(str(path))
    default = _info_json(str(path))["upscale_default"]
    assert default["method"] == "self"
    assert default["target"]["spacing_mm"] == pytest.approx([0.9, 0.9, 0.9], abs=1e-5)
    out = tmp_path / "up.nii.gz"
    result = runner.invoke(app, ["upscale", str(path), "-o", str(out), "--method", "bspline"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "up.nii.gz.json").read_text())["geometry"]["output"]
    assert written["shape"] == default["target"]["shape"]
    assert written["spacing"] == pytest.approx(default["target"]["spacing_mm"], abs=1e-5)
    human = runner.invoke(app, ["info", str(path)], env={"COLUMNS": "200"}).output
    assert "upscale default" in human and "self onto " + " x ".join(
        str(n) for n in default["target"]["shape"]
    ) in human

    iso = tmp_path / "iso.nii.gz"
    nib.Nifti1Image(phantom.data[0], np.diag([1.0, 1.0, 1.0, 1.0])).to_filename(str(iso))
    none = _info_json(str(iso))["upscale_default"]
    assert none["target"] is None and "--factors" in none["note"] and "unchanged" in none["note"]

    picture = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 9), np.uint8)).save(picture)
    assert "--factors" in _info_json(str(picture))["upscale_default"]["note"]
