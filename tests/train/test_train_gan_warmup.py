"""Generator pre-training before the GAN game (``adversarial.g_warmup_steps``): SRGAN initialises
its generator with the MSE-trained SRResNet (Ledig et al. 2017, sec. 3.2), mDCSRN-GAN with the
L1-trained mDCSRN (Chen et al. 2018). During the warm-up the generator's loss is the content loss
alone and the critic does not move; afterwards the adversarial term is non-zero and the critic
trains. The section-4 benchmark's GAN recipes use it in their ``bench`` profiles."""

from __future__ import annotations

from typing import Any

import pytest
from train_helpers import ROOT, StepRecorder, run_recipe, short_run

from medsr.train.config import load_config

RECIPE = ROOT / "configs" / "sanchez_gan3d.yaml"

#: section-4 GAN rows (medsr.bench.networks) whose bench profiles pre-train the generator
GAN_RECIPES = ("sanchez_gan3d", "mdcsrn_gan", "mansoor")


def _nets(m: Any) -> dict[str, Any]:
    return {"g": m.model.parameters(), "d": m.discriminator.parameters()}


@pytest.fixture(scope="module")
def warmup_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, StepRecorder]:
    overrides = (
        ["profile=bench"]
        + short_run(tmp_path_factory.mktemp("warmup") / "run", 4)
        + [
            "adversarial.g_warmup_steps=2",
            "model.kwargs={blocks: 1, channels: 4}",
            "data.patch_size=[12, 12, 12]",
            "data.batch_size=1",
            "data.train={hr_dir: src/medsr/data/brain.nii.gz}",
        ]
    )
    return run_recipe(RECIPE, overrides, StepRecorder(_nets))


def _content(logged: dict[str, float]) -> float:
    return logged["train/mse"] + logged["train/gradient_difference"]  # both weight 1 in the recipe


def test_adversarial_term_is_zero_during_warmup_and_nonzero_after(warmup_run) -> None:
    result, rec = warmup_run
    assert result.global_step == 4
    warm, game = rec.steps[:2], rec.steps[2:]
    for step in warm:  # content only: the critic is not trained, G's loss is the content loss
        assert step["moved"] == {"g": True, "d": False}
        assert step["logged"]["train/loss"] == pytest.approx(_content(step["logged"]), rel=1e-5)
    weight = rec.task.acfg.weight
    for step in game:  # the game: both networks move, G's loss holds weight x adversarial term
        assert step["moved"] == {"g": True, "d": True}
        adv = step["logged"]["train/adv_g"]
        assert adv > 0
        extra = step["logged"]["train/loss"] - _content(step["logged"])
        assert extra == pytest.approx(weight * adv, rel=1e-3, abs=1e-7)
        assert extra > 0


@pytest.mark.parametrize("name", GAN_RECIPES)
def test_bench_profiles_pretrain_the_generator_then_play_the_game(name: str) -> None:
    cfg = load_config(ROOT / "configs" / f"{name}.yaml", ["profile=bench"])
    assert cfg.adversarial is not None and cfg.adversarial.weight > 0  # the paper's GAN term kept
    assert 0 < cfg.adversarial.g_warmup_steps < cfg.train.max_steps
