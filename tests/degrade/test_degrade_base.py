"""The Degradation base: factor checks, shapes, inputs untouched, dtypes, provenance."""

from __future__ import annotations

import numpy as np
import pytest
from degrade_helpers import ramp_volume

from medsr.degrade import (
    BicubicDown,
    BlurDown,
    KSpaceTruncation,
    RicianNoise,
    ThickSlice,
    resolve_factors,
)
from medsr.degrade.base import as_generator
from medsr.errors import MedsrError
from medsr.volume import Volume, VolumeMeta, zoom_grid


@pytest.mark.parametrize(
    "factors,shape,message",
    [
        ((0, 1, 1), (10, 10, 10), "positive"),
        ((-2, 1, 1), (10, 10, 10), "positive"),
        ((float("nan"), 1, 1), (10, 10, 10), "positive"),
        ((0.5, 1, 1), (10, 10, 10), "below 1"),
        ((1, 1, 11), (10, 10, 10), "larger than the axis"),
        ((2, 2, 2), (10, 10), "one factor per axis"),
        ((2, 2, 3), (10, 10, 1), "larger than the axis"),
    ],
)
def test_impossible_factors_are_one_line_errors(factors, shape, message):
    with pytest.raises(MedsrError, match=message) as info:
        resolve_factors(factors, shape)
    assert "\n" not in str(info.value)


def test_isotropic_factor_acts_in_plane_on_2d_images():
    assert resolve_factors(2, (10, 12, 1)) == (2.0, 2.0, 1.0)
    assert resolve_factors((3, 3, 3), (9, 9, 1)) == (3.0, 3.0, 1.0)
    img = Volume(
        np.arange(120, dtype=np.float32).reshape(1, 10, 12, 1), np.eye(4), VolumeMeta(is_2d=True)
    )
    lr = BicubicDown(2)(img)
    assert lr.shape == (5, 6, 1)
    assert lr.meta.is_2d


@pytest.mark.parametrize(
    "op", [BicubicDown((2, 3, 1.5)), BlurDown(2.5), KSpaceTruncation((3, 1, 2)), ThickSlice(1, 2.2)]
)
def test_output_shape_is_zoom_grid_and_matches_apply(op):
    shape = (13, 17, 9)
    expected, _ = zoom_grid(shape, np.eye(4), [1 / s for s in op.factors_for(shape)])
    assert op.output_shape(shape) == expected
    assert op.output_shape((2,) + shape) == expected
    y = op.apply_array(np.ones((2,) + shape, dtype=np.float32))
    assert y.shape == (2,) + expected


def test_inputs_are_never_modified():
    vol = ramp_volume((12, 10, 8))
    data0, affine0 = vol.data.copy(), vol.affine.copy()
    for op in (
        BicubicDown(2),
        BlurDown((2, 2, 1)),
        KSpaceTruncation(2, output="magnitude"),
        ThickSlice(2, 2),
        RicianNoise(0.1),
    ):
        op(vol, 0)
        op.apply_array(vol.data, 0)
    np.testing.assert_array_equal(vol.data, data0)
    np.testing.assert_array_equal(vol.affine, affine0)
    assert "degradation" not in vol.meta.extra


def test_integer_input_gives_float32_and_channels_are_independent():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 255, size=(2, 12, 12, 6)).astype(np.uint8)
    op = BlurDown((3, 3, 1))
    y = op.apply_array(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[1], op.apply_array(x[1:2])[0], rtol=1e-6)


def test_bad_arrays_and_rngs_are_reported():
    with pytest.raises(MedsrError, match=r"\(C, X, Y, Z\)"):
        BicubicDown(2).apply_array(np.zeros((8, 8)))
    with pytest.raises(MedsrError, match="rng"):
        as_generator("seed")
    with pytest.raises(MedsrError, match="Volume"):
        BicubicDown(2)(np.zeros((1, 4, 4, 4)))


def test_history_accumulates_in_meta():
    vol = ramp_volume((16, 16, 16))
    out = RicianNoise(0.01)(ThickSlice(2, 2)(vol), 1)
    assert out.meta.extra["degradation"] == [repr(ThickSlice(2, 2)), repr(RicianNoise(0.01))]


def test_pseudo_inverse_is_documented_where_missing():
    with pytest.raises(NotImplementedError, match="interpolate"):
        BicubicDown(2).pseudo_inverse_array(np.zeros((1, 4, 4, 4)), (8, 8, 8))
    with pytest.raises(NotImplementedError, match="not linear"):
        RicianNoise(0.1).adjoint_array(np.zeros((1, 4, 4, 4)), (4, 4, 4))
