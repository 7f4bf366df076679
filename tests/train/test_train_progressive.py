"""The progressive GAN recipe (review ref. [66], Mahapatra et al. 2019) trains stage by stage:
stage k moves only generator stage k and critic k, and its content (saliency-weighted MSE),
adversarial and triplet terms are non-zero and move the weights (real data: slices of the
built-in MNI brain)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from train_helpers import ROOT, StepRecorder, grad_norm, run_recipe, short_run

from medsr.train.medical.progressive import ProgressiveGAN, triplet_loss

RECIPE = ROOT / "configs" / "progressive_gan.yaml"


def _nets(m: Any) -> dict[str, Any]:
    nets = {f"g{i}": s.parameters() for i, s in enumerate(m.model.stages)}
    nets.update({f"d{i}": d.parameters() for i, d in enumerate(m.discriminators)})
    return nets


@pytest.fixture(scope="module")
def progressive_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, StepRecorder]:
    overrides = short_run(tmp_path_factory.mktemp("pgan") / "run", 4) + [
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "progressive.stage_steps=2",
        "data.patch_size=32",
        "data.batch_size=2",
    ]
    return run_recipe(RECIPE, overrides, StepRecorder(_nets))


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

    prev, out = task.stage_images(lr, 1)
    assert prev.shape[-1] * 2 == out.shape[-1] == hr.shape[-1]
    neg = torch.nn.functional.interpolate(prev, size=out.shape[2:], mode="bicubic").detach()
    assert grad_norm(task.loss.terms["saliency_mse"](out, hr), params) > 0
    assert grad_norm(task.adv.generator_loss(task.discriminators[1](out), None), params) > 0
    assert grad_norm(triplet_loss(out, hr, neg, task.pcfg.margin), params) > 0


def test_triplet_loss_prefers_the_truth_over_the_previous_stage() -> None:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 1, 8, 8, generator=g)
    coarse = hr + 0.3 * torch.randn(2, 1, 8, 8, generator=g)
    assert float(triplet_loss(hr, hr, coarse, margin=0.01)) == 0.0  # at the truth: satisfied
    assert float(triplet_loss(coarse, hr, coarse, margin=0.01)) > 0.05  # no better than before
