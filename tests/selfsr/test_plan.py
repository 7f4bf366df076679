"""Thick axis, factor and slice profile detection."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import SliceProfile
from medsr.errors import MedsrError
from medsr.selfsr.plan import default_target_spacing, find_slice_axis, plan_self_sr
from medsr.volume import Volume, VolumeMeta, grid_for_spacing


def _volume(
    spacing: tuple[float, float, float], shape=(12, 10, 8), extra=None, is_2d=False
) -> Volume:
    aff = np.diag(list(spacing) + [1.0])
    aff[:3, 3] = (3.0, -2.0, 7.5)
    return Volume(
        np.zeros((1,) + shape, np.float32), aff, VolumeMeta(extra=dict(extra or {}), is_2d=is_2d)
    )


@pytest.mark.parametrize(
    "spacing, axis", [((0.9, 0.9, 4.0), 2), ((5.0, 1.0, 1.0), 0), ((1.0, 3.0, 1.1), 1)]
)
def test_thick_axis_is_the_largest_spacing(spacing, axis) -> None:
    assert find_slice_axis(spacing) == axis
    target = default_target_spacing(spacing)
    # the default target is isotropic at the finest in-plane spacing
    assert target == (min(np.delete(spacing, axis)),) * 3
    vol = _volume(spacing)
    _, _, factors = grid_for_spacing(vol.shape, vol.affine, target)
    plan = plan_self_sr(vol, factors)
    assert plan.slice_axis == axis
    assert plan.factor == pytest.approx(max(spacing) / target[0])


def test_factor_from_target_spacing_may_be_non_integer() -> None:
    vol = _volume((0.86, 0.86, 2.4))
    _, _, factors = grid_for_spacing(vol.shape, vol.affine, (0.86, 0.86, 0.86))
    plan = plan_self_sr(vol, factors)
    assert plan.factor == pytest.approx(2.4 / 0.86)
    assert plan.thickness == pytest.approx(2.4)  # contiguous slices by default
    assert plan.fwhm_voxels == pytest.approx(2.4 / 0.86)
    assert plan.thickness_source == "spacing"
    assert not plan.has_gap


def test_isotropic_scan_uses_the_axis_up_sampled_most() -> None:
    vol = _volume((1.0, 1.0, 1.0))
    assert plan_self_sr(vol, (1.0, 3.0, 1.0)).slice_axis == 1


def test_thickness_from_option_header_or_gap() -> None:
    vol = _volume((1.0, 1.0, 5.0), extra={"slice_thickness": "3.0"})
    factors = (1.0, 1.0, 5.0)
    header = plan_self_sr(vol, factors)
    assert (header.thickness, header.thickness_source) == (3.0, "header")
    assert header.has_gap and header.gap_voxels == pytest.approx(2.0)
    option = plan_self_sr(vol, factors, SliceProfile("rect", thickness=4.0))
    assert (option.thickness, option.thickness_source, option.profile.kind) == (
        4.0,
        "option",
        "rect",
    )
    gap = plan_self_sr(_volume((1.0, 1.0, 5.0)), factors, SliceProfile(gap=1.5))
    assert gap.thickness == pytest.approx(3.5)
    assert gap.thickness_source == "spacing-gap"


def test_user_mistakes_raise() -> None:
    with pytest.raises(MedsrError, match="2D"):
        plan_self_sr(_volume((1.0, 1.0, 1.0), shape=(12, 10, 1), is_2d=True), (2.0, 2.0, 1.0))
    with pytest.raises(MedsrError, match="factor"):
        plan_self_sr(_volume((1.0, 1.0, 1.1)), (1.0, 1.0, 1.1))
    with pytest.raises(MedsrError, match="gap"):
        plan_self_sr(_volume((1.0, 1.0, 2.0)), (1.0, 1.0, 2.0), SliceProfile(gap=2.5))


def test_header_thickness_only_describes_the_stacking_axis() -> None:
    # a series of 1.5 mm slices (axis 2) made thick along x: the header says nothing about x
    vol = _volume((1.64, 0.41, 1.5), extra={"slice_thickness": 1.5})
    plan = plan_self_sr(vol, (4.0, 1.0, 1.0))
    assert plan.slice_axis == 0
    assert (plan.thickness, plan.thickness_source) == (pytest.approx(1.64), "spacing")
    assert plan.fwhm_voxels == pytest.approx(4.0) and not plan.has_gap
    # the same header on the stacking axis is used
    stacked = _volume((0.41, 0.41, 1.64), extra={"slice_thickness": 1.5})
    plan = plan_self_sr(stacked, (1.0, 1.0, 4.0))
    assert (plan.thickness, plan.thickness_source) == (1.5, "header")
