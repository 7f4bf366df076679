"""The SRFeat recipe (review ref. [63], Park et al. 2018) trains its generator against an image
discriminator and a feature discriminator on VGG-19 feature maps: the perceptual term and both
adversarial terms are non-zero and move the weights (real CBSD68 pictures; VGG weights from a local
file, here a randomly initialised one as in the other perceptual tests)."""

from __future__ import annotations

from typing import Any

import pytest
from train_helpers import ROOT, StepRecorder, grad_norm, run_recipe, short_run

from medsr.losses.perceptual import save_vgg19
from medsr.train.medical.srfeat import SRFeatSR

RECIPE = ROOT / "configs" / "srfeat.yaml"


def _nets(m: Any) -> dict[str, Any]:
    return {
        "g": m.model.parameters(),
        "d_i": m.discriminator.parameters(),
        "d_f": m.feature_discriminator.parameters(),
    }


@pytest.fixture(scope="module")
def srfeat_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, StepRecorder]:
    vgg = save_vgg19(None, tmp_path_factory.mktemp("vgg") / "vgg19.safetensors")
    overrides = short_run(tmp_path_factory.mktemp("srfeat") / "run", 3) + [
        f"srfeat.weights={vgg}",
        f"loss.terms.perceptual.weights={vgg}",
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "srfeat.discriminator.preset=tiny",
        "data.val=null",
        "data.train.limit=2",
        "data.patch_size=32",
        "data.batch_size=2",
    ]
    return run_recipe(RECIPE, overrides, StepRecorder(_nets))


def test_all_three_terms_non_zero_and_all_networks_train(srfeat_run) -> None:
    result, rec = srfeat_run
    assert result.global_step == 3 and isinstance(rec.task, SRFeatSR)
    for step in rec.steps:
        assert step["moved"] == {"g": True, "d_i": True, "d_f": True}
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

    sr = g(lr)
    assert grad_norm(task.loss.terms["perceptual"](sr, hr), params) > 0
    assert grad_norm(task._g_adv(task.discriminator, sr, hr), params) > 0
    f_sr, f_hr = task.features(sr), task.features(hr)
    assert grad_norm(task._g_adv(task.feature_discriminator, f_sr, f_hr), params) > 0
