"""The ``medsr`` commands on tiny data, in subprocesses: help, version, and one good run each.

Outputs are checked against what the library says they must be (grid from
:func:`medsr.volume.zoom_grid`, PSNR recomputed with numpy), stderr stays empty on success, and the
inputs are left untouched.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import medsr

HELP_OPTIONS = {
    "info": ["--json", "--series"],
    "degrade": [
        "--factors",
        "--method",
        "--profile",
        "--gap",
        "--noise",
        "--seed",
        "--dtype",
        "--series",
        "--overwrite",
    ],
    "metrics": ["--mask", "--data-range", "--protocol", "--scale", "--ignore-grid", "--json"],
    "upscale": [
        "--output",
        "--spacing",
        "--factors",
        "--method",
        "--model",
        "--weights",
        "--onnx",
        "--tile",
        "--device",
        "--dtype",
        "--overwrite",
        "--series",
        "--enforce-consistency",
    ],
    "export": ["--weights", "--output", "--format", "--opset", "--overwrite"],
    "models": ["--json", "--kind"],
    "train": [],  # owned by the training part: only checks that its help exists
    "demo": [],
}


def _options(text: str) -> set[str]:
    return set(re.findall(r"--[a-z][a-z-]*", text))


def test_version_and_root_help(cli) -> None:
    result = cli("--version")
    assert (result.code, result.stdout.strip(), result.stderr) == (
        0,
        f"medsr {medsr.__version__}",
        "",
    )
    result = cli("--help", columns=120)
    assert result.code == 0 and result.stderr == "", result.describe()
    for name in HELP_OPTIONS:
        assert re.search(rf"\b{name}\b", result.stdout), f"{name} missing from medsr --help"
    assert "--debug" in result.stdout and "--version" in result.stdout


@pytest.mark.parametrize("command", sorted(HELP_OPTIONS))
def test_command_help_explains_its_options(cli, command) -> None:
    result = cli(command, "--help", columns=120)
    assert result.code == 0 and result.stderr == "", result.describe()
    assert "Usage:" in result.stdout and "--help" in result.stdout
    missing = set(HELP_OPTIONS[command]) - _options(result.stdout)
    assert not missing, f"medsr {command} --help lacks {sorted(missing)}"
    # every option line carries an explanation, not just a name
    assert len(result.stdout.split()) > 25 + 4 * len(HELP_OPTIONS[command])


def test_info_json_on_nifti_dicom_and_nan(cli, cli_data, snapshot) -> None:
    before = snapshot(cli_data)
    result = cli("info", cli_data / "good.nii.gz", "--json")
    assert result.code == 0 and result.stderr == "", result.describe()
    info = json.loads(result.stdout)
    assert info["format"] == "nifti" and info["shape"] == [12, 10, 6] and info["channels"] == 1
    assert info["spacing_mm"] == [1.0, 1.0, 2.0] and info["nan_count"] == 0

    nan = json.loads(
        cli("info", cli_data / "nan.nii.gz", "--json").stdout
    )  # info reports, never refuses
    assert (nan["nan_count"], nan["inf_count"]) == (1, 0)

    second = (cli_data / "second_series_uid.txt").read_text()
    listing = json.loads(cli("info", cli_data / "dicom_two_series", "--json").stdout)
    assert len(listing["series"]) == 2 and second in {s["uid"] for s in listing["series"]}
    files = sorted((cli_data / "dicom_two_series").iterdir())
    picked = cli("info", cli_data / "dicom_two_series", "--series", second, "--json")
    assert picked.code == 0, picked.describe()
    assert json.loads(picked.stdout)["shape"][2] == len(files) // 2
    assert snapshot(cli_data) == before


def test_degrade_thick_slices_of_a_nifti(cli, cli_data, snapshot, tmp_path) -> None:
    import nibabel as nib

    before = snapshot(cli_data)
    out = tmp_path / "thick.nii.gz"
    result = cli(
        "degrade", cli_data / "good.nii.gz", out, "--factors", "1,1,2", "--method", "thick"
    )
    assert result.code == 0 and result.stderr == "", result.describe()
    img = nib.load(str(out))
    assert img.shape == (12, 10, 3)
    np.testing.assert_allclose(img.header.get_zooms(), (1.0, 1.0, 4.0))
    # same world centre: the centre voxel maps to the same point before and after
    src = nib.load(str(cli_data / "good.nii.gz"))

    def centre(im: nib.Nifti1Image) -> np.ndarray:
        return im.affine @ np.r_[(np.array(im.shape) - 1) / 2.0, 1.0]

    np.testing.assert_allclose(centre(img), centre(src), atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thick.nii.gz"]  # no temporary file left
    assert snapshot(cli_data) == before


def test_degrade_png_with_two_factors(cli, cli_data, tmp_path) -> None:
    from PIL import Image

    out = tmp_path / "lr.png"
    result = cli("degrade", cli_data / "picture.png", out, "--factors", "2,2")
    assert result.code == 0 and result.stderr == "", result.describe()
    with Image.open(out) as img:
        assert (img.size, img.mode) == ((15, 10), "L")  # 30 x 20 pixels halved


def test_metrics_json_matches_numpy(cli, cli_data) -> None:
    import nibabel as nib

    result = cli(
        "metrics",
        cli_data / "good.nii.gz",
        cli_data / "other.nii.gz",
        "--data-range",
        "100",
        "--json",
    )
    assert result.code == 0 and result.stderr == "", result.describe()
    got = json.loads(result.stdout)
    ref = np.asarray(nib.load(str(cli_data / "good.nii.gz")).dataobj, dtype=np.float64)
    test = np.asarray(nib.load(str(cli_data / "other.nii.gz")).dataobj, dtype=np.float64)
    mse = np.mean((ref - test) ** 2)
    assert got["psnr"] == pytest.approx(10 * np.log10(100.0**2 / mse), abs=1e-6)
    assert got["mae"] == pytest.approx(np.mean(np.abs(ref - test)), rel=1e-6)
    assert got["data_range"] == 100.0 and got["data_range_source"] == "given"


def test_upscale_bspline_nifti_lands_on_zoom_grid(cli, cli_data, snapshot, tmp_path) -> None:
    import nibabel as nib

    from medsr.volume import zoom_grid

    before = snapshot(cli_data)
    out = tmp_path / "sr.nii.gz"
    result = cli(
        "upscale", cli_data / "good.nii.gz", "-o", out, "--factors", "2", "--method", "bspline"
    )
    assert result.code == 0 and result.stderr == "", result.describe()
    assert len(result.stdout.splitlines()) == 1 and result.stdout.startswith(f"wrote {out}")
    src, img = nib.load(str(cli_data / "good.nii.gz")), nib.load(str(out))
    shape, affine = zoom_grid(src.shape, src.affine, (2.0, 2.0, 2.0))
    assert img.shape == tuple(shape) == (24, 20, 12)
    np.testing.assert_allclose(img.affine, affine, atol=1e-5)
    data = np.asarray(img.dataobj)
    assert np.isfinite(data).all() and abs(data.mean() - np.asarray(src.dataobj).mean()) < 5
    sidecar = json.loads((tmp_path / "sr.nii.gz.json").read_text())
    assert sidecar["method"] == "bspline"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sr.nii.gz", "sr.nii.gz.json"]
    assert snapshot(cli_data) == before


@pytest.mark.parametrize(("factors", "size"), [("2", (60, 40)), ("2,3", (90, 40))])
def test_upscale_png_gives_png_of_the_right_size(cli, cli_data, tmp_path, factors, size) -> None:
    from PIL import Image

    out = tmp_path / "sr.png"
    result = cli(
        "upscale", cli_data / "picture.png", "-o", out, "--factors", factors, "--method", "bspline"
    )
    assert result.code == 0 and result.stderr == "", result.describe()
    with Image.open(out) as img, Image.open(cli_data / "picture.png") as src:
        assert img.format == "PNG" and img.mode == src.mode == "L"
        assert img.size == size  # (width, height): the 30 x 20 picture zoomed
        assert abs(np.asarray(img, dtype=float).mean() - np.asarray(src, dtype=float).mean()) < 10


def test_models_json_lists_networks(cli) -> None:
    result = cli("models", "--kind", "discriminator", "--json")
    assert result.code == 0 and result.stderr == "", result.describe()
    rows = json.loads(result.stdout)
    assert rows and all(r["kind"] == "discriminator" for r in rows)
    assert all(isinstance(r["params_x2"], int) and r["params_x2"] > 0 for r in rows)


@pytest.mark.slow
def test_export_then_upscale_with_onnx(cli, cli_data, tmp_path) -> None:
    """Export the tiny ESPCN (x2, 2-D) and run it through onnxruntime on the PNG."""
    from PIL import Image

    onnx = tmp_path / "net.onnx"
    result = cli("export", "--weights", cli_data / "net" / "model.safetensors", "-o", onnx)
    assert result.code == 0 and result.stderr == "", result.describe()
    assert onnx.stat().st_size > 1000
    out = tmp_path / "sr.png"
    result = cli("upscale", cli_data / "picture.png", "-o", out, "--factors", "2", "--onnx", onnx)
    assert result.code == 0 and result.stderr == "", result.describe()
    with Image.open(out) as img:
        assert img.size == (60, 40)
