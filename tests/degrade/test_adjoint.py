"""Dot-product test of every linear operator: <A x, y> = <x, A^T y> to 1e-8 relative."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import BicubicDown, BlurDown, KSpaceTruncation, Pipeline, ThickSlice

CASES = [
    ("bicubic-2d", BicubicDown(2), (2, 14, 10, 1)),
    ("bicubic-3d-aniso", BicubicDown((2, 3, 4)), (1, 12, 12, 16)),
    ("bicubic-noninteger", BicubicDown((2.5, 1.7, 1.3)), (1, 11, 13, 9)),
    ("bicubic-lanczos3", BicubicDown((3, 1, 2), kernel="lanczos3"), (1, 15, 6, 10)),
    ("bd-x3", BlurDown(3), (1, 15, 12, 9)),
    ("bd-even-noninteger", BlurDown((2, 2.6, 1), sigma=1.2, truncate=3), (1, 10, 13, 5)),
    ("kspace", KSpaceTruncation((2, 3, 1)), (1, 12, 15, 4)),
    ("kspace-hamming-noninteger", KSpaceTruncation((2.5, 1, 1.5), window="hamming"), (1, 11, 6, 9)),
    ("kspace-tukey", KSpaceTruncation(2, window="tukey", alpha=0.3), (1, 8, 10, 6)),
    ("thick-gauss", ThickSlice(2, 4), (1, 5, 6, 17)),
    ("thick-rect-gap", ThickSlice(0, 3, "rect", gap=0.5), (1, 13, 4, 5)),
    ("thick-array", ThickSlice(1, 2.5, np.array([0.2, 1.0, 1.0, 0.3])), (1, 4, 12, 3)),
    ("pipeline", Pipeline([ThickSlice(2, 2), BicubicDown((2, 1, 1))]), (1, 8, 5, 10)),
]


@pytest.mark.parametrize("name,op,shape", CASES, ids=[c[0] for c in CASES])
def test_dot_product(name, op, shape):
    rng = np.random.default_rng(7)
    assert op.linear
    x = rng.normal(size=shape)
    ax = op.apply_array(x)
    assert ax.dtype == np.float64 and ax.shape == (shape[0],) + tuple(op.output_shape(shape[1:]))
    y = rng.normal(size=ax.shape)
    aty = op.adjoint_array(y, shape[1:])
    assert aty.shape == x.shape
    lhs, rhs = float(np.vdot(ax, y)), float(np.vdot(x, aty))
    assert abs(lhs - rhs) <= 1e-8 * max(abs(lhs), abs(rhs))


def test_adjoint_checks_the_shape():
    from medsr.errors import MedsrError

    op = BicubicDown(2)
    with pytest.raises(MedsrError, match="spatial shape"):
        op.adjoint_array(np.zeros((1, 5, 5, 5)), (12, 12, 12))


def test_float32_is_kept_and_close_to_float64():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 16, 12, 8))
    op = BlurDown((2, 3, 1))
    y64 = op.apply_array(x)
    y32 = op.apply_array(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-5)
    assert op.adjoint_array(y32, x.shape).dtype == np.float32
