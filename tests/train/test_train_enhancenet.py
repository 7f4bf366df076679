"""EnhanceNet-PAT recipe (review ref. [48]): perceptual + texture + adversarial terms train."""

from pathlib import Path

import lightning as L
import torch

from medsr.losses.perceptual import save_vgg19
from medsr.train.config import load_config
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "enhancenet.yaml"


class _Terms(L.Callback):
    def __init__(self) -> None:
        self.logged: list[dict[str, float]] = []

    def on_train_start(self, trainer, pl_module):
        self.g0 = {k: v.detach().clone() for k, v in pl_module.model.named_parameters()}
        self.module = pl_module

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        m = trainer.callback_metrics
        self.logged.append(
            {k: float(m[f"train/{k}"]) for k in ("perceptual", "texture", "adv_g", "loss_d")}
        )


def test_recipe_validates_with_the_paper_loss_combination():
    cfg = load_config(RECIPE)
    assert cfg.task == "adversarial" and cfg.model.name == "enhancenet"
    assert cfg.model.scale_tuple() == (4.0, 4.0)
    assert set(cfg.loss.terms) == {"perceptual", "texture"}
    assert set(cfg.loss.terms["perceptual"]["layers"]) == {"pool2", "pool5"}
    assert set(cfg.loss.terms["texture"]["layers"]) == {"relu1_1", "relu2_1", "relu3_1"}
    assert cfg.loss.terms["texture"]["patch"] == 16
    assert cfg.adversarial.kind == "vanilla" and cfg.adversarial.weight > 0


def test_a_few_steps_train_with_all_three_terms(bsd_crops, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    vgg = save_vgg19(None, tmp_path / "vgg19.safetensors", seed=1)
    overrides = [
        f"output_dir={tmp_path / 'run'}",
        f"data.train.hr_dir={bsd_crops}",
        "data.val=null",
        "data.color=y",
        "model.in_channels=1",
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "data.patch_size=32",
        "data.batch_size=2",
        f"loss.terms.perceptual.weights={vgg}",
        f"loss.terms.texture.weights={vgg}",
        "train.max_steps=3",
        "train.checkpoint_every=3",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
    ]
    watch = _Terms()
    result = train(load_config(RECIPE, overrides), callbacks=[watch])
    assert result.global_step == 3
    for step in watch.logged:
        assert all(v > 0 for v in step.values()), step
    now = dict(watch.module.model.named_parameters())
    assert all(not torch.equal(v, now[k].detach().cpu()) for k, v in watch.g0.items())
