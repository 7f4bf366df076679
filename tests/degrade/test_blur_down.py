"""BlurDown (the "BD" model of RDN): Gaussian blur + decimation at the block centres."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medsr.degrade import BlurDown
from medsr.degrade.blur import default_sigma
from medsr.errors import MedsrError


def gaussian_taps(sigma: float, offsets: np.ndarray) -> np.ndarray:
    w = np.exp(-0.5 * (offsets / sigma) ** 2)
    return w / w.sum()


def test_x3_is_rdn_7x7_gaussian_then_every_third_pixel():
    """RDN/SRMD MATLAB: imfilter(hr, fspecial('gaussian', 7, 1.6), 'replicate'), then (2:3:end)."""
    rng = np.random.default_rng(0)
    img = rng.random((27, 21))
    k = gaussian_taps(1.6, np.arange(-3, 4, dtype=float))
    blurred = ndimage.correlate1d(
        ndimage.correlate1d(img, k, axis=0, mode="nearest"), k, axis=1, mode="nearest"
    )
    ref = blurred[1::3, 1::3]
    ours = BlurDown((3, 3, 1)).apply_array(img[None, :, :, None])[0, :, :, 0]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_even_factor_uses_the_filter_phase_between_two_pixels():
    """x2: an even kernel (taps at +-0.5, +-1.5, ...) centred between pixels 2j and 2j+1."""
    rng = np.random.default_rng(1)
    x = rng.random(30)
    sigma = 1.2
    offsets = np.arange(-3.5, 4.0, 1.0)  # 8 taps, |d| <= 3.5
    ours = BlurDown((2, 1, 1), sigma=sigma, truncate=3.5 / sigma).apply_array(
        x[None, :, None, None]
    )[0, :, 0, 0]
    k = gaussian_taps(sigma, offsets)
    padded = np.pad(x, 4, mode="edge")
    ref = np.array([np.dot(k, padded[4 + 2 * j + 1 - 4 : 4 + 2 * j + 1 + 4]) for j in range(15)])
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_default_sigma_follows_rdn():
    assert default_sigma(3) == pytest.approx(1.6)
    assert default_sigma(1) == 0.0
    op = BlurDown((3, 3, 1))
    assert op.sigmas_for((9, 9, 9)) == pytest.approx((1.6, 1.6, 0.0))
    assert BlurDown(2, sigma=1.0).sigmas_for((8, 8, 8)) == (1.0, 1.0, 1.0)
    # the default x3 kernel has 7 taps per axis (RDN's 7x7)
    assert op.matrix((9, 9, 9), 0)[1].nnz == 7


def test_blur_without_decimation_on_an_axis():
    x = np.zeros((1, 9, 9, 9))
    x[0, 4, 4, 4] = 1.0
    y = BlurDown((3, 1, 1), sigma=(1.6, 1.0, 0.0)).apply_array(x)
    assert y.shape == (1, 3, 9, 9)
    assert np.count_nonzero(y[0, 1, :, 4]) > 1  # blurred along axis 1
    assert np.count_nonzero(y[0, 1, 4, :]) == 1  # not along axis 2
    # interior columns of a row-normalised symmetric blur sum to one: mass is kept along axis 1
    assert y[0, 1, :, 4].sum() == pytest.approx(y[0, 1, 4, 4] + y[0, 1, :4, 4].sum() * 2, abs=1e-12)


def test_zero_sigma_on_a_decimated_axis_is_an_error():
    with pytest.raises(MedsrError, match="sigma > 0"):
        BlurDown((2, 1, 1), sigma=(0.0, 0.0, 0.0)).apply_array(np.zeros((1, 4, 4, 4)))
    with pytest.raises(MedsrError, match="truncate"):
        BlurDown(2, truncate=0)
