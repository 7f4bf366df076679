"""`medsr degrade` end to end: a subprocess run, bad factors (exit 2, one line, no file), seeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from degrade_helpers import tilted_affine

from medsr.cli import main


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    """A small int16 MR-like NIfTI on a tilted grid."""
    rng = np.random.default_rng(0)
    g = np.meshgrid(*[np.linspace(-1, 1, n) for n in (20, 18, 24)], indexing="ij")
    data = 800 * (sum(x**2 for x in g) < 0.8) + 200 * g[2] + rng.normal(0, 10, g[0].shape)
    path = tmp_path / "hr.nii.gz"
    nib.save(nib.Nifti1Image(np.round(data).astype(np.int16), tilted_affine()), path)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medsr", "degrade", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_subprocess_thick_slices_and_bad_factors(scan, tmp_path):
    out = tmp_path / "lr.nii.gz"
    res = run_cli(
        str(scan),
        str(out),
        "--factors",
        "1,1,4",
        "--method",
        "thick",
        "--profile",
        "rect",
        "--gap",
        "1",
    )
    assert res.returncode == 0, res.stderr
    hr, lr = nib.load(scan), nib.load(out)
    assert lr.shape == (20, 18, 6)
    assert lr.get_data_dtype() == np.int16
    np.testing.assert_allclose(
        lr.header.get_zooms(), np.array(hr.header.get_zooms()) * [1, 1, 4], rtol=1e-5
    )
    centre = lambda img: img.affine @ np.append((np.array(img.shape) - 1) / 2, 1)  # noqa: E731
    np.testing.assert_allclose(centre(lr), centre(hr), atol=1e-4)
    assert "20 x 18 x 6" in res.stdout

    bad = tmp_path / "bad.nii.gz"
    res = run_cli(str(scan), str(bad), "--factors", "1,1,0", "--method", "bd")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "factors" in res.stderr
    assert "Traceback" not in res.stderr
    assert not bad.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "hr.nii.gz",
        "lr.nii.gz",
    ]


def run_main(*args: str) -> int:
    try:
        main(["degrade", *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_seeded_noise_is_reproducible_and_overwrite_is_required(scan, tmp_path):
    a, b, c = (tmp_path / f"{n}.nii.gz" for n in "abc")
    common = [
        "--factors",
        "2,2,1",
        "--method",
        "kspace:window=hamming",
        "--noise",
        "rician:0.02",
        "--dtype",
        "float32",
    ]
    assert run_main(str(scan), str(a), *common, "--seed", "5") == 0
    assert run_main(str(scan), str(b), *common, "--seed", "5") == 0
    assert run_main(str(scan), str(c), *common, "--seed", "6") == 0
    da, db, dc = (nib.load(p).get_fdata() for p in (a, b, c))
    assert da.shape == (10, 9, 24) and nib.load(a).get_data_dtype() == np.float32
    np.testing.assert_array_equal(da, db)
    assert not np.array_equal(da, dc)
    before = a.stat().st_mtime_ns
    assert run_main(str(scan), str(a), *common) == 2  # exists, no --overwrite
    assert a.stat().st_mtime_ns == before
    assert run_main(str(scan), str(a), *common, "--overwrite") == 0


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["--factors", "1,1,4", "--method", "bicubic", "--profile", "rect"],
            "only apply to --method thick",
        ),
        (["--factors", "1,1,400", "--method", "thick"], "larger than the axis"),
        (["--factors", "2", "--method", "bd", "--noise", "speckle:0.1"], "unknown degradation"),
    ],
)
def test_option_errors(scan, tmp_path, capsys, args, message):
    out = tmp_path / "x.nii.gz"
    assert run_main(str(scan), str(out), *args) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert not out.exists()
