"""The data-consistency operator, its report and iterative back-projection."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import ThickSlice
from medsr.infer.consistency import (
    consistency_operator,
    consistency_report,
    enforce_consistency,
    quantiser,
)
from medsr.volume import TargetGrid, Volume


def _model(in_shape, factors, profile="gaussian"):
    scan = Volume(np.zeros((1,) + tuple(in_shape), np.float32), np.eye(4))
    target = TargetGrid.from_factors(scan, factors)
    return consistency_operator(scan, target, profile=profile), target.shape


def test_operator_is_thickslice_along_the_upsampled_axis() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((1, 12, 10, 32)).astype(np.float32)
    model, out_shape = _model((12, 10, 8), (1, 1, 4))
    assert out_shape == (12, 10, 32)
    np.testing.assert_allclose(model.apply(x), ThickSlice(2, 4).apply_array(x), atol=1e-5)


def test_rect_profile_averages_the_covered_voxels() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((2, 6, 9, 12)).astype(np.float32)
    model, _ = _model((3, 9, 4), (2, 1, 3), profile="rect")
    expected = x.reshape(2, 3, 2, 9, 4, 3).mean(axis=(2, 5))
    np.testing.assert_allclose(model.apply(x), expected, atol=1e-5)


@pytest.mark.parametrize("factors", [(1, 1, 4), (1, 1, 3.5), (2.5, 1, 2)])
def test_constants_are_kept(factors) -> None:
    model, out_shape = _model((7, 6, 5), factors)
    x = np.full((1,) + out_shape, 7.25, np.float32)
    np.testing.assert_allclose(model.apply(x), 7.25, rtol=1e-6)


@pytest.mark.parametrize("profile", ["gaussian", "rect"])
@pytest.mark.parametrize("factors", [(1, 1, 4), (1, 1, 2.5), (2, 1, 3)])
def test_back_projection_makes_the_output_consistent(profile, factors) -> None:
    rng = np.random.default_rng(2)
    y = rng.random((1, 10, 9, 8)).astype(np.float32) * 100
    model, out_shape = _model((10, 9, 8), factors, profile)
    x = rng.random((1,) + out_shape).astype(np.float32) * 100  # unrelated start
    before = consistency_report(y, x, model)["psnr_db"]
    history = enforce_consistency(y, x, model, iterations=2)
    after = consistency_report(y, x, model)["psnr_db"]
    assert history[0] == pytest.approx(before, abs=1e-6)
    assert after == pytest.approx(history[-1], abs=1e-3)
    assert after > 100.0 and before < 20.0


def test_report_scores_the_stored_values() -> None:
    plane = np.random.default_rng(3).random((1, 8, 8, 1)).astype(np.float32) * 200
    y = np.repeat(plane, 4, axis=-1)  # constant along the thick axis: A repeat(y) = y exactly
    model, _ = _model((8, 8, 4), (1, 1, 4))
    x = np.repeat(y, 4, axis=-1) + 0.3  # 0.3 off everywhere, rounding changes that
    report = consistency_report(y, x, model, dtype="uint8")
    assert report["rmse"] == pytest.approx(0.3, rel=0.05)
    assert report["rmse_stored"] != pytest.approx(report["rmse"], rel=0.05)
    assert report["data_range"] == pytest.approx(float(y.max() - y.min()))
    assert report["nrmse"] == pytest.approx(report["rmse"] / report["data_range"])


def test_quantiser_rounds_clips_and_applies_slope() -> None:
    q = quantiser("uint8", slope=2.0, intercept=-10.0)
    values = np.array([-50.0, -10.0, -8.9, 600.0], np.float32)
    np.testing.assert_allclose(q(values), [-10.0, -10.0, -8.0, 500.0])
    assert quantiser("float32") is None
