"""Back-projection of the self-SR output onto the thick slices it came from
(:func:`medsr.selfsr.smore.back_project_slices`)."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.bench.selfsr import simulate_thick_slices
from medsr.degrade import acquisition_operator
from medsr.interpolate import zoom_array
from medsr.selfsr.plan import plan_self_sr
from medsr.selfsr.smore import back_project_slices
from medsr.volume import TargetGrid


@pytest.fixture(scope="module", params=[(2, 4.0), (0, 2.5)], ids=["z-x4", "x-x2.5"])
def case(request, brain_crop):
    axis, factor = request.param
    return simulate_thick_slices(brain_crop, axis=axis, factor=factor)


def test_the_plan_operator_is_the_acquisition(case) -> None:
    """What self-SR assumes (the plan's profile along its slice axis) re-acquires the truth into
    exactly the simulated thick slices: the operator the correction inverts is the right one."""
    target = TargetGrid.from_factors(case.lr, case.factors)
    plan = plan_self_sr(case.lr, target.factors)
    op = acquisition_operator(case.lr, target, plan.profile, slice_axes=(plan.slice_axis,))
    again = op.apply(np.asarray(case.truth.data, np.float32))
    np.testing.assert_allclose(again, case.lr.data, atol=1e-3 * float(np.ptp(case.lr.data)))


def test_one_step_fits_the_slices_and_never_moves_away_from_the_truth(case) -> None:
    target = TargetGrid.from_factors(case.lr, case.factors)
    plan = plan_self_sr(case.lr, target.factors)
    truth = np.asarray(case.truth.data, np.float32)
    g = np.asarray(case.lr.data, np.float32)
    rng = np.random.default_rng(0)
    estimates = {
        "bspline": zoom_array(g, case.factors, "bspline"),
        "truth + noise": truth + rng.normal(0, 0.05 * float(np.ptp(truth)), truth.shape),
    }
    for name, f in estimates.items():
        f = np.ascontiguousarray(f, dtype=np.float32)
        before = float(np.linalg.norm(f - truth))
        record = back_project_slices(f, g, case.lr, target, plan)
        after = float(np.linalg.norm(f - truth))
        assert record["applied"], name
        psnr = record["consistency_psnr_db"]
        assert psnr["after"] > 60 and psnr["after"] > psnr["before"] + 10, (name, psnr)
        # (I - B A) is an orthogonal projector: the error to the truth cannot grow
        assert after < before, (name, before, after)


def test_a_resampled_in_plane_axis_is_left_alone(brain_crop) -> None:
    case = simulate_thick_slices(brain_crop, axis=2, factor=4.0)
    target = TargetGrid.from_factors(case.lr, (2.0, 1.0, 4.0))
    plan = plan_self_sr(case.lr, target.factors)
    f = np.ones((1, *target.shape), np.float32)
    record = back_project_slices(f, np.asarray(case.lr.data), case.lr, target, plan)
    assert record == {"applied": False, "reason": "the in-plane axes are resampled too"}
    assert np.all(f == 1.0)
