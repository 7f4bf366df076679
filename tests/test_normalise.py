"""Normalisation: exact inversion, serialisation through model.json, the one vocabulary of kinds
(old names still load), and the self-SR robust range."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.normalise import ALIASES, KINDS, Normaliser, robust_range

SPECS = [
    {"kind": "none"},
    {"kind": "minmax", "params": {"min": -1000, "max": 2000}},
    {"kind": "window", "params": {"min": 0, "max": 255}},
    {"kind": "zscore", "params": {"mean": 100.0, "std": 20.0}},
    {"kind": "affine", "params": {"offset": 3.0, "scale": -2.0}},
    {"kind": "percentile", "params": {"low": 0.5, "high": 99.5}},
    {"kind": "volume_minmax"},
    {"kind": "volume_zscore"},
    {"kind": "foreground_percentile"},
]


@pytest.fixture
def ct_like() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(40, 300, size=(1, 24, 20, 12)).astype(np.float32)
    x[0, :3] = -1000.0  # air
    return x


# ------------------------------------------------------------------ the map and its inverse
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


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "minmax", "params": {"min": -1024, "max": 3071}},
        {"kind": "zscore", "params": {"mean": 40.0, "std": 350.0}},
        {"kind": "affine", "params": {"offset": -1000.0, "scale": 1000.0}},
        {"kind": "percentile", "params": {"low": 1, "high": 99}},
        {"kind": "volume_minmax"},
        {"kind": "volume_zscore"},
        None,
    ],
)
def test_inverse_undoes_forward_hu_stay_hu(entry) -> None:
    ct = np.random.default_rng(0).uniform(-1024, 2000, size=(1, 16, 16, 8)).astype(np.float32)
    norm = Normaliser.from_dict(entry).fit(ct)
    np.testing.assert_allclose(norm.inverse(norm.forward(ct)), ct, atol=2e-3)  # float32 of HU


def test_minmax_maps_the_training_range_to_unit_interval() -> None:
    norm = Normaliser.from_dict({"kind": "range", "params": {"min": -1000, "max": 1000}})
    norm = norm.fit(np.zeros(1))
    np.testing.assert_allclose(norm.forward(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])


def test_percentile_uses_the_scan() -> None:
    x = np.arange(1001, dtype=np.float32)
    norm = Normaliser.from_dict({"kind": "percentile", "params": {"low": 10, "high": 90}}).fit(x)
    assert norm.offset == pytest.approx(100.0) and norm.scale == pytest.approx(800.0)


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
    assert Normaliser("percentile").unit_range and not Normaliser("volume_zscore").unit_range


def test_big_volumes_are_measured_on_every_second_voxel():
    rng = np.random.default_rng(1)
    big = rng.gamma(2.0, 100.0, size=(1, 180, 160, 150)).astype(np.float32)  # > 2**22 voxels
    ours = Normaliser("percentile").fit(big)
    direct = np.percentile(big[..., ::2, ::2, ::2], [0.5, 99.5])
    assert ours.offset == pytest.approx(direct[0]) and ours.scale == pytest.approx(
        direct[1] - direct[0]
    )


def test_constant_image_does_not_divide_by_zero():
    flat = np.full((1, 4, 4, 1), 7.0, dtype=np.float32)
    n = Normaliser("volume_minmax").fit(flat)
    assert np.array_equal(n.inverse(n.forward(flat)), flat)


# ------------------------------------------------------------------ one vocabulary
@pytest.mark.parametrize(("alias", "kind"), sorted(ALIASES.items()))
def test_every_old_name_still_loads(alias: str, kind: str) -> None:
    """Names of the former training and inference tables (saved model.json files) still load."""
    required, _ = KINDS[kind]
    params = {p: float(i + 1) for i, p in enumerate(required)}
    norm = Normaliser.from_dict({"kind": alias.upper(), "params": params})
    assert norm.kind == kind and norm.to_dict()["kind"] == kind


def test_the_vocabulary_covers_both_former_tables():
    former_training = {
        "none",
        "minmax",
        "zscore",
        "affine",
        "percentile",
        "volume_minmax",
        "volume_zscore",
        "window",
        "range",
        "identity",
    }
    former_inference = former_training | {"standard", "meanstd", "linear"}
    assert former_inference <= set(KINDS) | set(ALIASES)


def test_recipes_and_model_json_entries_load(ct_like):
    """What training writes into model.json (``to_dict``) is what inference reads back."""
    for spec in SPECS:
        stored = Normaliser.from_dict(spec).to_dict()
        read = Normaliser.from_dict(stored).fit(ct_like)
        assert read.to_dict() == stored
        ours = Normaliser.from_dict(spec).fit(ct_like)
        assert (read.offset, read.scale) == (ours.offset, ours.scale)
    assert Normaliser.from_dict({"params": {}}).kind == "none"  # an entry without kind: identity
    assert Normaliser.from_dict("percentile").params == {"low": 0.5, "high": 99.5}


# ------------------------------------------------------------------ the self-SR robust range
def test_foreground_percentile_is_the_self_sr_robust_range():
    rng = np.random.default_rng(2)
    mr = np.zeros((1, 40, 40, 12), dtype=np.float32)  # air at 0, the head brighter
    mr[0, 8:32, 8:32] = rng.gamma(4.0, 50.0, size=(24, 24, 12)).astype(np.float32)
    low, span = robust_range(mr)
    above = np.ravel(mr)[np.ravel(mr) > low]
    assert low == pytest.approx(0.0)
    assert low + span == pytest.approx(float(np.percentile(above, 99.5)))
    norm = Normaliser("robust").fit(mr)
    assert norm.kind == "foreground_percentile"
    assert (norm.offset, norm.scale) == (low, span)
    np.testing.assert_array_equal(norm.forward(mr), (mr - low) / span)


def test_robust_range_subsamples_huge_volumes_and_survives_constants():
    x = np.arange(4_000_003, dtype=np.float32)
    low, _ = robust_range(x)
    sub = x[::2]
    assert low == pytest.approx(float(np.percentile(sub, 0.5)))
    assert robust_range(np.full(10, 3.0, dtype=np.float32)) == (3.0, 1.0)


# ------------------------------------------------------------------ errors
def test_errors_name_the_problem():
    with pytest.raises(MedsrError, match="unknown normalisation kind 'histogram'"):
        Normaliser("histogram")
    with pytest.raises(MedsrError, match="unknown normalisation kind 'magic'"):
        Normaliser.from_dict({"kind": "magic"})
    with pytest.raises(MedsrError, match="unknown parameter 'lo'"):
        Normaliser.from_dict({"kind": "percentile", "params": {"lo": 1}})
    with pytest.raises(MedsrError, match="missing parameter 'max'"):
        Normaliser("minmax", {"min": 0})
    with pytest.raises(MedsrError, match="missing parameter 'std'"):
        Normaliser.from_dict({"kind": "zscore", "params": {"mean": 1}})
    with pytest.raises(MedsrError, match="max > min"):
        Normaliser("minmax", {"min": 5, "max": 5})
    with pytest.raises(MedsrError, match="std > 0"):
        Normaliser.from_dict({"kind": "zscore", "params": {"mean": 1, "std": 0}})
    with pytest.raises(MedsrError, match="non-zero scale"):
        Normaliser("affine", {"offset": 1, "scale": 0})
    with pytest.raises(MedsrError, match="0 <= low < high <= 100"):
        Normaliser("foreground_percentile", {"low": 50, "high": 10})
    with pytest.raises(MedsrError, match="never fitted"):
        Normaliser("percentile").inverse(np.zeros(3))
    assert set(KINDS) >= {"none", "minmax", "percentile", "volume_zscore"}
