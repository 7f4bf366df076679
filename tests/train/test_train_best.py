"""The best validation PSNR, ``best.ckpt`` and the run summary agree, also when a finished run is
extended; the final weights are validated (issue 15)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from medsr.train.best import BestCheckpoint, best_score_in
from medsr.train.config import parse_config
from medsr.train.run import train


def _val_rows(run: Path) -> list[tuple[int, float]]:
    with open(run / "logs" / "version_0" / "metrics.csv", newline="") as f:
        return [(int(r["step"]), float(r["val/psnr"])) for r in csv.DictReader(f) if r["val/psnr"]]


def test_extending_a_finished_run_keeps_best_and_summary_in_agreement(tiny_config, tmp_path):
    cfg = tiny_config(output_dir=str(tmp_path / "run"))
    # validation every 3 steps: the last step of each session (4, then 7) is no validation step
    cfg["train"].update(max_steps=4, checkpoint_every=2, val_every=3)
    cfg["data"]["val"] = dict(cfg["data"]["train"])
    cfg["data"]["val_crop"] = 32
    first = train(parse_config(cfg))
    run = first.run_dir
    # the final weights were validated: rows after step 3 (logged at 2) and step 4 (at 3)
    assert [s for s, _ in _val_rows(run)] == [2, 3]
    extended = train(resume=run, overrides=["train.max_steps=7"])
    rows = _val_rows(run)
    assert [s for s, _ in rows] == [2, 3, 5, 6]  # one log version, final weights validated
    best_step, best = max(rows, key=lambda r: r[1])
    assert extended.metrics["best/val_psnr"] == pytest.approx(best, abs=1e-5)
    assert extended.metrics["val/psnr"] == pytest.approx(rows[-1][1], abs=1e-5)
    meta = json.loads((run / "model.json").read_text())
    assert meta["extra"]["metrics"]["best/val_psnr"] == pytest.approx(best, abs=1e-5)
    # best.ckpt is the checkpoint of that validation and stores that score
    best_ckpt = run / "checkpoints" / "best.ckpt"
    assert best_score_in(best_ckpt) == pytest.approx(best, abs=1e-5)
    assert torch.load(best_ckpt, map_location="cpu", weights_only=False)["global_step"] == (
        best_step + 1
    )


def test_a_stale_best_score_in_last_ckpt_is_replaced_by_best_ckpt_s(tmp_path):
    """``last.ckpt`` is written before the validation of its step, so the best score it carries
    can be stale (24.69 where best.ckpt holds 26.49): the one of best.ckpt wins."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    cb = BestCheckpoint(folder)
    stale = {
        "monitor": "val/psnr",
        "best_model_score": torch.tensor(24.69),
        "best_model_path": str(folder / "best.ckpt"),
        "kth_best_model_path": str(folder / "best.ckpt"),
        "kth_value": torch.tensor(24.69),
        "best_k_models": {str(folder / "best.ckpt"): torch.tensor(24.69)},
        "dirpath": str(folder),
        "last_model_path": "",
    }
    cb.load_state_dict(dict(stale))  # no best.ckpt on disk: no best score at all
    assert cb.best_model_score is None and cb.best_k_models == {}
    torch.save(
        {"callbacks": {cb.state_key: {**stale, "best_model_score": torch.tensor(26.49)}}},
        folder / "best.ckpt",
    )
    cb.load_state_dict(dict(stale))
    assert float(cb.best_model_score) == pytest.approx(26.49)
    assert cb.best_model_path == str(folder / "best.ckpt")
    assert float(cb.kth_value) == pytest.approx(26.49)
    # the key is a plain ModelCheckpoint's: checkpoints of earlier runs restore into it
    assert cb.state_key.startswith("ModelCheckpoint{")
