"""`medsr demo` with a tiny budget on a small crop of the built-in brain: files, figure, table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medsr.io import read, write
from medsr.volume import Volume, crop_affine


@pytest.fixture
def crop(tmp_path: Path) -> Path:
    import medsr.data

    brain = medsr.data.sample("brain")
    start = (44, 52, 56)
    data = brain.data[:, 44:92, 52:108, 56:96]
    path = tmp_path / "crop.nii.gz"
    write(
        Volume(np.ascontiguousarray(data), crop_affine(brain.affine, start), brain.meta.copy()),
        path,
    )
    return path


def test_demo_writes_volumes_figure_and_table(tmp_path: Path, crop: Path, medsr_main) -> None:
    out = tmp_path / "demo"
    code, printed, _ = medsr_main(
        "demo", "--input", str(crop), "--out", str(out), "--budget", "60it", "--threads", "1"
    )
    assert code == 0
    assert "demo.png" in printed and "metrics.md" in printed
    for name in ("lr", "truth", "bspline", "selfsr"):
        assert (out / f"{name}.nii.gz").is_file()
    truth, sr, lr = read(out / "truth.nii.gz"), read(out / "selfsr.nii.gz"), read(out / "lr.nii.gz")
    assert sr.shape == truth.shape == (48, 56, 40) and lr.shape == (48, 56, 10)
    np.testing.assert_allclose(sr.affine, truth.affine, atol=1e-5)
    png = (out / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert set(metrics) == {"nearest", "linear", "cubic", "bspline", "self"}
    for m in metrics.values():
        assert 10 < m["psnr"] < 60 and 0 < m["ssim"] <= 1
    assert metrics["nearest"]["psnr"] < metrics["bspline"]["psnr"]
    table = (out / "metrics.md").read_text()
    assert "| cubic B-spline |" in table and "self-SR" in table
    # running again replaces the outputs (the demo folder is the demo's own)
    again = medsr_main(
        "demo", "--input", str(crop), "--out", str(out), "--budget", "5it", "--threads", "1"
    )
    assert again[0] == 0


def test_demo_rejects_bad_options(tmp_path: Path, crop: Path, medsr_main) -> None:
    code, _, err = medsr_main(
        "demo", "--input", str(crop), "--out", str(tmp_path / "x"), "--axis", "w"
    )
    assert code == 2 and "--axis" in err
    code, _, _ = medsr_main(
        "demo", "--input", str(crop), "--out", str(tmp_path / "x"), "--budget", "soon"
    )
    assert code == 2


def test_demo_of_the_built_in_brain_starts_cold() -> None:
    """The shipped self-SR prior saw the built-in brain in pre-training: the demo scored on that
    brain must not use it; a user's scan gets the default (warm start)."""
    from medsr.cli.demo import self_options
    from medsr.infer.selfsupervised import _SELF_KEYS

    assert "init" in _SELF_KEYS
    assert self_options(None, 1, "60it") == {"threads": 1, "budget": "60it", "init": "none"}
    assert "init" not in self_options(Path("scan.nii.gz"), None, None)
