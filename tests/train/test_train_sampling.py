"""Patch sampling: foreground-centred crops, explicit pairs cut at matching positions."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.io import write
from medsr.normalise import Normaliser
from medsr.train.datasets import PatchDataset
from medsr.train.sampling import SamplingSpec, random_crop, to_model_axes
from medsr.train.sources import Source, foreground_coordinates, load_sources
from medsr.volume import Volume

NO_AUG = SimpleNamespace(
    flip=False, rot90=False, transpose=False, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)
ALL_AUG = SimpleNamespace(
    flip=True, rot90=True, transpose=True, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)


def _source(data: np.ndarray, name: str = "v", **kw) -> Source:
    data = np.asarray(data, dtype=np.float32)
    return Source(name, data, Normaliser("none").fit(data), is_2d=data.shape[3] == 1, **kw)


def test_foreground_weighted_sampling_finds_the_object():
    vol = np.zeros((1, 64, 64, 64), dtype=np.float32)
    vol[0, 44:56, 4:16, 30:42] = 1000.0  # a small bright object in a large dark field
    vol += np.random.default_rng(0).normal(0, 1, vol.shape).astype(np.float32)
    spec_fg = SamplingSpec(
        dims=3, patch=(8, 8, 8), scale=(2.0, 2.0, 2.0), degradation="bicubic", augment=NO_AUG
    )
    with_fg = PatchDataset(
        [_source(vol, foreground=foreground_coordinates(vol, "otsu", 50, 0))], spec_fg, length=40
    )
    without = PatchDataset([_source(vol)], spec_fg, length=40)

    def hit(ds):
        return np.mean([float(ds[(0, i)]["hr"].max()) > 500 for i in range(40)])

    assert hit(with_fg) == 1.0
    assert hit(without) < 0.3


def test_explicit_pairs_stay_aligned_under_augmentation(tmp_path: Path):
    rng = np.random.default_rng(0)
    (tmp_path / "hr").mkdir()
    (tmp_path / "lr").mkdir()
    for k in range(2):
        hr = rng.random((1, 32, 32, 16)).astype(np.float32)
        lr = hr.reshape(1, 16, 2, 16, 2, 8, 2).mean(axis=(2, 4, 6))
        write(Volume(hr, np.eye(4)), tmp_path / "hr" / f"case{k}.nii.gz")
        write(Volume(lr, np.diag([2.0, 2, 2, 1])), tmp_path / "lr" / f"case{k}.nii.gz")
    sources = load_sources(str(tmp_path / "hr"), lr_spec=str(tmp_path / "lr"))
    spec = SamplingSpec(dims=3, patch=(8, 8, 8), scale=(2.0, 2.0, 2.0), augment=ALL_AUG)
    ds = PatchDataset(sources, spec, length=10)
    for i in range(10):
        item = ds[(0, i)]
        block = item["hr"].numpy().reshape(1, 4, 2, 4, 2, 4, 2).mean(axis=(2, 4, 6))
        assert np.allclose(item["lr"].numpy(), block, atol=1e-6)
    (tmp_path / "lr" / "case1.nii.gz").unlink()
    with pytest.raises(MedsrError, match="no LR file for case1.nii.gz"):
        load_sources(str(tmp_path / "hr"), lr_spec=str(tmp_path / "lr"))


def test_spec_maps_model_axes_and_random_crop_cuts_pairs_on_the_lr_grid():
    hr = np.arange(6 * 12 * 10, dtype=np.float32).reshape(1, 6, 12, 10)
    src = _source(hr, lr=np.ascontiguousarray(hr[:, :, ::2, ::2]))
    spec = SamplingSpec(dims=2, patch=(4, 4), scale=(2.0, 2.0), slice_axis=0)
    assert spec.axes_for(src) == (1, 2) and spec.factors3(src) == (1.0, 2.0, 2.0)
    assert spec.patch3(src) == (1, 4, 4)
    for seed in range(20):
        hr_patch, lr_patch = random_crop(src, spec, np.random.default_rng(seed))
        assert hr_patch.shape == (1, 1, 4, 4) and lr_patch is not None
        assert np.array_equal(lr_patch, hr_patch[:, :, ::2, ::2])  # same region, LR grid
        assert to_model_axes(hr_patch, spec.axes_for(src)).shape == (1, 4, 4)
    with pytest.raises(MedsrError, match="3D model needs volumes"):
        SamplingSpec(dims=3, patch=(4, 4, 4), scale=(2.0,) * 3).axes_for(_source(hr[..., :1]))
