"""BicubicDown (the "BI" model): MATLAB imresize where the grid allows, centred grid elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import BicubicDown
from medsr.degrade.resize import imresize
from medsr.errors import MedsrError
from medsr.volume import index_coordinates


@pytest.mark.parametrize("factors", [(2, 2, 1), (3, 3, 1), (4, 4, 1), (2, 3, 1)])
def test_equals_matlab_imresize_2d(factors):
    rng = np.random.default_rng(1)
    img = rng.random((3, 24, 36, 1)) * 255  # an RGB picture, channels first
    ours = BicubicDown(factors).apply_array(img)
    ref = imresize(img, (1 / factors[0], 1 / factors[1]), axes=(1, 2))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_equals_matlab_imresize_3d_per_axis():
    rng = np.random.default_rng(2)
    vol = rng.random((1, 12, 15, 16))
    ours = BicubicDown((2, 3, 4)).apply_array(vol)
    ref = imresize(vol, (1 / 2, 1 / 3, 1 / 4), axes=(1, 2, 3))
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_other_matlab_kernels_match_too():
    rng = np.random.default_rng(3)
    img = rng.random((1, 18, 12, 1))
    for kernel in ("linear", "lanczos3", "box"):
        ours = BicubicDown((3, 2, 1), kernel=kernel).apply_array(img)
        ref = imresize(img, (1 / 3, 1 / 2), axes=(1, 2), kernel=kernel)
        np.testing.assert_allclose(ours, ref, atol=1e-10, err_msg=kernel)


def test_non_multiple_length_uses_the_centred_grid():
    """n / s not an integer: round(n / s) voxels at index_coordinates (not MATLAB's ceil)."""
    n, s = 23, 2.0
    x = np.zeros((1, n, 1, 1))
    x[0, 11] = 1.0  # the centre voxel
    y = BicubicDown((s, 1, 1)).apply_array(x)[0, :, 0, 0]
    m = round(n / s)
    assert y.shape == (m,)
    u = index_coordinates(n, m, 1 / s)
    assert u[0] == pytest.approx(-0.5 + (n - m * s) / 2 + s / 2, abs=1e-12)
    # the centred grid is symmetric, so is the response to the centre voxel
    np.testing.assert_allclose(y, y[::-1], atol=1e-15)
    assert y.sum() == pytest.approx(1 / s, abs=1e-12)


def test_any_real_factor_keeps_constants():
    x = np.full((1, 31, 19, 7), 42.0)
    for f in [(2.5, 1.7, 1.3), (1.01, 3.3, 6.9)]:
        y = BicubicDown(f).apply_array(x)
        np.testing.assert_allclose(y, 42.0, rtol=1e-12)


def test_unknown_kernel():
    with pytest.raises(MedsrError, match="kernel"):
        BicubicDown(2, kernel="mitchell")
