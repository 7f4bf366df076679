"""G-GAN (review ref. [53]): the factor grows stage by stage, LSGAN terms move G and D."""

from pathlib import Path

import lightning as L
import pytest
import torch

from medsr.errors import MedsrError
from medsr.train.config import load_config, parse_config
from medsr.train.gan.ggan import Stage, stage_at
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]


class _Watch(L.Callback):
    """Records the stage of every batch, the logged LSGAN terms, and the weights at the start
    and after the first stage."""

    def __init__(self, first_stage_steps: int) -> None:
        self.first = first_stage_steps
        self.stages: list[Stage] = []
        self.adv_g: list[float] = []
        self.loss_d: list[float] = []

    @staticmethod
    def _copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in module.named_parameters()}

    def on_train_start(self, trainer, pl_module):
        self.module = pl_module
        self.g0 = self._copy(pl_module.model)
        self.d0 = self._copy(pl_module.discriminator)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.stages.append(pl_module.stage())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        m = trainer.callback_metrics
        self.adv_g.append(float(m["train/adv_g"]))
        self.loss_d.append(float(m["train/loss_d"]))
        if trainer.global_step == self.first:
            self.g_stage1 = self._copy(pl_module.model)


def _moved(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor], prefix: str) -> float:
    keys = [k for k in before if k.startswith(prefix)]
    return sum(not torch.equal(before[k], after[k].detach().cpu()) for k in keys) / len(keys)


def test_stage_schedule_and_fade_in():
    assert stage_at(0, [3, 3]) == Stage(0, 1.0)
    assert stage_at(2, [3, 3]) == Stage(0, 1.0)
    assert stage_at(3, [3, 3], fade_steps=2) == Stage(1, 0.0)
    assert stage_at(4, [3, 3], fade_steps=2) == Stage(1, 0.5)
    assert stage_at(5, [3, 3], fade_steps=2) == Stage(1, 1.0)
    assert stage_at(6, [3, 3]).factor == 8


def test_ggan_grows_the_factor_and_trains_both_networks_with_lsgan(tiny_config):
    cfg = tiny_config(
        task="ggan",
        model={"name": "progressive_gan", "preset": "tiny", "scale": 4, "dims": 2},
        discriminator={"name": "srgan_d", "preset": "tiny"},
        data={"patch_size": 32},
        loss={"terms": {"l2": {"weight": 1.0}}},
        adversarial={"kind": "lsgan", "weight": 1.0},
        gradual={"stage_steps": 2, "fade_steps": 2},
        train={"max_steps": 5, "checkpoint_every": 5, "log_every": 1, "progress": "none",
               "threads": 1},
    )
    watch = _Watch(first_stage_steps=2)
    result = train(parse_config(cfg), callbacks=[watch])
    assert result.global_step == 5
    # x2 for two steps, then x4 fading in over two steps
    assert [s.factor for s in watch.stages] == [2, 2, 4, 4, 4]
    assert [s.alpha for s in watch.stages] == [1.0, 1.0, 0.0, 0.5, 1.0]
    # the least-squares terms are live every step
    assert all(v > 1e-6 for v in watch.adv_g) and all(v > 1e-6 for v in watch.loss_d)
    # stage 1 trains level 1 only; the x4 level joins in stage 2
    assert _moved(watch.g0, watch.g_stage1, "stages.0.") == 1.0
    assert _moved(watch.g0, watch.g_stage1, "stages.1.") == 0.0
    g_end = dict(watch.module.model.named_parameters())
    assert _moved(watch.g0, g_end, "stages.1.") == 1.0
    assert _moved(watch.d0, dict(watch.module.discriminator.named_parameters()), "") == 1.0
    # the exported network is the whole x4 generator
    assert (result.run_dir / "model.safetensors").is_file()


def test_ggan_recipe_and_its_rules(tiny_config):
    cfg = load_config(ROOT / "configs" / "ggan.yaml", ["profile=cpu"])
    assert cfg.task == "ggan" and cfg.adversarial.kind == "lsgan"
    assert cfg.gradual.stage_steps == [250]
    # MSE pre-training of G inside the x2 stage, then MSE + LSGAN (both terms on to the end)
    assert 0 < cfg.adversarial.g_warmup_steps < cfg.gradual.stage_steps[0]
    assert cfg.adversarial.weight > 0 and cfg.loss.terms["l2"]["weight"] > 0
    base = tiny_config(
        task="ggan",
        model={"name": "progressive_gan", "preset": "tiny", "scale": 4, "dims": 2},
        discriminator={"name": "srgan_d", "preset": "tiny"},
        data={"patch_size": 32},
        adversarial={"kind": "vanilla"},
        gradual={"stage_steps": 2},
    )
    with pytest.raises(MedsrError, match="least-squares"):
        parse_config(base)
    base["adversarial"]["kind"] = "lsgan"
    base["model"]["scale"] = 3
    with pytest.raises(MedsrError, match="powers of two"):
        parse_config(base)
