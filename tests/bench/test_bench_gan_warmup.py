"""The section-4 GAN rows of the saliency-weighted GAN (Mahapatra et al., MICCAI 2017, ref. [67])
and the progressive GAN (Mahapatra et al., CMIG 2019, ref. [66]) pre-train their generator with
the content loss before the GAN game, as SRGAN (on which both build) initialises its generator
with the MSE-trained SRResNet: ``adversarial.g_warmup_steps`` in their ``bench`` profiles
(Li, Sixou & Peyrin, IRBM 2021, section 4; :mod:`medsr.bench.networks`).

A few steps of each bench profile on the built-in MNI brain (the benchmark's training data), with
test-size overrides: during the warm-up no adversarial term is logged and no critic moves;
afterwards the adversarial term is non-zero and the critic of the training stage moves. The
progressive GAN runs at x4 (two x2 stages): its warm-up counts global steps, across stages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from medsr.bench.networks import find_network, train_recipe
from medsr.errors import MedsrError
from medsr.recipes import recipes_folder
from medsr.train.config import load_config

ROOT = Path(__file__).resolve().parents[2]


class _CriticSteps(L.Callback):
    """Per step: the logged values and whether any critic weight changed."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self._before: list[torch.Tensor] = []

    @staticmethod
    def _critics(task: Any) -> list[torch.Tensor]:
        nets = getattr(task, "discriminators", None) or [task.discriminator]
        return [p for d in nets for p in d.parameters()]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._before = [p.detach().clone() for p in self._critics(pl_module)]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        after = self._critics(pl_module)
        moved = any(not torch.equal(a, b) for a, b in zip(self._before, after))
        logged = {k: float(v) for k, v in trainer.logged_metrics.items()}
        self.steps.append({"critic_moved": moved, "logged": logged})


def _bench(name: str) -> Any:
    return load_config(Path(recipes_folder()) / f"{name}.yaml", ["profile=bench"])


@pytest.mark.parametrize("name", ["sawgan", "progressive_gan"])
def test_bench_profiles_pretrain_the_generator_then_play_the_game(name: str) -> None:
    """The recorded budgets: the GAN term is kept (weight > 0) and starts after a content-only
    warm-up that ends before the last step (progressive GAN: after its first stage at x4)."""
    cfg = _bench(name)
    assert cfg.adversarial is not None and cfg.adversarial.weight > 0
    assert 0 < cfg.adversarial.g_warmup_steps < cfg.train.max_steps
    if cfg.progressive is not None:
        first_stage = cfg.progressive.lengths(2)[0]  # x4: two x2 stages
        assert first_stage < cfg.adversarial.g_warmup_steps < cfg.train.max_steps


@pytest.mark.parametrize("name, scale", [("sawgan", 2), ("progressive_gan", 4)])
def test_warmup_keeps_the_critic_still_then_the_game_starts(
    name: str, scale: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four steps of the bench profile, warm-up two: no adversarial term and a still critic for
    steps 0-1, a positive adversarial term and a moving critic for steps 2-3."""
    from medsr.train.run import train

    spec = find_network(name)
    monkeypatch.chdir(ROOT)  # the bench profiles' data path is relative to the repository root
    torch.set_num_threads(1)
    overrides = [
        "profile=bench",
        f"model.scale={json.dumps([1, scale])}",
        f"data.slice_axis={spec.slice_axis}",
        f"output_dir={tmp_path / 'run'}",
        "train.max_steps=4",
        "train.checkpoint_every=4",
        "train.log_every=1",
        "adversarial.g_warmup_steps=2",
        "model.kwargs={blocks: 1, channels: 8}",
        "data.patch_size=24",
        "data.batch_size=2",
    ]
    if name == "progressive_gan":
        overrides.append("progressive.stage_steps=1")  # stage 0: step 0; stage 1: steps 1-3
    recorder = _CriticSteps()
    cfg = load_config(Path(recipes_folder()) / f"{spec.recipe}.yaml", overrides)
    result = train(cfg, callbacks=[recorder])
    assert result.global_step == 4 and len(recorder.steps) == 4
    for step in recorder.steps[:2]:
        assert not step["critic_moved"]
        assert "train/adv_g" not in step["logged"] and "train/loss_d" not in step["logged"]
    for step in recorder.steps[2:]:
        assert step["critic_moved"]
        assert step["logged"]["train/adv_g"] > 0 and step["logged"]["train/loss_d"] > 0


def test_train_recipe_times_one_run_and_refuses_a_run_without_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:func:`medsr.bench.networks.train_recipe`, the training core of every section-4 row: one
    step of a small network on the MNI brain gives its weights, steps and a positive cost; a run
    that wrote no weights is refused with the row's name."""
    import medsr.train.run as run_module

    monkeypatch.chdir(ROOT)
    torch.set_num_threads(1)
    overrides = [
        "profile=bench",
        "model.preset=tiny",
        "model.scale=[1, 2]",
        "train.max_steps=1",
        "train.checkpoint_every=1",
        f"output_dir={tmp_path / 'run'}",
    ]
    run = train_recipe("umehara_ct", overrides, name="umehara_srcnn")
    assert run.steps == 1 and run.weights.is_file() and run.weights.parent == tmp_path / "run"
    assert run.seconds > 0 and run.cpu_seconds > 0

    real_train = run_module.train

    def no_weights(cfg: Any, **kw: Any) -> Any:
        result = real_train(cfg, **kw)
        result.weights = None
        return result

    monkeypatch.setattr(run_module, "train", no_weights)
    with pytest.raises(MedsrError, match="umehara_srcnn: training wrote no weights"):
        train_recipe("umehara_ct", [*overrides[:-1], f"output_dir={tmp_path / 'run2'}"],
                     name="umehara_srcnn")
