"""Shared helpers of the GAN / multi-network recipe tests: run a shipped recipe for a few steps
while recording, per step, what was logged and which networks' weights moved, and measure the
gradient of one loss term on a set of weights ("every loss term non-zero and every weight changes").

Imported by the test modules of this folder (``from train_helpers import ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from medsr.train.run import RunResult, train

ROOT = Path(__file__).resolve().parents[2]

#: ``nets(task) -> {name: parameters}``: the weight groups whose movement a recorder tracks.
NetsFn = Callable[[Any], dict[str, Iterable[torch.Tensor]]]


def main_exit_code(*args: str) -> int:
    """``medsr ARGS`` through :func:`medsr.cli.main` in this process -> its exit code (output is
    left to pytest's capture)."""
    from medsr.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def short_run(out: Path, steps: int) -> list[str]:
    """The overrides of a ``steps``-step run writing to ``out``: one checkpoint at the end, every
    step logged, no progress display, one thread."""
    return [
        f"output_dir={out}",
        f"train.max_steps={steps}",
        f"train.checkpoint_every={steps}",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
    ]


def resumable_config(
    tiny_config: Callable[..., dict[str, Any]], out: Path, steps: int, every: int
) -> dict[str, Any]:
    """A ``tiny_config`` run for the interruption tests: ``steps`` steps, a checkpoint every
    ``every``, a step learning-rate schedule, EMA and validation every 2 steps (on the training
    images, 32-pixel crops), so that a resumed run has every piece of state to restore."""
    cfg = tiny_config(
        output_dir=str(out),
        optim={
            "name": "adam",
            "lr": 1e-3,
            "schedule": {"kind": "step", "step_size": 3, "gamma": 0.5},
        },
        train={
            "max_steps": steps,
            "checkpoint_every": every,
            "log_every": 1,
            "progress": "none",
            "threads": 1,
            "ema_decay": 0.9,
        },
    )
    cfg["data"]["val"] = dict(cfg["data"]["train"])
    cfg["data"]["val_crop"] = 32
    cfg["train"]["val_every"] = 2
    return cfg


class StepRecorder(L.Callback):
    """Per step: the logged values (``logged``) and which weight groups of ``nets`` moved
    (``moved``); keeps the last batch, the task and the training data set.

    ``every_kernel``: a group moved when every kernel (weights with >= 2 dims) changed, rather
    than when any parameter changed (a bias before a norm or under WGAN has no gradient).
    """

    def __init__(self, nets: NetsFn, *, every_kernel: bool = False) -> None:
        self.nets = nets
        self.every_kernel = every_kernel
        self.steps: list[dict[str, Any]] = []
        self.task: Any = None
        self.batch: dict[str, torch.Tensor] | None = None
        self.dataset: Any = None

    def on_train_start(self, trainer, pl_module) -> None:
        self.dataset = getattr(trainer.datamodule, "train_set", None)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._before = {
            k: [p.detach().clone() for p in ps] for k, ps in self.nets(pl_module).items()
        }
        self.batch = {k: v.detach().clone() for k, v in batch.items()}

    def _moved(self, before: list[torch.Tensor], after: Iterable[torch.Tensor]) -> bool:
        if self.every_kernel:
            return all(not torch.equal(a, b) for a, b in zip(before, after) if b.ndim >= 2)
        return any(not torch.equal(a, b) for a, b in zip(before, after))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        moved = {k: self._moved(self._before[k], ps) for k, ps in self.nets(pl_module).items()}
        logged = {k: float(v) for k, v in trainer.logged_metrics.items()}
        self.steps.append({"moved": moved, "logged": logged})
        self.task = pl_module


def run_recipe(
    recipe: Path, overrides: list[str], recorder: StepRecorder
) -> tuple[RunResult, StepRecorder]:
    """Train ``recipe`` with ``overrides`` from the repository root (the recipes' data paths are
    relative to it) on one thread, recording with ``recorder``."""
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)
    torch.set_num_threads(1)
    try:
        result = train(recipe, overrides, callbacks=[recorder])
    finally:
        mp.undo()
    return result, recorder


def grad_norm(loss: torch.Tensor, params: Iterable[torch.Tensor]) -> float:
    """Sum of |d loss / d p| over ``params`` (0 where the loss does not reach them)."""
    grads = torch.autograd.grad(loss, list(params), allow_unused=True, retain_graph=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)
