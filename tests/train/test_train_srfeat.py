"""The SRFeat recipe (review ref. [63], Park et al. 2018) trains its generator against an image
discriminator and a feature discriminator on VGG-19 feature maps: the perceptual term and both
adversarial terms are non-zero and move the weights (real CBSD68 pictures; VGG weights from a local
file, here a randomly initialised one as in the other perceptual tests). The recipe's cpu profile
needs no file: ``srfeat.weights: random:0`` (a seeded random VGG-19) runs out of the box."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
import yaml
from train_helpers import ROOT, StepRecorder, grad_norm, main_exit_code, run_recipe, short_run

from medsr.losses import perceptual
from medsr.losses.perceptual import random_vgg19, save_vgg19
from medsr.train.config import load_config
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


# ------------------------------------------------------- the cpu profile without a VGG file
@pytest.fixture(scope="module")
def random_vgg_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Any, StepRecorder, list[str], Any]:
    """The cpu profile (``srfeat.weights: random:0``) for 3 steps, both GANs from step 0, with
    every VGG file read refused: it must not need one."""
    out = tmp_path_factory.mktemp("srfeat_random") / "run"
    overrides = short_run(out, 3) + [
        "profile=cpu",
        "adversarial.g_warmup_steps=0",
        "data.val=null",
        "data.train.limit=2",
        "data.patch_size=32",
        "data.batch_size=2",
    ]

    def no_file(path: Any, what: str, hint: str) -> Any:
        raise AssertionError(f"read a weights file {path}")

    mp = pytest.MonkeyPatch()
    mp.setattr(perceptual, "_read_safetensors", no_file)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result, rec = run_recipe(RECIPE, overrides, StepRecorder(_nets))
    finally:
        mp.undo()
    return result, rec, [str(w.message) for w in caught], out


def test_cpu_profile_uses_random_vgg_and_paper_default_keeps_the_file() -> None:
    assert load_config(RECIPE, ["profile=cpu"]).srfeat.weights == "random:0"
    assert load_config(RECIPE).srfeat.weights == "weights/vgg19.safetensors"
    assert load_config(RECIPE, ["srfeat.weights=random"]).srfeat.weights == "random:0"


def test_random_vgg_run_trains_the_feature_gan_without_a_vgg_file(random_vgg_run) -> None:
    result, rec, _, _ = random_vgg_run
    assert result.global_step == 3 and isinstance(rec.task, SRFeatSR)
    for step in rec.steps:
        assert step["moved"] == {"g": True, "d_i": True, "d_f": True}
        for key in ("train/adv_g_feature", "train/loss_d_feature", "train/l1"):
            assert step["logged"][key] > 0, key
    # the feature critic sees the maps of the seed-0 random VGG-19 (relu5_4 of a 32-pixel patch)
    hr = rec.batch["hr"]
    with torch.no_grad():
        want = random_vgg19(("relu5_4",), seed=0)(hr)["relu5_4"]
        got = rec.task.features(hr)
    assert got.shape == (hr.shape[0], 512, 2, 2) and torch.equal(got, want)
    # the feature-GAN term alone moves the generator
    g = rec.task.model.train()
    params = list(g.parameters())
    sr = g(rec.batch["lr"])
    f_sr, f_hr = rec.task.features(sr), rec.task.features(hr)
    assert grad_norm(rec.task._g_adv(rec.task.feature_discriminator, f_sr, f_hr), params) > 0


def test_random_vgg_run_is_recorded_and_announced(random_vgg_run) -> None:
    _, _, messages, out = random_vgg_run
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["srfeat"]["weights"] == "random:0" and saved["profile"] == "cpu"
    notes = [m for m in messages if "srfeat.weights: random:0" in m]
    assert len(notes) == 1 and "simplification of SRFeat" in notes[0]
    assert "VGG-19 safetensors file" in notes[0] and "\n" not in notes[0]


@pytest.mark.parametrize("value", ["random:x", "random:", "random:-1", "random:1.5"])
def test_malformed_random_weights_is_a_one_line_error(value, tmp_path, capsys) -> None:
    code = main_exit_code(
        "train",
        str(RECIPE),
        "--profile",
        "cpu",
        f"srfeat.weights={value}",
        f"output_dir={tmp_path / 'run'}",
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "srfeat.weights" in err and "'random'" in err and "random:SEED" in err, err
    assert not (tmp_path / "run").exists()


def test_missing_weights_file_stays_a_one_line_error(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    code = main_exit_code(
        "train",
        str(RECIPE),
        "--profile",
        "cpu",
        "srfeat.weights=no/vgg19.safetensors",
        "data.train.limit=1",
        "data.val=null",
        "train.threads=1",
        f"output_dir={tmp_path / 'run'}",
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "config: srfeat:" in err and "no/vgg19.safetensors not found" in err, err
