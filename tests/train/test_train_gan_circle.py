"""GAN-CIRCLE (review ref. [72], You et al. 2020) trains from its recipe on the real T1 scan: every
loss term of the paper (supervised, adversarial, cycle + identity, joint sparsifying transform) is
non-zero and moves the weights it should; in the unpaired profile LR and HR patches come from
different images and the supervised term is absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from train_helpers import ROOT, StepRecorder, grad_norm, run_recipe, short_run

from medsr.errors import MedsrError
from medsr.train.config import load_config, parse_config
from medsr.train.gan.circle import GANCircleSR, UnpairedScans, jst_loss
from medsr.train.run import train

RECIPE = ROOT / "configs" / "gan_circle.yaml"
NETS = ("model", "down", "discriminator", "discriminator_lr")  # G, F, D_Y, D_X


def _recorder() -> StepRecorder:
    """Records which of G, F, D_Y, D_X moved (every kernel of each) and keeps a batch."""
    return StepRecorder(lambda m: {n: getattr(m, n).parameters() for n in NETS}, every_kernel=True)


def _run(tmp: Path, profile: str | None) -> tuple[Any, StepRecorder]:
    overrides = short_run(tmp / "run", 3) + [
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "data.val=null",
        "data.patch_size=48",
        "data.batch_size=2",
    ]
    if profile is not None:
        overrides.append(f"profile={profile}")
    return run_recipe(RECIPE, overrides, _recorder())


@pytest.fixture(scope="module")
def paired_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, StepRecorder]:
    return _run(tmp_path_factory.mktemp("gan_circle"), None)


@pytest.fixture(scope="module")
def unpaired_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, StepRecorder]:
    return _run(tmp_path_factory.mktemp("gan_circle_unpaired"), "unpaired")


def _grad_norms(task: GANCircleSR, loss: torch.Tensor) -> dict[str, float]:
    """Gradient norm of ``loss`` over each network's parameters."""
    return {
        name: grad_norm(loss, [p for p in getattr(task, name).parameters() if p.requires_grad])
        for name in NETS
    }


def test_recipe_matches_the_paper() -> None:
    cfg = load_config(RECIPE)
    c = cfg.cycle
    assert cfg.task == "cycle" and cfg.model.name == "gan_circle"
    assert cfg.discriminator.name == "gan_circle_d" and cfg.adversarial.kind == "wgan_gp"
    assert not c.unpaired and c.lr_domain is None
    assert min(c.supervised_weight, c.cycle_weight, c.identity_weight, c.jst_weight) > 0
    unpaired = load_config(RECIPE, ["profile=unpaired"]).cycle
    assert unpaired.unpaired and unpaired.lr_domain is not None


def test_jst_is_tau_tv_plus_error_tv() -> None:
    y = torch.zeros(1, 1, 6, 6)
    y[..., 3:] = 1.0  # one vertical edge: TV = 1 / 5 (mean over the 5 differences per row)
    flat = torch.zeros_like(y)
    assert float(jst_loss(flat, y, 0.3)) == pytest.approx(0.7 * 0.2)
    assert float(jst_loss(y, y, 0.3)) == pytest.approx(0.3 * 0.2)
    with pytest.raises(MedsrError, match="tau"):
        jst_loss(y, y, 1.5)


def test_paired_every_term_non_zero_and_every_network_trains(paired_run) -> None:
    result, rec = paired_run
    assert result.global_step == 3 and isinstance(rec.task, GANCircleSR)
    for step in rec.steps:
        for term in ("supervised", "adv_g", "cycle", "identity", "jst", "loss_d"):
            value = step["logged"][f"train/{term}"]
            assert value != 0.0 and torch.isfinite(torch.tensor(value)), term
        assert all(step["moved"].values()), step["moved"]
    # each term alone pulls on the networks the paper gives it (JST is a loss of G only)
    task = rec.task
    task.train()
    terms, _ = task.generator_terms(rec.batch["lr"], rec.batch["hr"])
    assert set(terms) == {"supervised", "adv_g", "cycle", "identity", "jst"}
    for name, loss in terms.items():
        norms = _grad_norms(task, loss)
        assert norms["model"] > 0, name
        assert (norms["down"] > 0) == (name != "jst"), (name, norms)
        assert norms["discriminator"] == 0 and norms["discriminator_lr"] == 0, name
    # the critics' WGAN-GP loss moves both critics
    sr, lr_fake = task.model(rec.batch["lr"]).detach(), task.down(rec.batch["hr"]).detach()
    loss_d = task._d_loss(rec.batch["hr"], sr, task.discriminator) + task._d_loss(
        rec.batch["lr"], lr_fake, task.discriminator_lr, 1
    )
    norms = _grad_norms(task, loss_d)
    assert norms["discriminator"] > 0 and norms["discriminator_lr"] > 0


def test_unpaired_lr_and_hr_come_from_different_images(unpaired_run) -> None:
    result, rec = unpaired_run
    assert result.global_step == 3
    data = rec.dataset
    assert isinstance(data, UnpairedScans)
    # HR domain: axial slices 0-75 of the scan, LR domain: slices 76-151 (no slice in common)
    (hr_src,), (lr_src,) = data.sources, data.lr_domain.sources
    assert hr_src is not lr_src and hr_src.shape[2] == lr_src.shape[2] == 76
    assert not torch.equal(torch.from_numpy(hr_src.hr), torch.from_numpy(lr_src.hr))
    item = data[0]
    assert int(item["lr_source"]) != int(item["hr_source"])
    assert tuple(item["lr"].shape[1:]) == (24, 24) and tuple(item["hr"].shape[1:]) == (48, 48)
    for step in rec.steps:
        assert "train/supervised" not in step["logged"]
        for term in ("adv_g", "cycle", "identity", "jst", "loss_d"):
            assert step["logged"][f"train/{term}"] != 0.0, term
        assert all(step["moved"].values()), step["moved"]
    terms, _ = rec.task.generator_terms(rec.batch["lr"], rec.batch["hr"])
    assert "supervised" not in terms


def test_unpaired_split_of_images_and_refusals(tiny_config) -> None:
    base = {
        "task": "cycle",
        "discriminator": {"name": "gan_circle_d", "preset": "tiny"},
        "adversarial": {"kind": "wgan_gp"},
        "loss": {"terms": {"tv": {"weight": 0.0}}},
    }
    cfg = tiny_config(
        **base,
        model={"name": "gan_circle", "preset": "tiny", "scale": 2, "dims": 2, "in_channels": 1},
        cycle={"unpaired": True, "identity_weight": 0.5, "jst_weight": 1.0},
        data={"patch_size": 32},
        train={"max_steps": 1, "checkpoint_every": 1, "progress": "none", "threads": 1},
    )
    rec = _recorder()
    train(parse_config(cfg), callbacks=[rec])  # four CBSD68 crops: 2 LR-domain, 2 HR-domain
    data = rec.dataset
    lr_names = {s.name for s in data.lr_domain.sources}
    hr_names = {s.name for s in data.sources}
    assert len(lr_names) == len(hr_names) == 2 and not lr_names & hr_names
    # overlapping slices of one scan in both domains are refused
    bad = tiny_config(**base, cycle={"unpaired": True, "lr_domain": {"hr_dir": "x"}})
    bad["data"]["train"]["hr_dir"] = bad["cycle"]["lr_domain"]["hr_dir"] = cfg["data"]["train"][
        "hr_dir"
    ]
    with pytest.raises(MedsrError, match="cycle.lr_domain"):
        train(parse_config(bad))
    paired = tiny_config(**base, cycle={"unpaired": False, "lr_domain": {"hr_dir": "x"}})
    with pytest.raises(MedsrError, match="cycle.lr_domain"):
        parse_config(paired)
