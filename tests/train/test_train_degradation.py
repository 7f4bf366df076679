"""Training's degradation: the spec, and noise levels referred to the whole volume."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import GaussianNoise, Pipeline, PoissonNoise, parse_degradation
from medsr.errors import MedsrError
from medsr.train.degradation import make_degradation, volume_referenced


def test_make_degradation_parses_and_refuses_a_scaling_identity() -> None:
    op = make_degradation("bicubic+gaussian:0.1", (2, 2, 2))
    assert isinstance(op, Pipeline)
    assert make_degradation("none", (1, 1, 1)) is None
    with pytest.raises(MedsrError, match="data.degradation"):
        make_degradation("none", (2, 2, 1))
    with pytest.raises(MedsrError, match="data.degradation"):
        make_degradation("no-such-operator", (2, 2, 1))


def test_noise_levels_refer_to_the_whole_volume() -> None:
    vol = np.zeros((1, 8, 8, 8), dtype=np.float32)
    vol[0, 0, 0, 0] = 1000.0
    op = parse_degradation("bicubic+gaussian:0.1", (2, 2, 2))
    referred = volume_referenced(op, vol)
    noise = next(st for st in referred.stages if isinstance(st, GaussianNoise))
    assert noise.relative and noise.sigma == pytest.approx(0.1)
    assert noise.intensity_range == pytest.approx(1000.0)
    # a flat patch (range 0) gets the volume's noise level, 0.1 x 1000
    patch = np.full((1, 64, 64, 16), 5.0, np.float32)
    assert np.std(noise.apply_array(patch, 0) - 5.0) == pytest.approx(100.0, rel=0.02)
    original = next(st for st in op.stages if isinstance(st, GaussianNoise))
    assert original.intensity_range is None  # the operator given is not modified
    assert np.std(original.apply_array(patch, 0)) == 0.0


def test_same_noise_as_the_former_absolute_levels() -> None:
    rng = np.random.default_rng(2)
    vol = (rng.random((1, 16, 16, 16)) * 300 + 20).astype(np.float32)
    patch = vol[:, :8, :8, :8] * 0.3
    span = float(np.max(vol) - np.min(vol))
    referred = volume_referenced(GaussianNoise(0.05), vol)
    absolute = GaussianNoise(0.05 * span, relative=False)
    np.testing.assert_array_equal(referred.apply_array(patch, 7), absolute.apply_array(patch, 7))
    poisson = volume_referenced(PoissonNoise(1000.0), vol)
    assert isinstance(poisson, PoissonNoise) and poisson.reference == pytest.approx(vol.max())
    np.testing.assert_array_equal(
        poisson.apply_array(patch, 3),
        PoissonNoise(1000.0, reference=float(vol.max())).apply_array(patch, 3),
    )
    # explicit levels and references are kept
    fixed = PoissonNoise(1000.0, reference=50.0)
    assert volume_referenced(fixed, vol) is fixed
    assert volume_referenced(None, vol) is None
