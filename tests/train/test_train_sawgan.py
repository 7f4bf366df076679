"""The saliency-weighted GAN recipe (review ref. [67], Mahapatra et al. 2017) trains: the
saliency-weighted MSE and the adversarial term are non-zero and move the weights (real CBSD68
pictures, the recipe's stand-in for fundus photographs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from train_helpers import ROOT, StepRecorder, grad_norm, run_recipe, short_run

from medsr.losses import SaliencyWeightedMSE

RECIPE = ROOT / "configs" / "sawgan.yaml"


def _nets(m: Any) -> dict[str, Any]:
    return {"g": m.model.parameters(), "d": m.discriminator.parameters()}


@pytest.fixture(scope="module")
def sawgan_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, StepRecorder]:
    overrides = short_run(tmp_path_factory.mktemp("sawgan") / "run", 3) + [
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "data.val=null",
        "data.train.limit=2",
        "data.patch_size=24",
        "data.batch_size=2",
    ]
    return run_recipe(RECIPE, overrides, StepRecorder(_nets))


def test_both_terms_non_zero_and_both_networks_train(sawgan_run) -> None:
    result, rec = sawgan_run
    assert result.global_step == 3
    assert isinstance(rec.task.loss.terms["saliency_mse"], SaliencyWeightedMSE)
    for step in rec.steps:
        assert step["moved"] == {"g": True, "d": True}
        assert step["logged"]["train/saliency_mse"] > 0
        assert step["logged"]["train/adv_g"] > 0
        assert step["logged"]["train/loss_d"] > 0


def test_each_term_alone_moves_the_generator(sawgan_run, bsd_crops: Path) -> None:
    from medsr.io import read

    _, rec = sawgan_run
    task = rec.task
    g, d = task.model.train(), task.discriminator
    img = read(min(bsd_crops.glob("*.png"))).data[:, :24, :24, 0]  # (1, 24, 24) luma
    hr = torch.from_numpy(img / 255.0).float()[None].repeat(2, 3, 1, 1)
    lr = torch.nn.functional.avg_pool2d(hr, 4)
    params = list(g.parameters())

    sr = g(lr)
    assert grad_norm(task.loss.terms["saliency_mse"](sr, hr), params) > 0
    assert grad_norm(task.adv.generator_loss(d(sr), None), params) > 0
