"""Augmentation: geometric transforms keep anisotropic axes, intensity maps hit input and target."""

from types import SimpleNamespace

import numpy as np

from medsr.normalise import Normaliser
from medsr.train.augment import geometric, intensity
from medsr.train.datasets import PatchDataset
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import Source

ALL_AUG = SimpleNamespace(
    flip=True, rot90=True, transpose=True, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)


def _source(data: np.ndarray) -> Source:
    data = np.asarray(data, dtype=np.float32)
    return Source("v", data, Normaliser("none").fit(data), is_2d=data.shape[3] == 1)


def test_augmentation_never_turns_the_anisotropic_axis():
    z = np.arange(32, dtype=np.float32)
    vol = np.broadcast_to(z[None, None, None, :], (1, 16, 16, 32)).copy()  # intensity = z index
    spec = SamplingSpec(
        dims=3, patch=(8, 8, 8), scale=(1.0, 1.0, 2.0), degradation="bicubic", augment=ALL_AUG
    )
    ds = PatchDataset([_source(vol)], spec, length=30)
    flipped = 0
    for i in range(30):
        hr = ds[(0, i)]["hr"][0].numpy()
        assert np.ptp(hr, axis=(0, 1)).max() == 0  # still constant in-plane
        steps = np.diff(hr[0, 0])
        assert np.all(steps == 1) or np.all(steps == -1)  # still a ramp along z (maybe flipped)
        flipped += steps[0] < 0
        assert ds[(0, i)]["lr"].shape == (1, 8, 8, 4)
    assert 0 < flipped < 30


def test_geometric_moves_hr_and_lr_together_and_none_is_identity():
    hr = np.random.default_rng(0).random((1, 8, 8, 1)).astype(np.float32)
    lr = hr.reshape(1, 4, 2, 4, 2, 1).mean(axis=(2, 4))  # 2x2 block means: commute with flips
    assert geometric([hr, lr], (0, 1), (2.0, 2.0, 1.0), None, np.random.default_rng(0))[0] is hr
    moved = 0
    for seed in range(10):
        a, b = geometric([hr, lr], (0, 1), (2.0, 2.0, 1.0), ALL_AUG, np.random.default_rng(seed))
        block = a.reshape(1, 4, 2, 4, 2, 1).mean(axis=(2, 4))
        assert np.allclose(block, b)  # still the same pair on the LR grid
        assert sorted(a.ravel()) == sorted(hr.ravel())  # a permutation of the voxels
        moved += not np.array_equal(a, hr)
    assert moved >= 5


def test_intensity_maps_both_and_noises_only_the_input():
    rng = np.random.default_rng(1)
    hr = rng.random((1, 16, 16, 1)).astype(np.float32)
    lr = hr.copy()
    bright = SimpleNamespace(noise_std=0.0, brightness=0.2, contrast=0.0, gamma=0.0)
    a, b = intensity(hr, lr, bright, np.random.default_rng(2))
    shift = float((a - hr).mean())
    assert 0 < abs(shift) <= 0.2 and np.allclose(a - hr, shift) and np.allclose(b, a)
    noisy = SimpleNamespace(noise_std=0.1, brightness=0.0, contrast=0.0, gamma=0.0)
    a, b = intensity(hr, lr, noisy, np.random.default_rng(2))
    assert np.array_equal(a, hr) and not np.allclose(b, lr)
    assert a.dtype == b.dtype == np.float32
    same = intensity(hr, lr, None, rng)
    assert same[0] is hr and same[1] is lr
