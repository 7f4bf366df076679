"""CinCGAN (review ref. [52]): unpaired LR/HR domains, every loss term live, every network moves."""

from pathlib import Path

import lightning as L
import pytest
import torch

from medsr.errors import MedsrError
from medsr.train.builders import build_datamodule
from medsr.train.config import load_config, parse_config
from medsr.train.gan.cincgan import highpass, squared_tv
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
INNER = ("inner_gan", "inner_cycle", "inner_identity", "inner_tv")
OUTER = ("outer_gan", "outer_cycle", "outer_identity", "outer_tv")
NETS = ("model", "g1", "g2", "g3", "discriminator", "discriminator_hr")


def _cincgan(tiny_config, **train):
    return tiny_config(
        task="cincgan",
        model={"name": "edsr", "preset": "tiny", "scale": 2, "dims": 2},
        discriminator={"name": "patchgan_d", "preset": "tiny"},
        data={"patch_size": 32, "degradation": "bd+gaussian:0.02"},
        loss={"terms": {"l1": {"weight": 1.0}}},
        adversarial={"kind": "lsgan", "weight": 1.0},
        cincgan={"generator_channels": 8, "generator_blocks": 1, "inner_steps": 1},
        train={"max_steps": 3, "checkpoint_every": 3, "log_every": 1, "progress": "none",
               "threads": 1, **train},
    )


class _Watch(L.Callback):
    def on_train_start(self, trainer, pl_module):
        self.module = pl_module
        self.start = {n: self._copy(getattr(pl_module, n)) for n in NETS}
        self.logged: list[dict[str, float]] = []

    @staticmethod
    def _copy(net):
        return {k: v.detach().clone() for k, v in net.named_parameters()}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        m = trainer.callback_metrics
        self.logged.append({k[6:]: float(v) for k, v in m.items() if k.startswith("train/")})
        if trainer.global_step == 1:  # after the inner-cycle-only step
            self.after_inner = {n: self._copy(getattr(pl_module, n)) for n in NETS}


def _moved(before, after) -> float:
    return sum(not torch.equal(v, after[k].detach().cpu()) for k, v in before.items()) / len(before)


def test_lr_and_hr_batches_come_from_disjoint_images(tiny_config):
    cfg = parse_config(_cincgan(tiny_config))
    dm, _, files = build_datamodule(cfg)
    ds = dm.train_set
    lr_names = {s.name for s in ds.lr_domain.sources}
    hr_names = {s.name for s in ds.sources}
    assert lr_names and hr_names and not lr_names & hr_names
    assert lr_names | hr_names == set(files)
    for i in range(8):
        item = ds[(0, i)]
        assert ds.all_sources[int(item["lr_source"])].name in lr_names
        assert ds.all_sources[int(item["hr_source"])].name in hr_names
        # x: a degraded LR-domain patch; z: the clean bicubic LR of the HR patch y
        assert item["lr"].shape == item["lr_clean"].shape == (1, 16, 16)
        assert item["hr"].shape == (1, 32, 32)


def test_every_loss_term_is_live_and_every_network_moves(tiny_config, shared_data):
    watch = _Watch()
    cfg = _cincgan(tiny_config)
    val = {"hr_dir": str(shared_data / "natural" / "CSun_Hays80"), "limit": 1}
    cfg["data"].update(val=val, val_crop=32)
    result = train(parse_config(cfg), callbacks=[watch])
    assert result.global_step == 3
    # validation scores the chain SR(G1(x)) and both interpolation baselines
    assert {"val/psnr", "val/psnr_interp", "val/psnr_interp_raw"} <= set(result.metrics)
    first, joint = watch.logged[0], watch.logged[1:]
    # step 1: the inner cycle alone (the paper trains it first)
    assert all(first[k] > 0 for k in INNER) and not any(k in first for k in OUTER)
    assert _moved(watch.start["model"], watch.after_inner["model"]) == 0.0
    assert _moved(watch.start["g3"], watch.after_inner["g3"]) == 0.0
    # then both cycles, every named term non-zero
    for step in joint:
        assert all(step[k] > 0 for k in INNER + OUTER + ("loss_d1", "loss_d2")), step
    for name in NETS:
        assert _moved(watch.start[name], dict(getattr(watch.module, name).named_parameters())) \
            == 1.0, name
    assert (result.run_dir / "model.safetensors").is_file()


def test_squared_tv_and_config_rules(tiny_config):
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 4, 5)
    assert squared_tv(ramp).item() == pytest.approx(1.0)  # slope 1 along one axis only
    cfg = load_config(ROOT / "configs" / "cincgan.yaml", ["profile=cpu"])
    assert cfg.task == "cincgan" and cfg.cincgan.inner_steps == 100
    assert cfg.cincgan.sr_pretrain  # the paper's SR starts trained on bicubic pairs
    # the profile trains on the recipe's own LR domain (noise 0.02), with D1 on the detail band
    recipe = load_config(ROOT / "configs" / "cincgan.yaml")
    assert cfg.data.degradation == recipe.data.degradation == "bd+gaussian:0.02"
    assert cfg.cincgan.d1_input == "highpass" and recipe.cincgan.d1_input == "image"
    # the cpu profile keeps every term of the paper on (the GAN terms small, not off)
    c = cfg.cincgan
    weights = (c.cycle_weight, c.identity_weight, c.tv_weight, c.outer_cycle_weight)
    assert min(*weights, c.outer_identity_weight, c.outer_tv_weight, cfg.adversarial.weight) > 0
    bad = _cincgan(tiny_config)
    bad["loss"] = {"terms": {"l2": {"weight": 1.0}}}
    with pytest.raises(MedsrError, match="fixed by the paper"):
        parse_config(bad)
    bad = _cincgan(tiny_config)
    bad["adversarial"]["kind"] = "vanilla"
    with pytest.raises(MedsrError, match="least squares"):
        parse_config(bad)


def test_sr_pretrain_trains_sr_on_bicubic_pairs_during_the_inner_phase(tiny_config):
    """``cincgan.sr_pretrain``: the inner steps also fit SR to the HR domain's bicubic pairs
    (Yuan et al. 2018 start SR from an EDSR trained on bicubic pairs); G3 and the outer cycle
    still wait for the joint phase."""
    watch = _Watch()
    cfg = _cincgan(tiny_config, max_steps=2, checkpoint_every=2)
    cfg["cincgan"].update(inner_steps=2, sr_pretrain=True, inner_gan_weight=0.5,
                          outer_gan_weight=0.0)
    result = train(parse_config(cfg), callbacks=[watch])
    assert result.global_step == 2
    for step in watch.logged:
        assert step["sr_pretrain"] > 0 and all(step[k] > 0 for k in INNER), step
        assert not any(k in step for k in OUTER), step
    assert _moved(watch.start["model"], watch.after_inner["model"]) == 1.0
    assert _moved(watch.start["g3"], watch.after_inner["g3"]) == 0.0
    assert watch.module.gan_weights() == (0.5, 0.0)
    # without the option SR stays put in the inner phase (the existing behaviour)
    plain = parse_config(_cincgan(tiny_config))
    assert plain.cincgan.sr_pretrain is False and plain.cincgan.inner_gan_weight is None


class _CriticSteps(L.Callback):
    """Counts the critics' optimiser steps (the raw optimiser: they are not global steps)."""

    def on_train_start(self, trainer, pl_module):
        self.calls = 0
        opt_d = trainer.optimizers[1]
        step = opt_d.step

        def counted(*a, **k):
            self.calls += 1
            return step(*a, **k)

        opt_d.step = counted


def test_d_steps_updates_the_critics_that_many_times_per_step(tiny_config):
    """``adversarial.d_steps`` is honoured (it was silently ignored): 3 steps x 2 critic updates."""
    cfg = _cincgan(tiny_config)
    cfg["adversarial"]["d_steps"] = 2
    watch = _CriticSteps()
    result = train(parse_config(cfg), callbacks=[watch])
    assert result.global_step == 3 and watch.calls == 6


def test_highpass_removes_the_content_and_keeps_white_noise():
    """``highpass`` (the ``d1_input: highpass`` view, not in Yuan et al. 2018): a constant or
    smooth image gives ~0, white noise comes through nearly whole (2-D and 3-D, any channels)."""
    const = torch.full((2, 3, 24, 24), 0.7)
    assert highpass(const, 1.0).abs().max() < 1e-6
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    assert highpass(ramp, 1.0)[..., 4:-4].abs().max() < 1e-5  # linear: the blur keeps it
    g = torch.Generator().manual_seed(0)
    for shape in ((4, 2, 64, 64), (2, 1, 24, 24, 24)):
        noise = 0.02 * torch.randn(shape, generator=g)
        hp = highpass(noise, 1.0)
        assert hp.shape == noise.shape
        # white noise minus its sigma-1 blur keeps most of its energy (> 75 % of the std)
        assert 0.75 * 0.02 < float(hp.std()) < 0.02
        assert float(torch.corrcoef(torch.stack([hp.flatten(), noise.flatten()]))[0, 1]) > 0.85
    # an image plus noise: the view is dominated by the noise, not by the image
    img = ramp + 0.02 * torch.randn(ramp.shape, generator=g)
    with pytest.raises(MedsrError, match="spatial axes"):
        highpass(img[0, 0], 1.0)
    assert float((highpass(img, 1.0) - (img - ramp))[..., 4:-4].abs().mean()) < 0.006


class _D1Inputs(L.Callback):
    """Records the batches and what D1 is fed (the generator's call, then the critic's two)."""

    def on_train_start(self, trainer, pl_module):
        self.batches, self.inputs = [], []
        pl_module.discriminator.register_forward_pre_hook(
            lambda mod, args: self.inputs.append(args[0].detach().clone())
        )

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batches.append({k: v.detach().clone() for k, v in batch.items()})


@pytest.mark.parametrize("view", ["image", "highpass"])
def test_d1_input_chooses_what_d1_judges(tiny_config, view):
    """``cincgan.d1_input``: ``image`` (the paper) feeds D1 ``z`` itself; ``highpass`` feeds it
    ``gain * highpass(z)`` (and of ``G1(x)``); the steps train and log ``loss_d1``."""
    cfg = _cincgan(tiny_config, max_steps=2, checkpoint_every=2)
    cfg["cincgan"].update(d1_input=view, d1_highpass_gain=3.0)
    watch, logged = _D1Inputs(), _Watch()
    result = train(parse_config(cfg), callbacks=[watch, logged])
    assert result.global_step == 2
    assert all(step["loss_d1"] > 0 for step in logged.logged)
    assert len(watch.inputs) == 3 * 2  # per step: G1's GAN term, then the critic's real / fake
    z = watch.batches[0]["lr_clean"]
    real = watch.inputs[1]
    expected = z if view == "image" else 3.0 * highpass(z, 1.0)  # the gain: highpass only
    assert torch.allclose(real, expected, atol=1e-6)
    if view == "highpass":
        assert real.mean().abs() < 0.05 < z.mean()  # the content (mean level) is gone
    assert parse_config(_cincgan(tiny_config)).cincgan.d1_input == "image"  # the paper's default
    bad = _cincgan(tiny_config)
    bad["cincgan"]["d1_input"] = "edges"
    with pytest.raises(MedsrError, match="d1_input"):
        parse_config(bad)
