"""Sanchez & Vilaplana 2018 (review ref. [77]): 3D SRGAN with three selectable up-sampling layers;
ICNR sub-pixel starts without checkerboard, plain sub-pixel does not; all three train (LSGAN +
MSE + gradient term)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medsr.bench.upsampling import initial_period2
from medsr.errors import MedsrError
from medsr.io import read, write
from medsr.models import create_model
from medsr.models.medical.sanchez import UPSAMPLING, period2_energy
from medsr.train.builders import build_datamodule, build_model, build_task
from medsr.train.config import load_config
from medsr.volume import Volume

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def t1(shared_data: Path) -> np.ndarray:
    return read(shared_data / "medical" / "chris_t1.nii.gz").data[0]


def test_period2_energy_measures_the_checkerboard() -> None:
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(1, 1, 16, 16, 16, generator=g)
    nearest = F.interpolate(noise, scale_factor=2, mode="nearest")
    assert period2_energy(nearest) < 1e-12
    sign = torch.tensor([1.0, -1.0]).repeat(16)
    checker = sign[:, None, None] * sign[None, :, None] * sign[None, None, :]
    assert period2_energy(checker[None, None] + 0.01 * nearest) > 0.99
    assert 0.1 < period2_energy(noise) < 0.3  # 1 - (15/16)^3 of the frequencies touch Nyquist
    with pytest.raises(MedsrError):
        period2_energy(torch.zeros(1, 1, 5, 4, 4))


def test_icnr_starts_without_checkerboard(t1: np.ndarray) -> None:
    """On a real 32^3 T1 block the untrained generator's x2 output has almost no period-2
    energy with ICNR sub-pixel or nearest + conv (borders only), and a strong one with plain
    sub-pixel convolution."""
    c = [n // 2 for n in t1.shape]
    block = t1[c[0] - 16 : c[0] + 16, c[1] - 16 : c[1] + 16, c[2] - 16 : c[2] + 16]
    e = initial_period2(block, preset="tiny", seed=0)
    assert e["nearest_input"] < 1e-12
    assert e["subpixel_icnr"] < 0.01 and e["nearest_conv"] < 0.01
    assert e["subpixel"] > 0.2
    assert e["subpixel"] > 50 * e["subpixel_icnr"]


def test_upsampling_is_selectable_and_checked() -> None:
    kinds = {
        k: type(create_model("sanchez_gan3d", scale=2, preset="tiny", upsampling=k).upsample)
        for k in UPSAMPLING
    }
    assert kinds["nearest_conv"].__name__ == "ResizeConvUpsample"
    assert kinds["subpixel"].__name__ == kinds["subpixel_icnr"].__name__ == "SubPixelUpsample"
    with pytest.raises(MedsrError, match="upsampling"):
        create_model("sanchez_gan3d", scale=2, preset="tiny", upsampling="bilinear")


@pytest.mark.parametrize("kind", UPSAMPLING)
def test_all_three_train(kind: str, t1: np.ndarray, tmp_path: Path, monkeypatch) -> None:
    """One LSGAN step of the recipe with each up-sampling layer: the least-squares critic and
    generator terms, MSE and the gradient term are all non-zero; G (its up-sampler too) and D
    change."""
    monkeypatch.chdir(ROOT)
    block = t1[70:102, 100:132, 80:112].astype(np.float32)
    path = tmp_path / "t1.nii.gz"
    write(Volume(block[None], np.eye(4)), path, dtype="float32")
    cfg = load_config(
        "configs/sanchez_gan3d.yaml",
        [
            "profile=cpu",
            f"data.train.hr_dir={path}",
            "data.val=null",
            f"output_dir={tmp_path}",
            f"model.kwargs.upsampling={kind}",
        ],
    )
    assert cfg.adversarial is not None and cfg.adversarial.kind == "lsgan"
    dm, norm, _ = build_datamodule(cfg)
    model = build_model(cfg)
    task = build_task(cfg, model, norm)
    batch = next(iter(dm.train_dataloader()))
    g0 = {k: v.detach().clone() for k, v in model.named_parameters()}
    d0 = [p.detach().clone() for p in task.discriminator.parameters()]
    opt_g = torch.optim.Adam(model.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(task.discriminator.parameters(), lr=1e-3)
    sr = model(batch["lr"])
    loss_d = task._d_loss(batch["hr"], sr.detach(), task.discriminator)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    content, parts = task.loss(sr, batch["hr"])
    adv = task.adv.generator_loss(task.discriminator(sr), None)
    opt_g.zero_grad()
    (content + task.acfg.weight * adv).backward()
    opt_g.step()
    assert float(parts["mse"]) > 0 and float(parts["gradient_difference"]) > 0
    assert float(adv.detach()) > 0 and float(loss_d.detach()) > 0
    changed = {k for k, v in model.named_parameters() if not torch.equal(g0[k], v)}
    assert any(k.startswith("upsample.") for k in changed) and any(
        k.startswith("head.") for k in changed
    )
    assert any(not torch.equal(a, b) for a, b in zip(d0, task.discriminator.parameters()))


def _keys_cubic_z2(x: np.ndarray) -> np.ndarray:
    """Reference x2 along the last axis: Keys' cubic (a = -0.5, MATLAB), half-sample symmetric
    borders, output centres at ``(j + 0.5) / 2 - 0.5`` in input voxels."""
    a = -0.5

    def w(d: np.ndarray) -> np.ndarray:
        d = np.abs(d)
        near = (a + 2) * d**3 - (a + 3) * d**2 + 1
        far = a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
        return np.where(d <= 1, near, np.where(d < 2, far, 0.0))

    n = x.shape[-1]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(2, 2)], mode="symmetric")
    out = np.zeros(x.shape[:-1] + (2 * n,))
    for j in range(2 * n):
        p = (j + 0.5) / 2 - 0.5
        i0 = int(np.floor(p))
        for k in range(i0 - 1, i0 + 3):
            out[..., j] += w(np.array(p - k)) * padded[..., k + 2]
    return out


def test_global_skip_adds_the_cubic_upsampled_input(t1: np.ndarray) -> None:
    """``global_skip`` (a deviation, not in the paper; off by default): with the output conv
    zeroed, the generator returns Keys' cubic x2 of a real T1 block along z, voxel for voxel;
    without it (the paper's generator) the same network returns zero."""
    c = [n // 2 for n in t1.shape]
    block = t1[c[0] - 6 : c[0] + 6, c[1] - 6 : c[1] + 6, c[2] - 8 : c[2] + 8].astype(np.float64)
    block = block / block.max()
    x = torch.from_numpy(block).float()[None, None]
    nets = {}
    for skip in (None, "cubic"):
        torch.manual_seed(0)
        net = create_model(
            "sanchez_gan3d", preset="tiny", scale=[1, 1, 2], dims=3, global_skip=skip
        ).eval()
        assert (net.skip is None) == (skip is None)
        with torch.no_grad():
            net.tail.weight.zero_()
            net.tail.bias.zero_()
        nets[skip] = net
    with torch.no_grad():
        plain, skipped = nets[None](x)[0, 0].numpy(), nets["cubic"](x)[0, 0].numpy()
    assert np.abs(plain).max() == 0.0
    reference = _keys_cubic_z2(block)
    assert skipped.shape == reference.shape
    np.testing.assert_allclose(skipped, reference, atol=1e-5)
    assert np.abs(reference[..., 1:-1] - np.repeat(block, 2, axis=-1)[..., 1:-1]).max() > 0.01
    assert create_model("sanchez_gan3d", preset="paper", scale=2).skip is None  # default: off
    with pytest.raises(MedsrError, match="global_skip"):
        create_model("sanchez_gan3d", preset="tiny", scale=2, global_skip="nearest")


def test_bspline_skip_is_cubic_bspline_interpolation(t1: np.ndarray) -> None:
    """``global_skip="bspline"`` (not in the paper): with the output conv zeroed the generator
    returns cubic B-spline interpolation of a real T1 block along z (scipy's order-3 spline with
    half-sample symmetric borders as the reference), up to the truncation of the cardinal
    spline."""
    from scipy.ndimage import map_coordinates

    c = [n // 2 for n in t1.shape]
    block = t1[c[0] - 6 : c[0] + 6, c[1] - 6 : c[1] + 6, c[2] - 10 : c[2] + 10].astype(np.float64)
    block = block / block.max()
    torch.manual_seed(0)
    net = create_model(
        "sanchez_gan3d", preset="tiny", scale=[1, 1, 2], dims=3, global_skip="bspline"
    ).eval()
    with torch.no_grad():
        net.tail.weight.zero_()
        net.tail.bias.zero_()
        out = net(torch.from_numpy(block).float()[None, None])[0, 0].numpy()
    grid = np.meshgrid(
        np.arange(12), np.arange(12), (np.arange(40) + 0.5) / 2 - 0.5, indexing="ij"
    )
    reference = map_coordinates(block, grid, order=3, mode="reflect")
    assert out.shape == reference.shape == (12, 12, 40)
    assert np.abs(out - reference).max() < 5e-4
    keys = _keys_cubic_z2(block)
    assert np.abs(keys - reference).max() > 10 * np.abs(out - reference).max()
