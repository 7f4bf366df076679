"""Training data: files, sampling determinism, LR = A(HR), pairs, foreground, augmentation."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.io import write
from medsr.train.data import (
    EpochSampler,
    PatchDataset,
    SamplingSpec,
    Source,
    ValidationDataset,
    list_files,
    load_sources,
    read_array,
    volume_referenced,
)
from medsr.train.normalise import Normaliser
from medsr.volume import Volume

NO_AUG = SimpleNamespace(
    flip=False, rot90=False, transpose=False, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)
ALL_AUG = SimpleNamespace(
    flip=True, rot90=True, transpose=True, noise_std=0.0, brightness=0.0, contrast=0.0, gamma=0.0
)


def _source(data: np.ndarray, name: str = "v", norm: Normaliser | None = None, **kw) -> Source:
    data = np.asarray(data, dtype=np.float32)
    n = (norm or Normaliser("none")).fit(data)
    return Source(name, data, n, is_2d=data.shape[3] == 1, **kw)


def test_list_files_folder_glob_single_and_errors(bsd_crops: Path, tmp_path: Path):
    files = list_files(str(bsd_crops))
    assert len(files) == 4 and files == sorted(files)
    assert list_files(str(bsd_crops), limit=2) == files[:2]
    assert list_files(str(bsd_crops), pattern=files[1].name) == [files[1]]
    assert list_files(str(bsd_crops / "*.png")) == files
    assert list_files(str(files[0])) == [files[0]]
    with pytest.raises(MedsrError, match="nowhere.*current directory"):
        list_files(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MedsrError, match="no readable images"):
        list_files(str(tmp_path / "empty"))


def test_read_array_colour_and_unreadable_file(shared_data: Path, tmp_path: Path):
    img = min((shared_data / "natural" / "CBSD68").glob("*.png"))
    y, is_2d = read_array(img, "y")
    rgb, _ = read_array(img, "rgb")
    assert is_2d and y.shape[0] == 1 and rgb.shape[0] == 3 and y.shape[1:] == rgb.shape[1:]
    assert 16.0 <= y.min() and y.max() <= 235.0  # BT.601 studio-range luma
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    with pytest.raises(MedsrError, match="broken.png"):
        load_sources(str(tmp_path))


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


def test_foreground_weighted_sampling_finds_the_object():
    vol = np.zeros((1, 64, 64, 64), dtype=np.float32)
    vol[0, 44:56, 4:16, 30:42] = 1000.0  # a small bright object in a large dark field
    vol += np.random.default_rng(0).normal(0, 1, vol.shape).astype(np.float32)
    spec_fg = SamplingSpec(
        dims=3, patch=(8, 8, 8), scale=(2.0, 2.0, 2.0), degradation="bicubic", augment=NO_AUG
    )
    from medsr.train.data import _foreground

    with_fg = PatchDataset(
        [_source(vol, foreground=_foreground(vol, "otsu", 50, 0))], spec_fg, length=40
    )
    without = PatchDataset([_source(vol)], spec_fg, length=40)
    hit = lambda ds: np.mean([float(ds[(0, i)]["hr"].max()) > 500 for i in range(40)])
    assert hit(with_fg) == 1.0
    assert hit(without) < 0.3


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


def test_noise_levels_refer_to_the_whole_volume():
    from medsr.degrade import parse_degradation

    vol = np.zeros((1, 8, 8, 8), dtype=np.float32)
    vol[0, 0, 0, 0] = 1000.0
    op = volume_referenced(parse_degradation("bicubic+gaussian:0.1", (2, 2, 2)), vol)
    noise = next(st for st in op.stages if type(st).__name__ == "GaussianNoise")
    assert noise.relative is False and noise.sigma == pytest.approx(100.0)


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
