"""The one Gaussian window: taps, checks, and agreement with scipy's Gaussian filter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d

from medsr.errors import MedsrError
from medsr.metrics.window import gaussian_window_1d, three_sigma_size, window_radius


@pytest.mark.parametrize(("size", "sigma"), [(11, 1.5), (7, 1.0), (3, 0.8), (13, 2.0)])
def test_taps_are_scipys_gaussian(size: int, sigma: float) -> None:
    """The taps are what scipy's filter (the numpy SSIM) uses for radius (size - 1) / 2."""
    impulse = np.zeros(size)
    impulse[size // 2] = 1.0
    scipy_taps = gaussian_filter1d(impulse, sigma, radius=(size - 1) // 2, mode="constant")
    got = gaussian_window_1d(size, sigma, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, scipy_taps, rtol=0, atol=1e-15)
    assert got.sum() == pytest.approx(1.0, abs=1e-15)
    assert gaussian_window_1d(size, sigma).dtype == torch.float32


def test_even_and_shrunk_windows_are_centred() -> None:
    g = gaussian_window_1d(4, 1.5, dtype=torch.float64)
    assert torch.allclose(g, g.flip(0)) and g.sum().item() == pytest.approx(1.0)
    assert gaussian_window_1d(1, 1.5).tolist() == [1.0]


def test_checks_name_the_problem() -> None:
    assert window_radius(11, 1.5) == 5
    with pytest.raises(MedsrError, match="odd integer >= 3"):
        window_radius(10, 1.5)
    with pytest.raises(MedsrError, match="sigma must be positive"):
        window_radius(11, 0.0)
    with pytest.raises(MedsrError, match="positive integer size"):
        gaussian_window_1d(0, 1.0)
    assert three_sigma_size(2.0) == 13 and three_sigma_size(0.1) == 3
    with pytest.raises(MedsrError, match="sigma must be positive"):
        three_sigma_size(-1.0)


def test_gaussian_blur_is_scipys_mirrored_gaussian_per_channel() -> None:
    # one home of separable torch filtering: the same taps and borders as scipy's "mirror" mode
    from scipy import ndimage

    from medsr.metrics.window import gaussian_blur, separable_filter

    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 20, 17)).astype(np.float32)
    got = gaussian_blur(torch.from_numpy(x), 1.2).numpy()
    expected = np.stack([
        np.stack([ndimage.gaussian_filter(c, 1.2, mode="mirror", radius=4) for c in item])
        for item in x
    ])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # 'valid' filtering shrinks each axis by len(taps) - 1
    taps = torch.tensor([0.25, 0.5, 0.25])
    assert separable_filter(torch.from_numpy(x), taps, pad=False).shape == (2, 3, 18, 15)
