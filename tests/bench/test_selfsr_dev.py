"""The development cases of self-SR (``medsr.bench.selfsr_dev``) on the real chris_t1 scan: the
geometry copies the held-out scans' (thick along z and x), the windows are distinct, and the truth
is the z-thick volume on the grid the LR maps back onto."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.bench.selfsr_dev import DEV_CASES, DevCase, dev_case, read_t1
from medsr.errors import MedsrError
from medsr.normalise import robust_range
from medsr.volume import Volume, spacing_of


@pytest.fixture(scope="module")
def t1(shared_data: Path) -> Volume:
    return read_t1(shared_data / "medical")


def test_the_cases_copy_the_held_out_geometry(t1: Volume) -> None:
    cases = {c.name: dev_case(t1, c) for c in DEV_CASES}
    whole = cases["t1-aniso"]
    assert whole.truth.shape == (188, 256, 63) and whole.lr.shape == (47, 256, 63)
    sx, sy, sz = spacing_of(whole.lr.affine)
    assert sx == pytest.approx(4 * sy) and sz == pytest.approx(3 * sy)  # thick along x and z
    windows = [cases[n].truth for n in ("t1-aniso-24b", "t1-aniso-24", "t1-aniso-24c")]
    assert all(w.shape == (188, 256, 24) for w in windows)
    # the windows are the whole volume's slices 3, 19 and 35 onwards, with their own affines
    full = np.asarray(whole.truth.data)
    for w, start in zip(windows, (3, 19, 35), strict=True):
        np.testing.assert_array_equal(np.asarray(w.data), full[..., start : start + 24])
        corner = whole.truth.affine @ np.array([0, 0, start, 1.0])
        np.testing.assert_allclose(w.affine[:, 3], corner, atol=1e-6)
    fine = cases["t1-fine-24"]  # x1.5 in-plane pixels, then x2.5 slices: z / y = 3.75
    assert fine.truth.shape == (280, 384, 24) and fine.lr.shape == (70, 384, 24)
    fx, fy, fz = spacing_of(fine.lr.affine)
    assert fy == pytest.approx(sy / 1.5) and fz == pytest.approx(3.75 * fy)
    assert fx == pytest.approx(4 * fy)
    assert all(c.mask.any() for c in cases.values())
    # remap-24: t1-aniso-24's grid in another contrast, CSF (dark in T1) now above white matter
    t1w, other = cases["t1-aniso-24"].truth, cases["remap-24"].truth
    assert other.shape == t1w.shape and np.allclose(other.affine, t1w.affine)
    low, span = robust_range(np.asarray(t1w.data))  # the units of the lookup table
    u = (np.asarray(t1w.data) - low) / span
    remapped = np.asarray(other.data)
    csf, white = (u > 0.12) & (u < 0.28), (u > 0.68) & (u < 0.78)
    assert remapped[csf].mean() > 1.05 * remapped[white].mean()  # the order is inverted
    assert np.asarray(t1w.data)[csf].mean() < 0.5 * np.asarray(t1w.data)[white].mean()
    # rect-24: the same grid, slices along z of another profile (a box: sharper than the Gaussian)
    box = cases["rect-24"].truth
    assert box.shape == t1w.shape and np.allclose(box.affine, t1w.affine)
    edges = [np.abs(np.diff(np.asarray(v.data), axis=3)).mean() for v in (t1w, box)]
    assert edges[1] > 1.05 * edges[0]
    # noisy-24: the same grid, Rician noise added to chris_t1 first (the air is no longer empty)
    noisy = cases["noisy-24"].truth
    assert noisy.shape == t1w.shape and np.allclose(noisy.affine, t1w.affine)
    air = np.asarray(t1w.data) == 0
    assert air.sum() > 1000 and np.asarray(noisy.data)[air].mean() > 0.01 * span
    # kspace-24: the same grid, the top third of the in-plane k-space gone (zero-filled)
    kspace = cases["kspace-24"].truth
    assert kspace.shape == t1w.shape and np.allclose(kspace.affine, t1w.affine)

    def top_power(v):  # power above 0.75 of the Nyquist frequency along y
        power = np.abs(np.fft.rfft(np.asarray(v.data)[0], axis=1)) ** 2
        return power[:, int(0.75 * power.shape[1]) :].mean()

    assert top_power(kspace) < 0.1 * top_power(t1w)


def test_the_scanner_cases_copy_the_dicom_acquisition(t1: Volume) -> None:
    from medsr.bench.selfsr_dev import SCANNER_NOISE, scanner_volume

    cases = {c.name: dev_case(t1, c) for c in DEV_CASES if c.name.startswith("scanner")}
    assert len(cases) == 3
    for made in cases.values():
        assert made.truth.shape == (376, 512, 24) and made.lr.shape == (94, 512, 24)
        sx, sy, sz = spacing_of(made.truth.affine)
        # chris_t1's 0.88 mm on a x2 interpolated matrix; partitions 4 pixels thick, as 1.5 / 0.41
        assert sx == pytest.approx(0.44, abs=0.01) and sz == pytest.approx(4 * sy)
    truth = np.asarray(cases["scanner-24"].truth.data)[0]
    # noise in the truth at the series' level: Rayleigh sigma in the air / robust range ~ 0.026
    air = truth[:30, :30, :]
    sigma = np.sqrt((air.astype(np.float64) ** 2).mean() / 2)
    assert 0.02 < sigma / robust_range(truth)[1] < 0.032
    # the interpolated matrix: nothing above the acquired half of the in-plane k-space but the
    # magnitude's own spread
    clean = scanner_volume(t1, 2.0, 0.0, 2)
    power = np.abs(np.fft.rfft(np.asarray(clean.data)[0], axis=1)) ** 2
    half = power.shape[1] // 2
    assert power[:, half + 8 :].mean() < 1e-3 * power[:, 1:half].mean()
    # seeded: the same noise each time, and none when asked for none
    first, again = (scanner_volume(t1, 2.0, SCANNER_NOISE, 2) for _ in range(2))
    assert np.array_equal(np.asarray(first.data), np.asarray(again.data))
    assert np.asarray(clean.data)[0, :30, :30].max() < 0.05 * sigma


def test_a_window_outside_the_volume_is_refused(t1: Volume) -> None:
    with pytest.raises(MedsrError, match="outside"):
        dev_case(t1, DevCase("too-far", 40))


def test_the_dev_record_and_the_script(shared_data: Path, tmp_path: Path, capsys) -> None:
    import importlib.util
    import json

    from medsr.bench.selfsr_dev import run_dev

    fast = {"iterations": 20, "patch": 24, "batch": 4, "members": 1}
    (case,) = [c for c in DEV_CASES if c.name == "t1-aniso-24b"]
    record = run_dev(shared_data / "medical", cases=(case,), extra=fast)
    (row,) = record["cases"]
    assert row["case"] == "t1-aniso-24b" and row["lr_shape"] == [47, 256, 24]
    assert row["gain_db"] == pytest.approx(row["self_psnr"] - row["bspline_psnr"], abs=2e-3)
    assert record["mean_gain_db"] == row["gain_db"] and row["iterations"] == 20
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "selfsr_heldout.py"
    spec = importlib.util.spec_from_file_location("selfsr_heldout_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # held-out names are not development cases, and the other way round
    assert module.main(["--dev", "--scans", "chris_PD"]) == 2
    assert module.main(["--scans", "t1-aniso-24"]) == 2
    assert "unknown scan" in capsys.readouterr().err
    out = tmp_path / "dev.json"
    options = [f"--option={k}={v}" for k, v in fast.items()]
    figures = tmp_path / "figures"
    code = module.main(
        ["--dev", "--data", str(shared_data / "medical"), "--scans", "t1-aniso-24b",
         *options, "--json", str(out), "--figures", str(figures)]
    )
    assert code == 0 and json.loads(out.read_text())["cases"][0]["self_psnr"] == row["self_psnr"]
    # the result drawn: input, B-spline, self-SR, truth and two error maps, in the orientations
    # that show the restoration
    from PIL import Image

    with Image.open(figures / "t1-aniso-24b.png") as im:
        assert im.format == "PNG" and im.size[0] > 1.5 * im.size[1]
        assert np.asarray(im.convert("L")).std() > 20


def test_the_figure_of_the_cases(shared_data: Path, tmp_path: Path, capsys) -> None:
    import importlib.util

    from PIL import Image

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "selfsr_heldout.py"
    spec = importlib.util.spec_from_file_location("selfsr_heldout_script_fig", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "cases.png"
    assert module.main(["--figure", str(out)]) == 2 and not out.exists()  # needs --dev
    assert "add --dev" in capsys.readouterr().err
    data = ["--data", str(shared_data / "medical")]
    two = ["--scans", "t1-aniso-24", "remap-24"]
    assert module.main(["--dev", *data, *two, "--figure", str(out)]) == 0
    with Image.open(out) as im:  # two columns of two planes
        assert im.format == "PNG" and min(im.size) > 300
        pixels = np.asarray(im.convert("L"))
    assert pixels.std() > 20  # the scans are drawn, not a blank canvas
