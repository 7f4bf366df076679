"""Noise models: seeded reproducibility and the statistics each model promises."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import GaussianNoise, PoissonNoise, RicianNoise
from medsr.degrade.noise import MU_WATER_PER_MM
from medsr.errors import MedsrError


def two_level(low: float, high: float, n: int = 40000) -> np.ndarray:
    """(1, 2, n/2... ) array: half the voxels at ``low``, half at ``high``."""
    x = np.empty((1, 2, n // 2, 1))
    x[0, 0], x[0, 1] = low, high
    return x


@pytest.mark.parametrize(
    "op", [GaussianNoise(0.05), RicianNoise(0.05), PoissonNoise(50), PoissonNoise(1e4, model="ct")]
)
def test_same_seed_same_noise_other_seed_other_noise(op):
    x = two_level(0.0, 1.0, 2000).astype(np.float32)
    a, b, c = op.apply_array(x, 11), op.apply_array(x, 11), op.apply_array(x, 12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    gen1, gen2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(op.apply_array(x, gen1), op.apply_array(x, gen2))
    assert a.dtype == np.float32


def test_gaussian_noise_level_relative_and_absolute():
    x = two_level(10.0, 30.0)  # intensity range 20
    y = GaussianNoise(0.05).apply_array(x, 0)
    assert np.std(y - x) == pytest.approx(1.0, rel=0.02)  # 0.05 * 20
    assert np.mean(y - x) == pytest.approx(0.0, abs=0.02)
    y = GaussianNoise(2.5, relative=False).apply_array(x, 0)
    assert np.std(y - x) == pytest.approx(2.5, rel=0.02)


def test_rician_bias_at_zero_signal_and_second_moment():
    sigma = 0.1
    x = two_level(0.0, 1.0)  # range 1: sigma is 0.1 in intensity units
    y = RicianNoise(sigma).apply_array(x, 3)
    zero, signal = y[0, 0].ravel(), y[0, 1].ravel()
    assert zero.min() >= 0
    # Rayleigh at zero signal: mean sigma sqrt(pi/2), not 0 (Gudbjartsson & Patz 1995)
    assert zero.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.01)
    # Rice: E[M^2] = A^2 + 2 sigma^2 exactly, whatever A
    assert np.mean(signal**2) == pytest.approx(1.0 + 2 * sigma**2, rel=0.01)
    assert np.mean(zero**2) == pytest.approx(2 * sigma**2, rel=0.02)


def test_poisson_scaled_counts():
    x = two_level(0.25, 1.0)
    y = PoissonNoise(100).apply_array(x, 1)  # the maximum (1.0) gets 100 photons
    counts = y * 100
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)  # whole photons
    for level, region in ((0.25, y[0, 0]), (1.0, y[0, 1])):
        assert region.mean() == pytest.approx(level, rel=0.01)
        assert region.var() == pytest.approx(level / 100, rel=0.05)  # Poisson: var = mean


def test_poisson_ct_noise_follows_dose_and_attenuation():
    """Water (0 HU) and air (-1000 HU); sd in HU = 1000 / (mu_w L sqrt(I0 exp(-mu L)))."""
    path = 200.0
    x = two_level(0.0, -1000.0)
    sds = {}
    for i0 in (1e4, 1e5):
        y = PoissonNoise(i0, model="ct", path_mm=path).apply_array(x, 2)
        water, air = y[0, 0], y[0, 1]
        mul = MU_WATER_PER_MM * path
        expected_water = 1000 / (mul * np.sqrt(i0 * np.exp(-mul)))
        expected_air = 1000 / (mul * np.sqrt(i0))
        assert water.std() == pytest.approx(expected_water, rel=0.05)
        assert air.std() == pytest.approx(expected_air, rel=0.05)
        assert abs(water.mean()) < 0.1 * expected_water
        sds[i0] = water.std()
    assert sds[1e4] / sds[1e5] == pytest.approx(np.sqrt(10), rel=0.05)


def test_noise_keeps_the_grid_and_checks_levels():
    op = RicianNoise(0.02)
    assert op.output_shape((7, 8, 9)) == (7, 8, 9)
    with pytest.raises(MedsrError, match="sigma"):
        GaussianNoise(-1)
    with pytest.raises(MedsrError, match="photon"):
        PoissonNoise(0)
    with pytest.raises(MedsrError, match="model"):
        PoissonNoise(10, model="gamma")
