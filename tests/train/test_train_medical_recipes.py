"""Section-4 recipes with pixel losses train from the recipe file itself (issue 10, "done when"):
a few steps of ``medsr.train.run.train`` on the recipe's own data (chris_t1, chris_PD + T1 guide,
CT_pitch), every loss term the paper names is logged non-zero at every step, and every weight
tensor of the network changes.

Recipes: Shi et al.'s local + global residual SRCNN (ref. [75], ``configs/lgrl_sr.yaml``), CSN
(ref. [76], ``configs/csn.yaml``), Lin et al.'s guided two-stage fusion (ref. [55],
``configs/guided_fusion.yaml``: both stages supervised, ``out0_l2`` and ``out1_l2``), Umehara's
SRCNN on CT (ref. [69], ``configs/umehara_ct.yaml``) and Park's U-Net on CT (ref. [70],
``configs/unet_sr_ct.yaml``). The GAN and two-stage recipes have their own tests
(test_train_{tl,progressive,sawgan,srfeat,gan_circle,planes,reference,stacks}.py,
tests/models/test_medical_sanchez.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]

# recipe -> the loss terms the paper names, as logged by the task (train/<name>)
RECIPES: dict[str, tuple[str, ...]] = {
    "lgrl_sr": ("l2",),  # MSE (Shi et al. 2018)
    "csn": ("l1",),  # L1 (Zhao et al. 2019)
    "guided_fusion": ("out0_l2", "out1_l2"),  # both fusion stages supervised (Lin et al.)
    "umehara_ct": ("l2",),  # SRCNN's MSE (Umehara et al. 2018)
    "unet_sr_ct": ("l2",),  # MSE (Park et al. 2018)
}


class _StepRecorder(L.Callback):
    """Per step: the logged ``train/*`` values and the names of the weight tensors that moved."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._before = {k: v.detach().clone() for k, v in pl_module.model.named_parameters()}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        params = dict(pl_module.model.named_parameters())
        still = sorted(k for k, v in self._before.items() if torch.equal(v, params[k]))
        logged = {k: float(v) for k, v in trainer.logged_metrics.items() if k.startswith("train/")}
        self.steps.append({"still": still, "count": len(params), "logged": logged})


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_trains_every_named_term_and_moves_every_weight(
    name: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the recipes' data paths are relative to the repository root
    recorder = _StepRecorder()
    overrides = [
        f"output_dir={tmp_path / 'run'}",
        "model.preset=tiny",
        "train.max_steps=2",
        "train.checkpoint_every=2",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
        "data.batch_size=2",
        "data.val=null",
    ]
    if name == "guided_fusion":
        overrides.append("model.kwargs={guide_channels: 1}")  # the tiny preset, one T1 guide
    threads = torch.get_num_threads()
    try:
        result = train(ROOT / "configs" / f"{name}.yaml", overrides, callbacks=[recorder])
    finally:
        torch.set_num_threads(threads)
    assert result.global_step == 2 and len(recorder.steps) == 2
    for step in recorder.steps:
        for term in RECIPES[name]:
            assert step["logged"][f"train/{term}"] > 0, (term, step["logged"])
        assert step["count"] > 0 and not step["still"], step["still"]  # every tensor moved
