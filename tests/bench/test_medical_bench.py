"""The medical comparison (simulated thick slices with truth, real thick-slice scans) runs end to
end and its numbers are sane; its pieces (crop, units check, scoring) behave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medsr.bench.medical import (
    INTERPOLATIONS,
    BenchSettings,
    centre_crop,
    run_medical_benchmark,
    simulated_comparison,
    units_check,
)
from medsr.bench.report import markdown_report
from medsr.bench.selfsr import head_centre
from medsr.bench.supervised import SUPERVISED
from medsr.errors import MedsrError
from medsr.infer.pipeline import resolve_target
from medsr.volume import Volume

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "medical"
needs_data = pytest.mark.skipif(
    not all(
        (DATA / f).is_file() for f in ("chris_t1.nii.gz", "chris_PD.nii.gz", "CT_pitch.nii.gz")
    ),
    reason=f"medical benchmark scans not found in {DATA}",
)


def _brain_crop(shape: tuple[int, int, int] = (40, 48, 40)) -> Volume:
    from medsr.data import sample

    brain = sample("brain")
    return centre_crop(brain, shape)


def test_centre_crop_keeps_world_positions() -> None:
    brain = _brain_crop((60, 60, 60))
    crop = centre_crop(brain, (20, 30, 10), centre=(5, 30, 58))  # clamped at both ends
    assert crop.shape == (20, 30, 10)
    start = (0, 15, 50)
    np.testing.assert_array_equal(crop.data[0], brain.data[0, 0:20, 15:45, 50:60])
    world_crop = crop.affine @ np.array([0, 0, 0, 1.0])
    world_full = brain.affine @ np.array([*start, 1.0])
    np.testing.assert_allclose(world_crop, world_full)
    with pytest.raises(MedsrError):
        centre_crop(brain, (0, 5, 5))


def test_simulated_interpolations_rank_as_expected() -> None:
    truth = _brain_crop()
    settings = BenchSettings(methods=INTERPOLATIONS, factors=(4,))
    rows = simulated_comparison(truth, 4, settings)
    by = {r.method: r for r in rows}
    assert list(by) == list(INTERPOLATIONS)
    for r in rows:
        assert r.case == "x4" and 10 < r.psnr < 60 and 0 < r.ssim <= 1 and 0 < r.nrmse < 1
        assert np.isfinite(r.consistency_psnr) and r.seconds >= 0
    # smooth kernels beat pixel replication on a brain; consistency of nearest is not perfect (the
    # Gaussian slice profile spreads over neighbouring slices)
    assert by["bspline"].psnr > by["nearest"].psnr + 0.3
    assert by["cubic"].ssim > by["nearest"].ssim
    with pytest.raises(MedsrError, match="trained network"):
        simulated_comparison(truth, 4, BenchSettings(methods=(SUPERVISED,)))


def _hu_phantom() -> Volume:
    """A CT-like head in HU: air, soft tissue (40), a bone shell (1000), thick slices along z,
    blurred by a scanner-like point-spread function (real scans are band-limited)."""
    from scipy import ndimage

    x, y, z = np.meshgrid(np.arange(40), np.arange(40), np.arange(16), indexing="ij")
    r = np.sqrt((x - 19.5) ** 2 + (y - 19.5) ** 2 + ((z - 7.5) * 2.2) ** 2)
    data = np.full(r.shape, -1000.0, np.float32)
    data[r < 16] = 1000.0
    data[r < 12] = 40.0
    data = ndimage.gaussian_filter(data, (1.0, 1.0, 0.6), mode="nearest")
    return Volume(data, np.diag([0.8, 0.8, 2.4, 1.0]))


def test_units_check_accepts_interpolated_hu_and_flags_broken_units() -> None:
    from medsr.interpolate import zoom_array

    ct = _hu_phantom()
    up = ct.with_data(zoom_array(ct.data, (1, 1, 3), "bspline"))
    report = units_check(ct, up)
    assert report["hounsfield"] and report["ok"], report
    assert abs(report["air_hu"] + 1000) < 1
    shifted = up.with_data(up.data + 1024.0)  # a lost rescale intercept
    assert not units_check(ct, shifted)["ok"]
    grey = ct.with_data((ct.data + 1000.0) / 2000.0 * 255.0)  # an 8-bit display window
    grey_up = grey.with_data(zoom_array(grey.data, (1, 1, 3), "bspline"))
    r8 = units_check(grey, grey_up)
    assert not r8["hounsfield"] and r8["ok"], r8
    assert not units_check(grey, grey_up.with_data(grey_up.data * 2.0))["ok"]
    # the darkest voxels deepened by a sharper restoration: a few % of the range is kept units,
    # a tenth of it is not
    span = float(grey.data.max() - grey.data.min())
    dark = grey_up.data <= np.percentile(grey_up.data, 2)
    for drop, ok in ((0.04, True), (0.10, False)):
        deeper = grey_up.with_data(np.where(dark, grey_up.data - drop * span, grey_up.data))
        assert units_check(grey, deeper)["ok"] is ok, drop


def test_unknown_method_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MedsrError, match="unknown method"):
        run_medical_benchmark(None, {}, tmp_path, BenchSettings(methods=("bspline", "magic")))


@needs_data
@pytest.mark.data
@pytest.mark.slow
def test_quick_benchmark_end_to_end(tmp_path: Path) -> None:
    from medsr.io import read

    settings = BenchSettings.quick()
    real = {"chris_PD": DATA / "chris_PD.nii.gz", "CT_pitch": DATA / "CT_pitch.nii.gz"}
    result = run_medical_benchmark(DATA / "chris_t1.nii.gz", real, tmp_path, settings)

    # simulated: every method at every factor, sane numbers, B-spline beats nearest
    methods = INTERPOLATIONS + ("self", SUPERVISED)
    assert [(r.case, r.method) for r in result.simulated] == [
        (f"x{f}", m) for f in (2, 4) for m in methods
    ]
    for r in result.simulated:
        assert 15 < r.psnr < 60 and 0.3 < r.ssim <= 1 and 0 < r.nrmse < 0.5, r
        # the quick supervised VDSR trains 12 steps from He et al.'s initialisation (the paper's,
        # since 2026-12-02): its residual branch is not yet flat, so its re-degraded output may
        # sit a little below 20 dB of consistency (19.75 dB at x4 when measured)
        low = 15 if r.method == SUPERVISED else 20
        assert low < r.consistency_psnr < 80, r
    for f in (2, 4):
        by = {r.method: r for r in result.simulated if r.case == f"x{f}"}
        assert by["bspline"].psnr > by["nearest"].psnr
        # self-SR never returns less than its B-spline start by more than noise
        assert by["self"].psnr > by["bspline"].psnr - 0.5
        assert by[SUPERVISED].train_seconds is not None and by[SUPERVISED].train_seconds > 0
    assert [m.factor for m in result.supervised] == [2, 4]
    assert all(m.weights.is_file() and m.steps >= 1 for m in result.supervised)

    # real scans: the right grid (isotropic at the finest in-plane spacing), units kept
    assert [s.name for s in result.real] == ["chris_PD", "CT_pitch"]
    for scan in result.real:
        full = read(real[scan.name])
        vol = centre_crop(full, settings.real_crop, head_centre(full))
        fine = float(min(vol.spacing[0], vol.spacing[1]))
        # the engine's target rule: spacings within 1 % of the asked one keep factor 1 there
        target = resolve_target(vol, spacing=(fine, fine, fine))
        assert scan.output_shape == tuple(target.shape)
        np.testing.assert_allclose(np.asarray(scan.output_affine), target.affine, atol=1e-5)
        np.testing.assert_allclose(scan.output_spacing, fine, rtol=1e-2)
        assert [r.method for r in scan.rows] == ["bspline", "self"]
        assert all(r.psnr is None and 20 < r.consistency_psnr < 80 for r in scan.rows)
        assert all(u["ok"] for u in scan.units.values()), scan.units

    # files: JSON, Markdown with every row, a PNG of a sensible size
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["simulated"]) == 14 and len(data["real"]) == 2
    md = (tmp_path / "results.md").read_text()
    assert md == markdown_report(result)
    for label in (
        "cubic B-spline",
        "Lanczos-3",
        "self-SR",
        "VDSR 2D, trained on MNI brain",
        "CT_pitch",
    ):
        assert label in md
    from PIL import Image

    with Image.open(tmp_path / "real_scans.png") as png:
        assert png.format == "PNG" and png.size[0] > 600 and png.size[1] > 800
