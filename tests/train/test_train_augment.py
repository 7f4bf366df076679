"""Augmentation: geometric transforms keep anisotropic axes, intensity maps hit input and target."""

from types import SimpleNamespace

import numpy as np

from medsr.normalise import Normaliser
from medsr.train.augment import bias_field, geometric, intensity, warp
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


WARP = SimpleNamespace(
    flip=True, rot90=True, transpose=True, noise_std=0.0, brightness=0.0, contrast=0.0,
    gamma=0.0, rotate=30.0, scale=0.15, elastic=2.0, elastic_sigma=3.0, bias_field=0.4,
)


def _t1_source(shared_data) -> Source:
    from medsr.io import read

    data = read(shared_data / "medical" / "chris_t1.nii.gz").data[:, 60:124, 80:144, 90:92]
    return _source(data.astype(np.float32) / float(data.max()))


def test_warped_pair_is_consistent_lr_is_degraded_augmented_hr(shared_data):
    """Review 5.1: the augmentation acts before degradation, so LR == A(augmented HR) exactly."""
    src = _t1_source(shared_data)
    spec = SamplingSpec(dims=2, patch=(32, 32), scale=(2.0, 2.0), degradation="bicubic",
                        augment=WARP, slice_axis=2)
    ds = PatchDataset([src], spec, length=4)
    plain = PatchDataset([src], SamplingSpec(**{**spec.__dict__, "augment": None}), length=4)
    for i in range(4):
        rng = np.random.default_rng([0, 0, i])
        _, hr, lr = ds._draw(rng)
        assert np.allclose(lr, ds.degrade(hr, src, np.random.default_rng(9)), atol=1e-6)
        _, hr0, _ = plain._draw(np.random.default_rng([0, 0, i]))
        assert hr.shape == hr0.shape and not np.allclose(hr, hr0, atol=1e-3)  # it did change


def test_warp_rotates_by_the_drawn_angle_and_keeps_anisotropic_axis():
    """A bright bar along X comes out along the angle drawn (first draw of the rng); with unequal
    factors on (X, Y) nothing rotates."""
    bar = np.zeros((1, 41, 41, 1), np.float32)
    bar[0, :, 19:22] = 1.0
    aug = SimpleNamespace(rotate=60.0, scale=0.0, elastic=0.0)
    ii, jj = np.meshgrid(np.arange(41) - 20.0, np.arange(41) - 20.0, indexing="ij")
    disk = ii**2 + jj**2 <= 15**2
    angles = []
    for seed in range(6):
        out = warp(bar, (0, 1), (2.0, 2.0, 1.0), aug, np.random.default_rng(seed))
        drawn = np.random.default_rng(seed).uniform(-60.0, 60.0)
        w = np.clip(out[0, :, :, 0], 0, None) * disk
        cxx, cyy, cxy = (w * ii**2).sum(), (w * jj**2).sum(), (w * ii * jj).sum()
        found = np.rad2deg(0.5 * np.arctan2(2 * cxy, cxx - cyy))
        assert abs(found + drawn) < 2.0, (found, drawn)  # output(p) = input(R p): angle -t
        assert abs(out[0][disk].sum() - bar[0][disk].sum()) < 0.1 * bar[0][disk].sum()
        angles.append(found)
    assert np.ptp(angles) > 30
    same = warp(bar, (0, 1), (2.0, 4.0, 1.0), aug, np.random.default_rng(0))
    assert np.allclose(same, bar, atol=1e-4)


def test_warp_scale_and_elastic_move_voxels_without_changing_a_constant():
    const = np.full((1, 24, 24, 1), 3.0, np.float32)
    aug = SimpleNamespace(rotate=0.0, scale=0.3, elastic=3.0, elastic_sigma=3.0)
    assert np.allclose(warp(const, (0, 1), (2, 2, 1), aug, np.random.default_rng(0)), 3.0,
                       atol=1e-4)
    ramp = np.broadcast_to(np.arange(24, dtype=np.float32)[None, :, None, None],
                           (1, 24, 24, 1)).copy()
    out = warp(ramp, (0, 1), (2, 2, 1), aug, np.random.default_rng(1))
    assert 0.2 < np.abs(out - ramp).max() < 3.0 + 24 * 0.3  # bounded displacement
    assert warp(ramp, (0, 1), (2, 2, 1), None, np.random.default_rng(1)) is ramp


def test_bias_field_is_smooth_positive_and_the_same_on_lr_and_hr_grids():
    hr = np.ones((1, 32, 32, 1), np.float32)
    lr = np.ones((1, 16, 16, 1), np.float32)
    a, b = bias_field([hr, lr], (0, 1), SimpleNamespace(bias_field=0.4), np.random.default_rng(3))
    assert a.min() > 0 and np.ptp(a) > 0.05  # a real inhomogeneity, multiplicative
    assert np.abs(np.diff(a[0, :, :, 0], axis=0)).max() < 0.2  # smooth
    block = a.reshape(1, 16, 2, 16, 2, 1).mean(axis=(2, 4))
    assert np.allclose(block, b, atol=0.01)  # same field at the same physical positions


def test_warps_are_refused_for_explicit_pairs():
    import pytest

    from medsr.errors import MedsrError

    hr = np.random.default_rng(0).random((1, 16, 16, 1)).astype(np.float32)
    src = _source(hr)
    src.lr = hr.reshape(1, 8, 2, 8, 2, 1).mean(axis=(2, 4))
    spec = SamplingSpec(dims=2, patch=(8, 8), scale=(2.0, 2.0), degradation="bicubic",
                        augment=WARP)
    with pytest.raises(MedsrError, match="explicit LR/HR pairs"):
        PatchDataset([src], spec, length=2)
