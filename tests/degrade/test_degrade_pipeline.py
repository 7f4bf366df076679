"""Pipeline: composition, seeded reproducibility with independent child generators, adjoint."""

from __future__ import annotations

import numpy as np
import pytest
from degrade_helpers import ramp_volume

from medsr.degrade import BicubicDown, GaussianNoise, Pipeline, RicianNoise, ThickSlice
from medsr.errors import MedsrError
from medsr.volume import spacing_of


def test_same_seed_same_output_and_geometry():
    hr = ramp_volume((16, 12, 20))
    pipe = Pipeline([ThickSlice(2, 4), RicianNoise(0.02)])
    a, b, c = pipe(hr, 3), pipe(hr, 3), pipe(hr, 4)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    assert a.shape == (16, 12, 5) == pipe.output_shape(hr.shape)
    np.testing.assert_allclose(spacing_of(a.affine), spacing_of(hr.affine) * [1, 1, 4], rtol=1e-12)
    np.testing.assert_allclose(a.centre_world, hr.centre_world, atol=1e-9)
    assert a.meta.extra["degradation"] == [repr(st) for st in pipe.stages]
    np.testing.assert_array_equal(pipe.apply_array(hr.data, 3), a.data)


def test_each_stage_gets_its_own_generator():
    """Adding a stage does not change the noise drawn by the earlier ones."""
    x = np.random.default_rng(0).random((1, 8, 8, 8))
    first = Pipeline([GaussianNoise(0.1)]).apply_array(x, 9)
    longer = Pipeline([GaussianNoise(0.1), BicubicDown(2), RicianNoise(0.05)]).apply_array(x, 9)
    two = Pipeline([GaussianNoise(0.1), BicubicDown(2)]).apply_array(x, 9)
    np.testing.assert_allclose(two, BicubicDown(2).apply_array(first), atol=1e-12)
    assert longer.shape == two.shape and not np.allclose(longer, two)
    # two noise stages in one pipeline draw different noise
    twice = Pipeline([GaussianNoise(0.1, relative=False), GaussianNoise(0.1, relative=False)])
    zeros = np.zeros((1, 50, 50, 1))
    stage_gens = np.random.default_rng(1).spawn(2)
    first_noise = GaussianNoise(0.1, relative=False).apply_array(zeros, stage_gens[0])
    total = twice.apply_array(zeros, 1)
    assert np.std(total - first_noise) == pytest.approx(0.1, rel=0.05)  # independent second draw


def test_linearity_flags_and_adjoint():
    lin = Pipeline([ThickSlice(2, 2), BicubicDown((2, 1, 1))])
    assert lin.linear and not lin.stochastic
    noisy = Pipeline([ThickSlice(2, 2), RicianNoise(0.1)])
    assert not noisy.linear and noisy.stochastic
    with pytest.raises(NotImplementedError):
        noisy.adjoint_array(np.zeros((1, 4, 4, 2)), (4, 4, 4))


def test_empty_or_wrong_stages():
    with pytest.raises(MedsrError, match="at least one"):
        Pipeline([])
    with pytest.raises(MedsrError, match="Degradation"):
        Pipeline([lambda v: v])
