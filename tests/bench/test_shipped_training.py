"""The trainings behind the shipped weights (``medsr.bench.shipped``): staging of the training
images, start / resume / export of runs in order, x3 started from x2, and the record written into
model.json. Tiny networks, a few steps, synthetic images."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from medsr.bench import shipped, shipped_table
from medsr.errors import MedsrError

RECIPE = """name: {key}
task: supervised
model: {{name: espcn, preset: tiny, scale: {scale}, dims: 2, in_channels: 1}}
data:
  train: {{hr_dir: shipped_runs/data/train}}
  val: {{hr_dir: shipped_runs/data/val}}
  degradation: bicubic
  color: y
  normalisation: {{kind: percentile, params: {{low: 0.5, high: 99.5}}}}
  patch_size: {patch}
  batch_size: 2
  val_crop: 24
loss: {{terms: {{l1: {{weight: 1.0}}}}}}
optim: {{name: adam, lr: 1.0e-3, schedule: {{kind: cosine, min_lr: 1.0e-5}}}}
train: {{max_steps: 4, checkpoint_every: 2, val_every: 2, log_every: 1, accelerator: cpu,
        threads: 1, progress: none}}
"""


def _png(path: Path, rng: np.random.Generator, size: int = 36) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    natural = tmp_path / "natural"
    for sub, names in {
        "CBSD68": ["a.png", "b.png", "va.png"],
        "CSun_Hays80": ["c.png", "vb.png"],
        "CSet5": ["t.png"],
    }.items():
        for n in names:
            _png(natural / sub / n, rng)
    monkeypatch.setattr(shipped, "VAL_IMAGES", {"CBSD68": ("va.png",), "CSun_Hays80": ("vb.png",)})
    root = tmp_path / "repo"
    for scale, patch in ((2, 12), (3, 12)):
        key = f"espcn_x{scale}"
        cfg = root / "configs" / "shipped" / f"{key}.yaml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(RECIPE.format(key=key, scale=scale, patch=patch))
    monkeypatch.chdir(root)  # the recipes' paths are relative to the repository root
    # tiny networks cannot beat SRCNN: a target they pass, so that they are shipped
    monkeypatch.setattr(shipped, "TARGETS", {2: (5.0, 37.53), 3: (5.0, 33.66)})
    order = (shipped.ShippedRun("espcn", 2), shipped.ShippedRun("espcn", 3, init_from="espcn_x2"))
    kw = {
        "root": root,
        "runs": root / "shipped_runs",
        "weights_dir": tmp_path / "weights",
        "natural": natural,
        "order": order,
        "log": lambda m: None,
    }
    return kw


def test_stage_data_holds_out_validation_and_refuses_test_names(setup, tmp_path) -> None:
    train, val = shipped.stage_data(setup["natural"], tmp_path / "runs")
    assert sorted(p.name for p in train.iterdir()) == ["a.png", "b.png", "c.png"]
    assert sorted(p.name for p in val.iterdir()) == ["va.png", "vb.png"]
    shipped.stage_data(setup["natural"], tmp_path / "runs")  # again: nothing changes
    _png(setup["natural"] / "CBSD68" / "t.png", np.random.default_rng(1))
    with pytest.raises(MedsrError, match="name of a test image"):
        shipped.stage_data(setup["natural"], tmp_path / "runs2")


def test_missing_validation_image_is_an_error(setup, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(shipped, "VAL_IMAGES", {"CBSD68": ("nope.png",)})
    with pytest.raises(MedsrError, match="nope.png"):
        shipped.stage_data(setup["natural"], tmp_path / "runs")


def test_ledger_sums_segments(tmp_path) -> None:
    led = shipped.Ledger(tmp_path)
    i = led.begin(0, "cmd")
    led.update(i, 500, 60.0)
    j = led.begin(500, "cmd")
    led.update(j, 800, 30.5)
    assert led.totals() == (800, 90.5)
    assert led.read()["segments"][0]["hardware"]["torch_threads"] >= 1


def test_runs_in_order_resume_and_export(setup) -> None:
    runs, weights = setup["runs"], setup["weights_dir"]
    first, second = setup["order"]
    assert shipped.run_step(**setup) == "espcn_x2"
    meta = json.loads((weights / "espcn_x2" / "model.json").read_text())
    rec = meta["extra"]["shipped"]
    assert rec["steps"] == 4 and rec["recipe"] == "configs/shipped/espcn_x2.yaml"
    assert rec["train_seconds"] > 0 and rec["hardware"]["cpu"] is not None
    assert set(rec["scores"]) == {"Set5"} and rec["target_set5_psnr"]["beat_srcnn"] == 5.0
    assert (
        rec["accepted"] and json.loads((runs / "espcn_x2" / "shipped.json").read_text())["accepted"]
    )
    assert "run_dir" not in meta["extra"]["training"]
    cfg = (runs / "espcn_x2" / "config.yaml").read_text()
    assert "hr_dir: shipped_runs/data/train" in cfg  # relative: survives a move of the checkout
    assert (runs / "espcn_x2" / "checkpoints" / "last.ckpt").stat().st_size < 5_000_000
    assert shipped.run_status(first, runs, weights) == "exported"

    # x3 starts from the x2 weights: the two LR-grid convolutions fit, the sub-pixel layer not
    assert shipped.run_step(**setup) == "espcn_x3"
    init = json.loads((runs / "espcn_x3" / "init.json").read_text())
    assert init["copied"] == 4 and init["of"] == 6
    assert shipped.run_status(second, runs, weights) == "exported"
    assert shipped.run_step(**setup) is None  # everything exported

    # x3 stopped after a checkpoint, in a fresh checkout without init.safetensors: it resumes
    (runs / "espcn_x3" / "model.safetensors").unlink()
    (runs / "espcn_x3" / "init.safetensors").unlink()
    assert shipped.run_step(**setup, overrides=["train.max_steps=6"]) == "espcn_x3"

    # a run stopped after a checkpoint resumes from it (a new ledger segment), then re-exports
    (runs / "espcn_x2" / "model.safetensors").unlink()
    assert shipped.run_status(first, runs, weights) == "started"
    assert shipped.run_step(**setup, overrides=["train.max_steps=6"]) == "espcn_x2"
    segs = shipped.Ledger(runs / "espcn_x2").read()["segments"]
    assert [(s["start_step"], s["end_step"]) for s in segs] == [(0, 4), (4, 6)]
    meta = json.loads((weights / "espcn_x2" / "model.json").read_text())
    assert meta["extra"]["shipped"]["steps"] == 6 and len(meta["extra"]["shipped"]["segments"]) == 2


def test_below_target_is_not_shipped(setup, monkeypatch) -> None:
    runs, weights = setup["runs"], setup["weights_dir"]
    monkeypatch.setattr(shipped, "TARGETS", {2: (99.0, 99.0), 3: (5.0, 33.66)})
    assert shipped.run_step(**setup) == "espcn_x2"
    assert not (weights / "espcn_x2").exists()
    assert json.loads((runs / "espcn_x2" / "shipped.json").read_text())["accepted"] is False
    assert shipped.run_status(setup["order"][0], runs, weights) == "rejected"
    assert shipped.run_step(**setup) == "espcn_x3"  # the next run; x3 still starts from x2
    assert (weights / "espcn_x3" / "model.json").is_file()
    assert shipped.run_step(**setup) is None


def test_two_drivers_share_the_runs(setup) -> None:
    """A run locked by another driver is skipped, and so is a new run whose start (init_from)
    has not finished: a second driver never trains the same run or starts x3 without x2."""
    runs = setup["runs"]
    held = shipped._try_lock(runs / "espcn_x2")
    assert held is not None and shipped._try_lock(runs / "espcn_x2") is None
    msgs: list[str] = []
    assert shipped.run_step(**{**setup, "log": msgs.append}) is None
    assert any("another driver" in m for m in msgs) and any("waits for espcn_x2" in m for m in msgs)
    assert not (runs / "espcn_x3").exists()
    held.close()  # the other driver finished: this one trains x2 now
    assert shipped.run_step(**setup) == "espcn_x2"


def test_table_of_exported_runs_and_readme_block(setup, tmp_path) -> None:
    """The README's table is generated from the exported model.json records: one row per run with
    its scores and the differences to the published SRCNN / VDSR numbers."""
    weights = setup["weights_dir"]
    assert shipped.run_step(**setup) == "espcn_x2"
    rec = json.loads((weights / "espcn_x2" / "model.json").read_text())["extra"]["shipped"]
    table = shipped_table.shipped_table(weights)
    lines = table.splitlines()
    assert len(lines) == 3 and lines[2].startswith("| `espcn` (")
    set5 = rec["scores"]["Set5"]["psnr"]
    assert f"{set5:.2f} / " in lines[2] and f"{set5 - 5.0:+.2f} (5.00)" in lines[2]
    assert "4 steps" in lines[2]

    readme = tmp_path / "README.md"
    readme.write_text("intro\n")
    with pytest.raises(MedsrError, match="has no generated block"):
        shipped_table.update_readme(readme, weights)
    readme.write_text(f"intro\n{shipped_table.README_BEGIN}\nold\n{shipped_table.README_END}\ntail\n")
    assert shipped_table.update_readme(readme, weights) is True
    assert readme.read_text() == (
        f"intro\n{shipped_table.README_BEGIN}\n{table}\n{shipped_table.README_END}\ntail\n"
    )
    assert shipped_table.update_readme(readme, weights) is False  # already up to date



def test_run_below_interpolation_is_stopped_and_its_children_skipped(setup, monkeypatch) -> None:
    """The interpolation guard: a run whose held-out validation is not above cubic interpolation
    (here an untrained network: learning rate ~0) stops at the first validation from
    GUARD_AFTER on, twice in a row (GUARD_PATIENCE), is marked failed (not scored, not shipped),
    and the runs starting from it are skipped: VDSR x2 once trained 5 hours after collapsing."""
    runs, weights = setup["runs"], setup["weights_dir"]
    monkeypatch.setattr(shipped, "GUARD_AFTER", 2)
    assert shipped.GUARD_PATIENCE == 2
    msgs: list[str] = []
    kw = {**setup, "log": msgs.append, "overrides": ["optim.lr=1.0e-12", "train.max_steps=12"]}
    assert shipped.run_step(**kw) == "espcn_x2"
    failed = json.loads((runs / "espcn_x2" / "failed.json").read_text())
    assert failed["step"] == 4 and failed["val_psnr"] <= failed["val_psnr_interp"]
    assert shipped.Ledger(runs / "espcn_x2").totals()[0] == 4  # at its 2nd miss, not at step 12
    assert not (runs / "espcn_x2" / "shipped.json").exists() and not weights.exists()
    assert shipped.run_status(setup["order"][0], runs, weights) == "failed"
    assert any("FAILED at step 4" in m for m in msgs)
    assert shipped.run_step(**kw) is None  # x2 failed: x3 is not started from it
    assert any("espcn_x3] skipped: its start espcn_x2 failed" in m for m in msgs)
    assert not (runs / "espcn_x3").exists()


@pytest.mark.parametrize(
    ("readings", "stops"),
    [
        ([(999, 20.0), (999, 20.0)], False),  # before its step
        ([(1000, 28.5), (2000, 28.6)], False),  # above interpolation (28.0)
        ([(1000, 28.0)], False),  # one miss: a noisy reading of a small network
        ([(1000, 28.0), (2000, 27.9)], True),  # at or below, twice in a row
        ([(1000, 27.8), (2000, 28.3), (3000, 27.7)], False),  # not in a row
        ([(999, 20.0), (1000, 27.8), (2000, 27.7)], True),
    ],
)
def test_guard_stops_at_its_second_miss_in_a_row_from_its_step_on(
    tmp_path, readings: list[tuple[int, float]], stops: bool
) -> None:
    import torch

    guard = shipped._interp_guard(tmp_path, after=1000, patience=2)
    trainer = SimpleNamespace(sanity_checking=False, global_step=0, should_stop=False)
    for step, psnr in readings:
        trainer.global_step = step
        trainer.callback_metrics = {
            "val/psnr": torch.tensor(psnr),
            "val/psnr_interp": torch.tensor(28.0),
        }
        guard.on_validation_end(trainer, None)
    assert trainer.should_stop is stops
    assert (tmp_path / "failed.json").is_file() is stops


def test_every_run_of_the_order_has_a_recipe_that_loads() -> None:
    """configs/shipped/<key>.yaml exists for every run of ORDER, names it, and trains its scale
    with validation often enough for the interpolation guard."""
    from medsr.train.config import load_config

    root = Path(__file__).resolve().parents[2]
    for run in shipped.ORDER:
        cfg = load_config(root / "configs" / "shipped" / f"{run.key}.yaml")
        assert cfg.name == run.key and cfg.model.name == run.net and cfg.model.scale == run.scale
        assert cfg.train.val_every <= cfg.train.max_steps


def test_a_stopped_run_records_the_step_it_saved(setup, monkeypatch) -> None:
    """SIGINT / SIGTERM mid-run: last.ckpt holds the step reached, and the ledger's segment ends
    at that step (not at the checkpoint before it), so the hours and steps of the record add up."""
    import os
    import signal

    import torch
    from lightning.pytorch.callbacks import Callback

    from medsr.train.interrupt import TrainingInterrupted

    class _SignalAtStep3(Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            if trainer.global_step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(shipped, "_interp_guard", lambda *a: _SignalAtStep3())
    with pytest.raises(TrainingInterrupted) as stop:
        shipped.run_step(**setup)
    assert stop.value.step == 3
    run_dir = setup["runs"] / "espcn_x2"
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3
    segs = shipped.Ledger(run_dir).read()["segments"]
    assert [(s["start_step"], s["end_step"]) for s in segs] == [(0, 3)]
    assert shipped.run_status(setup["order"][0], setup["runs"], setup["weights_dir"]) == "started"
