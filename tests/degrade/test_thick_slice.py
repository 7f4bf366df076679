"""ThickSlice: slice profiles (Gaussian FWHM, rect averaging, arrays), gaps, real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.degrade import ThickSlice
from medsr.degrade.slice_profile import slice_profile
from medsr.errors import MedsrError
from medsr.volume import index_coordinates

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "medical"


def along(x1d: np.ndarray, axis: int = 2) -> np.ndarray:
    shape = [1, 1, 1, 1]
    shape[axis + 1] = x1d.size
    return x1d.reshape(shape)


@pytest.mark.parametrize(
    "op",
    [
        ThickSlice(2, 4),
        ThickSlice(2, 3, "rect"),
        ThickSlice(0, 2.5, "gaussian", gap=1.0),
        ThickSlice(1, 3, "rect", fwhm=5.0),
        ThickSlice(2, 4, np.array([0.1, 0.5, 1.0, 1.0, 0.5, 0.1])),
    ],
)
def test_constant_volume_stays_constant(op):
    x = np.full((1, 12, 11, 13), 3.25)
    np.testing.assert_allclose(op.apply_array(x), 3.25, rtol=1e-12)


def half_max_width(values: np.ndarray) -> float:
    """FWHM of a sampled single peak (unit spacing), linear interpolation of the crossings."""
    half = values.max() / 2
    above = np.nonzero(values >= half)[0]
    lo, hi = above[0], above[-1]
    left = lo - 1 + (half - values[lo - 1]) / (values[lo] - values[lo - 1])
    right = hi + (values[hi] - half) / (values[hi] - values[hi + 1])
    return right - left


def test_gaussian_profile_has_fwhm_equal_to_thickness():
    for t in (1.0, 2.5, 4.0):
        p = slice_profile("gaussian", t)
        assert p(np.array([t / 2, -t / 2])) == pytest.approx([0.5, 0.5], abs=1e-12)
        assert p(np.array([0.0]))[0] == 1.0


@pytest.mark.parametrize("factor,gap,thickness", [(8, 0.0, 8.0), (12, 4.0, 8.0), (10, 0.0, 10.0)])
def test_impulse_response_fwhm_matches_thickness(factor, gap, thickness):
    """Move an impulse through all HR slices; one LR slice's response traces the profile."""
    n = 5 * factor
    op = ThickSlice(2, factor, "gaussian", gap=gap)
    j = 2  # the middle LR slice
    response = np.empty(n)
    for i in range(n):
        x = np.zeros(n)
        x[i] = 1.0
        response[i] = op.apply_array(along(x))[0, 0, 0, j]
    # integrating the profile over the 1-voxel HR slices widens it by ~1.5 % at these thicknesses
    assert half_max_width(response) == pytest.approx(thickness, rel=0.02)
    centre = index_coordinates(n, 5, 1 / factor)[j]
    assert np.sum(response * np.arange(n)) / response.sum() == pytest.approx(centre, abs=1e-9)


def box_average(step_at: float, lo: float, hi: float) -> float:
    """Mean of 1{t > step_at} over [lo, hi] (HR index coordinates; voxel i is [i-1/2, i+1/2])."""
    return float(np.clip((hi - max(lo, step_at)) / (hi - lo), 0, 1))


@pytest.mark.parametrize("factor,gap", [(4, 0.0), (3, 0.0), (2.5, 0.0), (4, 2.0), (5, 1.5)])
def test_rect_profile_of_a_step_gives_the_averages(factor, gap):
    n = int(10 * factor)
    m = 10
    k = int(2.5 * factor + 0.6)  # HR voxels k, k+1, ... are 1: a step inside LR slice 2
    x = (np.arange(n) >= k).astype(float)
    y = ThickSlice(2, factor, "rect", gap=gap).apply_array(along(x))[0, 0, 0]
    thickness = factor - gap
    centres = index_coordinates(n, m, 1 / factor)
    face = k - 0.5  # the voxel face where the step is
    expected = [box_average(face, c - thickness / 2, c + thickness / 2) for c in centres]
    np.testing.assert_allclose(y, expected, atol=1e-12)
    assert 0 < y[2] < 1  # the slice across the step is a partial-volume mix


def test_rect_with_spacing_thickness_is_the_mean_of_adjacent_slices():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 4, 24))
    y = ThickSlice(2, 4, "rect").apply_array(x)
    np.testing.assert_allclose(y, x.reshape(2, 3, 4, 6, 4).mean(axis=-1), atol=1e-12)
    # an array profile of s ones is the same thing
    np.testing.assert_allclose(ThickSlice(2, 4, np.ones(4)).apply_array(x), y, atol=1e-12)


def test_array_profile_weights():
    x = np.zeros(9)
    x[4] = 1.0  # centre of the middle block of 3
    y = ThickSlice(2, 3, np.array([1.0, 2.0, 1.0])).apply_array(along(x))[0, 0, 0]
    np.testing.assert_allclose(y, [0.0, 0.5, 0.0])
    x = np.arange(9.0)
    y = ThickSlice(2, 3, np.array([1.0, 2.0, 1.0])).apply_array(along(x))[0, 0, 0]
    np.testing.assert_allclose(y[1], (3 + 2 * 4 + 5) / 4)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"axis": 3, "factor": 2}, "axis"),
        ({"axis": 2, "factor": 0.5}, ">= 1"),
        ({"axis": 2, "factor": 4, "gap": 4}, "gap"),
        ({"axis": 2, "factor": 4, "gap": -1}, "gap"),
        ({"axis": 2, "factor": 4, "gap": 1, "fwhm": 3}, "not both"),
        ({"axis": 2, "factor": 4, "profile": "sinc"}, "profile"),
        ({"axis": 2, "factor": 4, "profile": np.array([1.0, -1.0])}, "non-negative"),
        ({"axis": 2, "factor": 4, "profile": np.ones(3), "fwhm": 2.0}, "array"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs, message):
    with pytest.raises(MedsrError, match=message) as info:
        ThickSlice(**kwargs)
    assert "\n" not in str(info.value)


def test_factor_longer_than_the_axis():
    with pytest.raises(MedsrError, match="larger than the axis"):
        ThickSlice(2, 8).apply_array(np.zeros((1, 4, 4, 6)))


@pytest.mark.data
def test_chris_t1_thick_slices_x4():
    path = SHARED / "chris_t1.nii.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    from medsr.io import read

    hr = read(path)
    lr = ThickSlice(2, 4)(hr)
    assert hr.shape == (188, 256, 190)
    assert lr.shape == (188, 256, 48)  # round(190 / 4) = round(47.5) = 48
    np.testing.assert_allclose(lr.spacing, hr.spacing * [1, 1, 4], rtol=1e-9)
    np.testing.assert_allclose(lr.centre_world, hr.centre_world, atol=1e-6)
    np.testing.assert_allclose(lr.affine[:3, :2], hr.affine[:3, :2], atol=1e-12)
    assert lr.data.dtype == np.float32
    # intensity is conserved (the profile averages), the slices are smoother than the HR ones
    assert float(lr.data.mean()) == pytest.approx(float(hr.data.mean()), rel=0.01)
    dz_hr = np.abs(np.diff(hr.data[0, :, :, 60:120], axis=2)).mean()
    dz_lr = np.abs(np.diff(lr.data[0, :, :, 15:30], axis=2)).mean()
    assert dz_lr < 4 * dz_hr  # 4x the distance but averaged: far below 4x the HR differences
    # rect: LR slice j = mean of the 4 HR slices its centre covers (centred grid: 4j-1 .. 4j+2)
    rect = ThickSlice(2, 4, "rect").apply_array(hr.data[:, 90:100, 120:130])
    for j in (5, 20, 40):
        np.testing.assert_allclose(
            rect[0, :, :, j],
            hr.data[0, 90:100, 120:130, 4 * j - 1 : 4 * j + 3].mean(axis=-1),
            rtol=1e-5,
        )
