"""The progressive GAN recipe (review ref. [66], Mahapatra et al. 2019) trains stage by stage:
stage k moves only generator stage k and critic k, and its content (saliency-weighted MSE),
adversarial and triplet terms are non-zero and move the weights (real data: slices of the
built-in MNI brain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from medsr.train.medical.progressive import ProgressiveGAN, triplet_loss
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "progressive_gan.yaml"


class _Recorder(L.Callback):
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.task: Any = None

    @staticmethod
    def _nets(m: Any) -> dict[str, torch.nn.Module]:
        nets = {f"g{i}": s for i, s in enumerate(m.model.stages)}
        nets.update({f"d{i}": d for i, d in enumerate(m.discriminators)})
        return nets

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
        self.steps.append({"moved": moved, "logged": logged})
        self.task = pl_module


@pytest.fixture(scope="module")
def progressive_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, _Recorder]:
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)
    torch.set_num_threads(1)
    rec = _Recorder()
    overrides = [
        f"output_dir={tmp_path_factory.mktemp('pgan') / 'run'}",
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "progressive.stage_steps=2",
        "data.patch_size=32",
        "data.batch_size=2",
        "train.max_steps=4",
        "train.checkpoint_every=4",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
    ]
    try:
        result = train(RECIPE, overrides, callbacks=[rec])
    finally:
        mp.undo()
    return result, rec


def test_stages_train_one_after_the_other(progressive_run) -> None:
    result, rec = progressive_run
    assert result.global_step == 4 and isinstance(rec.task, ProgressiveGAN)
    assert len(rec.task.discriminators) == 2  # x4 = two x2 stages, one critic each
    for i, step in enumerate(rec.steps):
        k = 0 if i < 2 else 1
        assert step["logged"]["train/stage"] == k
        assert step["moved"] == {
            f"g{k}": True,
            f"d{k}": True,
            f"g{1 - k}": False,
            f"d{1 - k}": False,
        }
        for key in ("train/saliency_mse", "train/adv_g", "train/triplet", "train/loss_d"):
            assert step["logged"][key] > 0, (i, key)


def test_each_term_alone_moves_the_training_stage(progressive_run) -> None:
    """Content, adversarial and triplet terms each have a gradient on stage 1's generator."""
    _, rec = progressive_run
    task = rec.task
    lr, hr = rec.batch["lr"], rec.batch["hr"]
    assert lr.shape[-1] * 4 == hr.shape[-1]
    params = list(task.model.stages[1].parameters())
    task.model.stages[1].requires_grad_(True)

    def grad_norm(loss: torch.Tensor) -> float:
        grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
        return sum(float(x.abs().sum()) for x in grads if x is not None)

    prev, out = task.stage_images(lr, 1)
    assert prev.shape[-1] * 2 == out.shape[-1] == hr.shape[-1]
    neg = torch.nn.functional.interpolate(prev, size=out.shape[2:], mode="bicubic").detach()
    assert grad_norm(task.loss.terms["saliency_mse"](out, hr)) > 0
    assert grad_norm(task.adv.generator_loss(task.discriminators[1](out), None)) > 0
    assert grad_norm(triplet_loss(out, hr, neg, task.pcfg.margin)) > 0


def test_triplet_loss_prefers_the_truth_over_the_previous_stage() -> None:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 1, 8, 8, generator=g)
    coarse = hr + 0.3 * torch.randn(2, 1, 8, 8, generator=g)
    assert float(triplet_loss(hr, hr, coarse, margin=0.01)) == 0.0  # at the truth: satisfied
    assert float(triplet_loss(coarse, hr, coarse, margin=0.01)) > 0.05  # no better than before
