"""KSpaceTruncation: exact on band-limited signals, equal to the FFT crop, zero-filled inverse."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import KSpaceTruncation
from medsr.degrade.kspace import kspace_window
from medsr.errors import MedsrError
from medsr.volume import index_coordinates


def band_limited(t: np.ndarray, n: int, k_max: float, seed: int) -> np.ndarray:
    """A random sum of cosines with integer frequencies |k| < k_max (cycles per n voxels)."""
    rng = np.random.default_rng(seed)
    out = np.full_like(t, rng.normal(), dtype=np.float64)
    for k in range(1, int(np.ceil(k_max))):
        if k < k_max:
            out += rng.normal() * np.cos(2 * np.pi * k * t / n + rng.uniform(0, 2 * np.pi))
    return out


@pytest.mark.parametrize("n,s", [(24, 2), (24, 3), (30, 2), (40, 2.5), (37, 2.5), (33, 1.6)])
def test_band_limited_signal_is_sampled_exactly_at_the_lr_centres(n, s):
    m = round(n / s)
    kc = n / (2 * s)
    t_hr = np.arange(n, dtype=float)
    t_lr = index_coordinates(n, m, 1 / s)
    f0, f1 = band_limited(t_hr, n, kc, 1), band_limited(np.arange(6.0), 6, 3, 2)
    x = (f0[:, None] * f1[None, :])[None, :, :, None]  # separable 2D field, axis 1 left alone
    y = KSpaceTruncation((s, 1, 1)).apply_array(x)
    expected = band_limited(t_lr, n, kc, 1)[:, None] * f1[None, :]
    np.testing.assert_allclose(y[0, :, :, 0], expected, atol=1e-10)


def centred_crop_reference(x: np.ndarray, s: int) -> np.ndarray:
    """FFT, keep k in [-m/2, m/2), shift the samples to the block centres, inverse FFT of size m."""
    n = x.size
    m = n // s
    spec = np.fft.fft(x)
    k = np.fft.fftfreq(n, 1 / n)
    keep = (k >= -(m // 2)) & (k < m - m // 2)
    delta = (s - 1) / 2  # LR sample j sits at HR coordinate j s + (s - 1) / 2
    lr_spec = np.zeros(m, dtype=complex)
    lr_spec[np.mod(k[keep].astype(int), m)] = spec[keep] * np.exp(2j * np.pi * k[keep] * delta / n)
    return np.fft.ifft(lr_spec) * (m / n)


@pytest.mark.parametrize("n,s", [(30, 2), (27, 3), (32, 4), (36, 4)])
def test_magnitude_output_is_the_scanner_crop(n, s):
    rng = np.random.default_rng(n)
    x = rng.random(n)
    ref = np.abs(centred_crop_reference(x, s))
    ours = KSpaceTruncation((s, 1, 1), output="magnitude").apply_array(x[None, :, None, None])[
        0, :, 0, 0
    ]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("n,s", [(30, 2), (27, 3), (32, 4)])
def test_real_output_is_the_symmetric_crop(n, s):
    """Odd m: the crop is symmetric anyway. Even m: +-k_c each get half of the Nyquist bin."""
    rng = np.random.default_rng(n + 1)
    x = rng.random(n)
    m = n // s
    ours = KSpaceTruncation((s, 1, 1)).apply_array(x[None, :, None, None])[0, :, 0, 0]
    ref = centred_crop_reference(x, s)
    if m % 2:
        np.testing.assert_allclose(ours, ref.real, atol=1e-12)
        np.testing.assert_allclose(ref.imag, 0, atol=1e-12)
    else:
        np.testing.assert_allclose(
            ours, ref.real, atol=1e-12
        )  # real part of the crop = symmetric split


def test_constant_is_kept_and_windows_are_one_at_dc():
    x = np.full((1, 16, 12, 10), 7.5)
    for window in (None, "hamming", "tukey"):
        y = KSpaceTruncation((2, 3, 2.5), window=window).apply_array(x)
        np.testing.assert_allclose(y, 7.5, rtol=1e-12)
    assert kspace_window(np.array([0.0, 1.0]), "hamming").tolist() == pytest.approx([1.0, 0.08])
    assert kspace_window(np.array([0.4, 0.75, 1.0]), "tukey", 0.5).tolist() == pytest.approx(
        [1.0, 0.5, 0.0]
    )


def test_window_reduces_ringing_at_an_edge():
    x = np.zeros((1, 64, 1, 1))
    x[0, 21:44] = 1.0  # edges inside LR voxels 10 and 21
    ideal = x[0, :, 0, 0].reshape(32, 2).mean(axis=1)
    far = np.ones(32, bool)
    far[8:13] = far[19:25] = False  # LR voxels at least 2 away from the edges
    ringing = {}
    for window in (None, "tukey", "hamming"):
        y = KSpaceTruncation((2, 1, 1), window=window).apply_array(x)[0, :, 0, 0]
        ringing[window] = np.abs(y - ideal)[far].max()
    assert ringing[None] > 0.02  # Gibbs ripples far from the edge
    assert ringing["hamming"] < ringing["tukey"] < ringing[None]
    assert ringing["hamming"] < ringing[None] / 10


@pytest.mark.parametrize("n,s", [(27, 3), (30, 6), (25, 5)])
def test_zero_filled_inverse_is_a_right_inverse_for_odd_m(n, s):
    op = KSpaceTruncation((s, 1, 1))
    rng = np.random.default_rng(0)
    y = rng.normal(size=(1, n // s, 3, 2))
    x_hat = op.pseudo_inverse_array(y, (n, 3, 2))
    assert x_hat.shape == (1, n, 3, 2)
    np.testing.assert_allclose(op.apply_array(x_hat), y, atol=1e-10)


def test_magnitude_is_not_linear_and_options_are_checked():
    op = KSpaceTruncation(2, output="magnitude")
    assert not op.linear and KSpaceTruncation(2).linear
    with pytest.raises(NotImplementedError):
        op.adjoint_array(np.zeros((1, 2, 2, 2)), (4, 4, 4))
    with pytest.raises(MedsrError, match="window"):
        KSpaceTruncation(2, window="hann")
    with pytest.raises(MedsrError, match="alpha"):
        KSpaceTruncation(2, window="tukey", alpha=0)
    with pytest.raises(MedsrError, match="output"):
        KSpaceTruncation(2, output="phase")
