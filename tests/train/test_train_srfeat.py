"""The SRFeat recipe (review ref. [63], Park et al. 2018) trains its generator against an image
discriminator and a feature discriminator on VGG-19 feature maps: the perceptual term and both
adversarial terms are non-zero and move the weights (real CBSD68 pictures; VGG weights from a local
file, here a randomly initialised one as in the other perceptual tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from medsr.losses.perceptual import save_vgg19
from medsr.train.medical.srfeat import SRFeatSR
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "srfeat.yaml"


class _Recorder(L.Callback):
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.task: Any = None

    @staticmethod
    def _nets(m: Any) -> dict[str, torch.nn.Module]:
        return {"g": m.model, "d_i": m.discriminator, "d_f": m.feature_discriminator}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        self._before = {
            k: [p.detach().clone() for p in n.parameters()]
            for k, n in self._nets(pl_module).items()
        }
        self.batch = {k: v.detach().clone() for k, v in batch.items()}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        moved = {
            k: any(not torch.equal(a, b) for a, b in zip(self._before[k], n.parameters()))
            for k, n in self._nets(pl_module).items()
        }
        logged = {k: float(v) for k, v in trainer.logged_metrics.items()}
        self.steps.append({**moved, "logged": logged})
        self.task = pl_module


@pytest.fixture(scope="module")
def srfeat_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, _Recorder]:
    vgg = save_vgg19(None, tmp_path_factory.mktemp("vgg") / "vgg19.safetensors")
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)
    torch.set_num_threads(1)
    rec = _Recorder()
    overrides = [
        f"output_dir={tmp_path_factory.mktemp('srfeat') / 'run'}",
        f"srfeat.weights={vgg}",
        f"loss.terms.perceptual.weights={vgg}",
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "srfeat.discriminator.preset=tiny",
        "data.val=null",
        "data.train.limit=2",
        "data.patch_size=32",
        "data.batch_size=2",
        "train.max_steps=3",
        "train.checkpoint_every=3",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
    ]
    try:
        result = train(RECIPE, overrides, callbacks=[rec])
    finally:
        mp.undo()
    return result, rec


def test_all_three_terms_non_zero_and_all_networks_train(srfeat_run) -> None:
    result, rec = srfeat_run
    assert result.global_step == 3 and isinstance(rec.task, SRFeatSR)
    for step in rec.steps:
        assert step["g"] and step["d_i"] and step["d_f"]
        for key in (
            "train/perceptual",
            "train/adv_g",
            "train/adv_g_feature",
            "train/loss_d",
            "train/loss_d_feature",
        ):
            assert step["logged"][key] > 0, key


def test_feature_discriminator_judges_vgg_conv5_maps(srfeat_run) -> None:
    _, rec = srfeat_run
    task = rec.task
    hr = rec.batch["hr"]
    maps = task.features(hr)
    assert maps.shape[1] == 512 and maps.shape[2:] == (2, 2)  # relu5_4 of a 32-pixel patch
    assert task.feature_discriminator(maps).shape == (hr.shape[0], 1)
    assert not any(p.requires_grad for p in task.features._frozen[0].parameters())


def test_each_term_alone_moves_the_generator(srfeat_run) -> None:
    _, rec = srfeat_run
    task = rec.task
    g = task.model.train()
    lr, hr = rec.batch["lr"], rec.batch["hr"]
    params = list(g.parameters())

    def grad_norm(loss: torch.Tensor) -> float:
        grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
        return sum(float(x.abs().sum()) for x in grads if x is not None)

    sr = g(lr)
    assert grad_norm(task.loss.terms["perceptual"](sr, hr)) > 0
    assert grad_norm(task._g_adv(task.discriminator, sr, hr)) > 0
    f_sr, f_hr = task.features(sr), task.features(hr)
    assert grad_norm(task._g_adv(task.feature_discriminator, f_sr, f_hr)) > 0
