"""Normalisers: exact inversion, serialisation, and agreement with inference's reader."""

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.train.normalise import KINDS, Normaliser

SPECS = [
    {"kind": "none"},
    {"kind": "minmax", "params": {"min": -1000, "max": 2000}},
    {"kind": "window", "params": {"min": 0, "max": 255}},
    {"kind": "zscore", "params": {"mean": 100.0, "std": 20.0}},
    {"kind": "affine", "params": {"offset": 3.0, "scale": -2.0}},
    {"kind": "percentile", "params": {"low": 0.5, "high": 99.5}},
    {"kind": "volume_minmax"},
    {"kind": "volume_zscore"},
]


@pytest.fixture
def ct_like() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(40, 300, size=(1, 24, 20, 12)).astype(np.float32)
    x[0, :3] = -1000.0  # air
    return x


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["kind"])
def test_forward_inverse_roundtrip_is_exact_to_float32(spec, ct_like):
    before = ct_like.copy()
    norm = Normaliser.from_dict(spec).fit(ct_like)
    y = norm.forward(ct_like)
    assert y.dtype == np.float32
    back = norm.inverse(y)
    assert np.allclose(back, ct_like, rtol=1e-6, atol=1e-6 * np.abs(ct_like).max())
    assert np.array_equal(ct_like, before)  # input untouched
    again = Normaliser.from_dict(norm.to_dict(include_fit=True))
    assert np.array_equal(again.forward(ct_like), y)


def test_per_volume_kinds_map_to_the_unit_range(ct_like):
    tissue = ct_like[:, 3:]  # without the constant air rows
    y = Normaliser("percentile", {"low": 1, "high": 99}).fit(tissue).forward(tissue)
    assert np.mean(y < 0) == pytest.approx(0.01, abs=0.005) and np.mean(y > 1) == pytest.approx(
        0.01, abs=0.005
    )
    m = Normaliser("volume_minmax").forward(ct_like)
    assert m.min() == pytest.approx(0.0) and m.max() == pytest.approx(1.0)
    z = Normaliser("volume_zscore").forward(ct_like)
    assert z.mean() == pytest.approx(0.0, abs=1e-4) and z.std() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["kind"])
def test_inference_reads_the_same_map(spec, ct_like):
    infer = pytest.importorskip("medsr.infer.normalise")
    ours = Normaliser.from_dict(spec).fit(ct_like)
    theirs = infer.Normalisation.from_meta(ours.to_dict()).fit(ct_like)
    assert theirs.offset == pytest.approx(ours.offset) and theirs.scale == pytest.approx(ours.scale)


def test_big_volumes_use_the_inference_subsampling_rule():
    rng = np.random.default_rng(1)
    big = rng.gamma(2.0, 100.0, size=(1, 180, 160, 150)).astype(np.float32)  # > 2**22 voxels
    ours = Normaliser("percentile").fit(big)
    direct = np.percentile(big[..., ::2, ::2, ::2], [0.5, 99.5])
    assert ours.offset == pytest.approx(direct[0]) and ours.scale == pytest.approx(
        direct[1] - direct[0]
    )


def test_errors_name_the_problem():
    with pytest.raises(MedsrError, match="unknown normalisation kind 'histogram'"):
        Normaliser("histogram")
    with pytest.raises(MedsrError, match="unknown parameter 'lo'"):
        Normaliser.from_dict({"kind": "percentile", "params": {"lo": 1}})
    with pytest.raises(MedsrError, match="missing parameter 'max'"):
        Normaliser("minmax", {"min": 0})
    with pytest.raises(MedsrError, match="max > min"):
        Normaliser("minmax", {"min": 5, "max": 5})
    with pytest.raises(MedsrError, match="never fitted"):
        Normaliser("percentile").inverse(np.zeros(3))
    assert set(KINDS) >= {"none", "minmax", "percentile", "volume_zscore"}


def test_constant_image_does_not_divide_by_zero():
    flat = np.full((1, 4, 4, 1), 7.0, dtype=np.float32)
    n = Normaliser("volume_minmax").fit(flat)
    assert np.array_equal(n.inverse(n.forward(flat)), flat)
