"""Datasets: samples are pure functions of (seed, epoch, index), LR = A(HR), Noise2Noise targets,
validation items, and the epoch sampler's split across ranks."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.normalise import Normaliser
from medsr.train.datasets import EpochSampler, PatchDataset, ValidationDataset
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import load_sources

NO_AUG = SimpleNamespace(
    flip=False, rot90=False, transpose=False, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)
ALL_AUG = SimpleNamespace(
    flip=True, rot90=True, transpose=True, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)


def test_samples_are_a_pure_function_of_seed_epoch_index(bsd_crops: Path):
    sources = load_sources(
        str(bsd_crops), normalisation=Normaliser("minmax", {"min": 0, "max": 255})
    )
    spec = SamplingSpec(dims=2, patch=(24, 24), scale=(2.0, 2.0), augment=ALL_AUG)
    ds = PatchDataset(sources, spec, length=8, seed=5)
    a, b = ds[(3, 1)], PatchDataset(sources, spec, length=8, seed=5)[(3, 1)]
    assert a["hr"].shape == (1, 24, 24) and a["lr"].shape == (1, 12, 12)
    assert torch.equal(a["hr"], b["hr"]) and torch.equal(a["lr"], b["lr"])
    assert not torch.equal(a["hr"], ds[(3, 2)]["hr"]) and not torch.equal(a["hr"], ds[(4, 1)]["hr"])
    assert not torch.equal(a["hr"], PatchDataset(sources, spec, length=8, seed=6)[(3, 1)]["hr"])
    assert 0.0 <= float(a["hr"].min()) and float(a["hr"].max()) <= 1.0


def test_lr_is_the_degradation_of_the_hr_patch(bsd_crops: Path):
    from medsr.degrade import parse_degradation

    sources = load_sources(
        str(bsd_crops), normalisation=Normaliser("minmax", {"min": 0, "max": 255})
    )
    spec = SamplingSpec(
        dims=2, patch=(24, 24), scale=(2.0, 2.0), degradation="bicubic", augment=ALL_AUG
    )
    item = PatchDataset(sources, spec, length=4)[(0, 0)]
    op = parse_degradation("bicubic", (2.0, 2.0, 1.0))
    expected = op.apply_array(item["hr"].numpy()[..., None].astype(np.float64))[..., 0]
    # normalisation is affine and bicubic weights sum to one, so they commute
    assert np.allclose(item["lr"].numpy(), expected, atol=1e-5)


def test_epoch_sampler_splits_ranks_and_changes_with_epoch():
    keys = []
    for rank in range(2):
        s = EpochSampler(12, rank=rank, world_size=2)
        s.set_epoch(3)
        keys.append(list(s))
        assert len(s) == 6
    assert set(keys[0]).isdisjoint(keys[1]) and set(keys[0]) | set(keys[1]) == {
        (3, i) for i in range(12)
    }
    with pytest.raises(MedsrError):
        EpochSampler(13, world_size=2)


def test_noise2noise_targets_carry_independent_noise(bsd_crops: Path):
    sources = load_sources(
        str(bsd_crops), normalisation=Normaliser("minmax", {"min": 0, "max": 255})
    )
    clean = SamplingSpec(
        dims=2, patch=(32, 32), scale=(1.0, 1.0), degradation="none", augment=NO_AUG
    )
    n2n = SimpleNamespace(noise="gaussian", sigma=0.1, noisy_input=True)
    noisy = SamplingSpec(**{**clean.__dict__, "noise2noise": n2n})
    a, b = PatchDataset(sources, clean, 4)[(0, 0)], PatchDataset(sources, noisy, 4)[(0, 0)]
    target_noise = (b["hr"] - a["hr"]).numpy()
    input_noise = (b["lr"] - a["lr"]).numpy()
    assert target_noise.std() == pytest.approx(
        0.1, rel=0.15
    ) and input_noise.std() == pytest.approx(0.1, rel=0.15)
    assert abs(np.corrcoef(target_noise.ravel(), input_noise.ravel())[0, 1]) < 0.2


def test_slices_of_volumes_and_validation_set(t1_block: Path):
    sources = load_sources(str(t1_block), normalisation=Normaliser("percentile"))
    spec = SamplingSpec(dims=2, patch=(16, 16), scale=(2.0, 2.0), slice_axis=0, augment=ALL_AUG)
    item = PatchDataset(sources, spec, 4)[(0, 0)]
    assert item["hr"].shape == (1, 16, 16) and item["lr"].shape == (1, 8, 8)
    val = ValidationDataset(
        sources, SamplingSpec(**{**spec.__dict__, "augment": None}), crop=[40, 30], slices=3
    )
    assert len(val) == 3 and val[0]["hr"].shape == (1, 40, 30) and val[0]["lr"].shape == (1, 20, 15)
    again = ValidationDataset(
        sources, SamplingSpec(**{**spec.__dict__, "augment": None}), crop=[40, 30], slices=3
    )
    assert torch.equal(val[2]["lr"], again[2]["lr"])
    up = SamplingSpec(
        **{**spec.__dict__, "scale": (1.0, 1.0), "interpolate_lr": True, "degradation": "none"}
    )
    assert PatchDataset(sources, up, 2)[(0, 0)]["lr"].shape == (1, 16, 16)
    with pytest.raises(MedsrError, match="larger than"):
        PatchDataset(sources, SamplingSpec(**{**spec.__dict__, "patch": (64, 64)}), 2)
