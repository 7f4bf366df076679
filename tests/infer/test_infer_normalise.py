"""Normalisation from model.json and its exact inverse (HU stay HU)."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.infer.normalise import Normalisation


@pytest.mark.parametrize("entry", [
    {"kind": "minmax", "params": {"min": -1024, "max": 3071}},
    {"kind": "zscore", "params": {"mean": 40.0, "std": 350.0}},
    {"kind": "affine", "params": {"offset": -1000.0, "scale": 1000.0}},
    {"kind": "percentile", "params": {"low": 1, "high": 99}},
    {"kind": "volume_minmax"},
    {"kind": "volume_zscore"},
    None,
])
def test_inverse_undoes_forward(entry) -> None:
    ct = np.random.default_rng(0).uniform(-1024, 2000, size=(1, 16, 16, 8)).astype(np.float32)
    norm = Normalisation.from_meta(entry).fit(ct)
    np.testing.assert_allclose(norm.inverse(norm.forward(ct)), ct, atol=2e-3)  # float32 of HU ~ 1e-4 rel


def test_minmax_maps_the_training_range_to_unit_interval() -> None:
    norm = Normalisation.from_meta({"kind": "range", "params": {"min": -1000, "max": 1000}}).fit(np.zeros(1))
    np.testing.assert_allclose(norm.forward(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])


def test_percentile_uses_the_scan() -> None:
    x = np.arange(1001, dtype=np.float32)
    norm = Normalisation.from_meta({"kind": "percentile", "params": {"low": 10, "high": 90}}).fit(x)
    assert norm.offset == pytest.approx(100.0) and norm.scale == pytest.approx(800.0)


def test_unknown_or_incomplete_normalisation_is_a_user_error() -> None:
    with pytest.raises(MedsrError, match="unknown normalisation"):
        Normalisation.from_meta({"kind": "magic"})
    with pytest.raises(MedsrError, match="lacks"):
        Normalisation.from_meta({"kind": "zscore", "params": {"mean": 1}})
    with pytest.raises(MedsrError, match="invalid normalisation"):
        Normalisation.from_meta({"kind": "zscore", "params": {"mean": 1, "std": 0}}).fit(np.zeros(3))
