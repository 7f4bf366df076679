"""CT recipes of the review section 4: Umehara et al.'s SRCNN on CT (ref. [69],
``configs/umehara_ct.yaml``) and Park et al.'s U-Net (ref. [70], ``configs/unet_sr_ct.yaml``, LR
by averaging adjacent thin slices), on the real head CT with held-out slices and CT windows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.io import read
from medsr.normalise import Normaliser
from medsr.train.builders import build_datamodule
from medsr.train.config import load_config
from medsr.train.degradation import make_degradation
from medsr.train.run import train
from medsr.train.sources import keep_slices

ROOT = Path(__file__).resolve().parents[2]
UMEHARA = ROOT / "configs" / "umehara_ct.yaml"
PARK = ROOT / "configs" / "unet_sr_ct.yaml"


@pytest.mark.parametrize("path", [UMEHARA, PARK], ids=lambda p: p.stem)
def test_ct_recipes_validate_with_held_out_slices_and_a_ct_window(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.data.train.hr_dir.endswith("CT_pitch.nii.gz") and cfg.data.slice_axis == 2
    train_slices, val_slices = cfg.data.train.slices, cfg.data.val.slices
    assert train_slices[0] == 0 and train_slices[1] < val_slices[0]  # never the same slices
    assert cfg.data.normalisation.kind == "minmax"
    hu = load_config(path, ["profile=hu"])
    assert hu.data.normalisation.params == {"min": -1000.0, "max": 2000.0}
    assert load_config(path, ["profile=cpu"]).train.max_steps <= 2000


def test_park_recipe_makes_lr_by_averaging_adjacent_thin_slices() -> None:
    cfg = load_config(PARK)
    assert cfg.data.degradation == "thick:profile=rect"
    factors = (1.0, *[float(s) for s in cfg.model.scale_tuple()])  # (1, 1, 4): axial (X, Y)
    factors = (factors[1], factors[2], 1.0)
    op = make_degradation(cfg.data.degradation, factors)
    hr = np.random.default_rng(0).normal(size=(1, 6, 16, 2)).astype(np.float32)
    lr = op.apply_array(hr, None)
    expected = hr.reshape(1, 6, 4, 4, 2).mean(axis=3)  # LR row j = mean of thin rows 4j..4j+3
    np.testing.assert_allclose(lr, expected, atol=1e-5)


def test_hu_window_normalisation_round_trips(shared_data: Path) -> None:
    window = Normaliser.from_dict({"kind": "minmax", "params": {"min": -1000, "max": 2000}})
    hu = np.array([-1024.0, -1000.0, -40.0, 40.0, 500.0, 2000.0, 3071.0], dtype=np.float32)
    n = window.forward(hu)
    np.testing.assert_allclose(n[[1, 4, 5]], [0.0, 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(window.inverse(n), hu, atol=1e-3)  # outside the window too
    ct = read(shared_data / "medical" / "CT_pitch.nii.gz").data
    display = Normaliser.from_dict(load_config(UMEHARA).data.normalisation.model_dump())
    assert float(display.forward(ct).min()) == 0.0 and float(display.forward(ct).max()) == 1.0
    np.testing.assert_allclose(display.inverse(display.forward(ct)), ct, atol=1e-4)


def test_keep_slices_and_its_errors() -> None:
    hr = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(keep_slices(hr, (1, 3), 2, "x"), hr[:, :, :, 1:3])
    np.testing.assert_array_equal(keep_slices(hr, (-2, 99), 0, "x"), hr[:, 1:])
    with pytest.raises(MedsrError, match="keeps no slice"):
        keep_slices(hr, (4, 4), 1, "x")


def test_umehara_recipe_trains_a_few_steps_on_ct_slices(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # recipe data paths are relative to the repository root
    overrides = [
        f"output_dir={tmp_path / 'run'}",
        "model.preset=tiny",
        "train.max_steps=3",
        "train.checkpoint_every=3",
        "train.val_every=3",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
        "data.batch_size=2",
        "data.val_slices=1",
        "data.patch_size=24",
        "data.val_crop=[48, 48]",
    ]
    cfg = load_config(UMEHARA, overrides)
    dm, _, _ = build_datamodule(cfg)
    assert [s.shape for s in dm.train_set.sources] == [(175, 248, 44)]
    ct = read(shared_data / "medical" / "CT_pitch.nii.gz").data[0] / 255.0
    for item in dm.val_set.items:  # every validation slice is one of the held-out slices 46-57
        hr = item["hr"][0].numpy()
        x0, y0 = (175 - hr.shape[0]) // 2, (248 - hr.shape[1]) // 2
        crop = ct[x0 : x0 + hr.shape[0], y0 : y0 + hr.shape[1]]
        match = [z for z in range(ct.shape[2]) if np.allclose(crop[..., z], hr, atol=1e-5)]
        assert match and all(46 <= z < 58 for z in match)
    threads = torch.get_num_threads()
    try:
        result = train(UMEHARA, overrides)
    finally:
        torch.set_num_threads(threads)
    assert result.global_step == 3 and result.weights.is_file()
    assert math.isfinite(result.metrics["val/psnr"])
