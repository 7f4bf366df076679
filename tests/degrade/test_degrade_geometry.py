"""Geometry of every resolution operator: the LR voxel centres are the centres of the HR blocks.

The affine of ``op(volume)`` comes from ``zoom_grid`` with factors ``1/s``; the samples must sit
where that affine says. Both are checked: world positions of LR centres vs HR block centres
(to 1e-9 mm), and a field linear in world coordinates is reproduced at the LR world positions.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from degrade_helpers import ramp_volume, world_of

from medsr.degrade import BicubicDown, BlurDown, KSpaceTruncation, ThickSlice
from medsr.volume import spacing_of

SHAPE = (12, 18, 16)


def operators():
    return [
        ("bicubic", BicubicDown((2, 3, 4)), (2, 3, 4)),
        ("bd", BlurDown((3, 2, 4)), (3, 2, 4)),
        ("kspace", KSpaceTruncation((2, 3, 4)), (2, 3, 4)),
        ("thick-gauss", ThickSlice(2, 4), (1, 1, 4)),
        ("thick-rect-gap", ThickSlice(1, 3, "rect", gap=1.0), (1, 3, 1)),
    ]


@pytest.mark.parametrize("name,op,factors", operators(), ids=[o[0] for o in operators()])
def test_lr_centres_are_hr_block_centres(name, op, factors):
    hr = ramp_volume(SHAPE)
    lr = op(hr)
    s = np.asarray(factors)
    assert lr.shape == tuple(int(n // f) for n, f in zip(SHAPE, factors))
    np.testing.assert_allclose(spacing_of(lr.affine), spacing_of(hr.affine) * s, rtol=1e-12)
    np.testing.assert_allclose(lr.centre_world, hr.centre_world, atol=1e-9)
    for j in itertools.product(*[(0, 1, m - 1) for m in lr.shape]):
        block = np.stack(
            np.meshgrid(
                *[np.arange(jj * f, (jj + 1) * f) for jj, f in zip(j, factors)], indexing="ij"
            ),
            -1,
        ).reshape(-1, 3)
        hr_centre = world_of(hr.affine, block.astype(float)).mean(axis=0)
        np.testing.assert_allclose(world_of(lr.affine, np.asarray(j, float)), hr_centre, atol=1e-9)


@pytest.mark.parametrize(
    "name,op,factors",
    [o for o in operators() if o[0] != "kspace"],
    ids=[o[0] for o in operators() if o[0] != "kspace"],
)
def test_linear_world_field_is_sampled_at_the_lr_world_positions(name, op, factors):
    """Symmetric kernels reproduce a linear field at their centre: data agree with the affine."""
    gradient, offset = np.array([0.7, -0.3, 0.45]), 12.0
    hr = ramp_volume(SHAPE, gradient, offset)
    lr = op(hr)
    idx = np.stack(np.meshgrid(*[np.arange(m, dtype=float) for m in lr.shape], indexing="ij"), -1)
    expected = world_of(lr.affine, idx) @ gradient + offset
    # interior only: the borders are mirrored/replicated, which bends a ramp
    inner = tuple(slice(2, -2) if f > 1 else slice(None) for f in factors)
    np.testing.assert_allclose(lr.data[0][inner], expected[inner], atol=1e-9)


def test_non_integer_factor_keeps_world_centre_and_exact_spacing():
    hr = ramp_volume((20, 17, 11))
    for op in (
        BicubicDown((2.5, 1.7, 1.3)),
        BlurDown((2.5, 1.7, 1)),
        ThickSlice(0, 2.5),
        KSpaceTruncation((1, 1.7, 2.2)),
    ):
        lr = op(hr)
        f = np.asarray(op.factors_for(hr.shape))
        assert lr.shape == tuple(round(n / s) for n, s in zip(hr.shape, f))
        np.testing.assert_allclose(spacing_of(lr.affine), spacing_of(hr.affine) * f, rtol=1e-12)
        np.testing.assert_allclose(lr.centre_world, hr.centre_world, atol=1e-9)
        assert lr.meta.extra["degradation"] == [repr(op)]
