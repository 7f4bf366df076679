"""Mansoor et al. 2018 (review ref. [71]): SRGAN on slices of all three planes of a volume
(``data.slice_axis: [0, 1, 2]``), LR by Gaussian smoothing + down-sampling."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.io import read, write
from medsr.train.builders import build_datamodule, build_model, build_task
from medsr.train.config import load_config, parse_config
from medsr.volume import Volume


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A 40x48x56 block of the real T1 whose three axis lengths differ, so a patch's plane can be
    recognised; its data are the T1 intensities."""
    t1 = read(shared_data / "medical" / "chris_t1.nii.gz")
    block = t1.data[:, 70:110, 100:148, 70:126].astype(np.float32)
    out = tmp_path_factory.mktemp("planes") / "t1.nii.gz"
    write(Volume(block, t1.affine), out, dtype="float32")
    return out


def _cfg(path: Path, out: Path, **data: object):
    return parse_config(
        load_config("configs/mansoor.yaml", ["profile=cpu"]).model_dump(mode="json")
        | {"output_dir": str(out)},
        # 32-voxel patches fit the 40x48x56 block (the cpu profile's 48 do not); no validation
        [f"data.train.hr_dir={path}", "train.threads=1", "data.patch_size=32", "data.val=null"]
        + [f"data.{k}={v}" for k, v in data.items()],
    )


def test_batches_come_from_all_three_planes(marked: Path, tmp_path: Path) -> None:
    """Samples are slices across each of the three axes (their slice_axis tag and their content:
    each HR patch is found in the volume as a slice across that axis), and one batch mixes them."""
    cfg = _cfg(
        marked,
        tmp_path,
        **{"augment.flip": "false", "augment.rot90": "false", "augment.transpose": "false"},
    )
    assert cfg.data.slice_axis == [0, 1, 2] and cfg.data.degradation.startswith("bd")
    dm, _, _ = build_datamodule(cfg)
    ds = dm.train_set
    src = ds.sources[0]
    vol = src.norm.forward(src.hr)[0]
    seen = Counter()
    for i in range(30):
        s = ds[(0, i)]
        axis = int(s["slice_axis"])
        seen[axis] += 1
        patch = s["hr"][0].numpy()
        assert patch.shape == (32, 32) and s["lr"].shape == (1, 16, 16)
        found = any(
            np.allclose(np.take(vol, k, axis=axis)[x : x + 32, y : y + 32], patch)
            for k in range(vol.shape[axis])
            for x in range(np.take(vol, k, axis=axis).shape[0] - 31)
            for y in range(np.take(vol, k, axis=axis).shape[1] - 31)
            if abs(float(np.take(vol, k, axis=axis)[x, y]) - float(patch[0, 0])) < 1e-6
        )
        assert found, f"sample {i} is no slice across axis {axis}"
    assert set(seen) == {0, 1, 2} and min(seen.values()) >= 5, seen
    batch = next(iter(dm.train_dataloader()))
    assert len(set(batch["slice_axis"].tolist())) >= 2


def test_lr_is_gaussian_smoothing_and_downsampling(marked: Path, tmp_path: Path) -> None:
    """The LR slice is the HR slice blurred by a Gaussian and decimated (bd operator)."""
    from scipy import ndimage

    cfg = _cfg(
        marked,
        tmp_path,
        **{"augment.flip": "false", "augment.rot90": "false", "augment.transpose": "false"},
    )
    dm, _, _ = build_datamodule(cfg)
    s = dm.train_set[(0, 3)]
    hr, lr = s["hr"][0].numpy().astype(np.float64), s["lr"][0].numpy()
    blurred = ndimage.gaussian_filter(hr, 1.0, mode="reflect")
    decimated = blurred[0::2, 0::2]
    other = blurred[1::2, 1::2]
    err = min(np.abs(decimated - lr).mean(), np.abs(other - lr).mean())
    assert err < 0.05 * np.abs(lr).mean(), err
    assert np.abs(hr[::2, ::2] - lr).mean() > 2 * err  # not plain decimation


def test_srgan_trains_on_the_three_planes(marked: Path, tmp_path: Path) -> None:
    """A few SRGAN steps of the recipe: content and adversarial terms non-zero, G and D move."""
    cfg = _cfg(marked, tmp_path)
    dm, norm, _ = build_datamodule(cfg)
    model = build_model(cfg)
    task = build_task(cfg, model, norm)
    batch = next(iter(dm.train_dataloader()))
    g0 = [p.detach().clone() for p in model.parameters()]
    d0 = [p.detach().clone() for p in task.discriminator.parameters()]
    opt_g = torch.optim.Adam(model.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(task.discriminator.parameters(), lr=1e-3)
    sr = model(batch["lr"])
    content, _ = task.loss(sr, batch["hr"])
    loss_d = task._d_loss(batch["hr"], sr.detach(), task.discriminator)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    adv = task.adv.generator_loss(task.discriminator(sr), None)
    opt_g.zero_grad()
    (content + task.acfg.weight * adv).backward()
    opt_g.step()
    assert float(content.detach()) > 0 and float(adv.detach()) > 0 and float(loss_d.detach()) > 0
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, task.discriminator.parameters()))


def test_slice_axis_list_is_checked() -> None:
    base = {"name": "x", "model": {"name": "srcnn"}, "data": {"train": {"hr_dir": "."}}}
    for bad in ([0, 0], [3], []):
        with pytest.raises(MedsrError, match="slice_axis"):
            parse_config(base, [f"data.slice_axis={bad}"])
    assert parse_config(base, ["data.slice_axis=[1]"]).data.slice_axis == 1
