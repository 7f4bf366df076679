"""Run logs (issue 15): hyper-parameters (the flattened config) and LR / SR / HR previews of the
validation items in TensorBoard."""

from __future__ import annotations

import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from medsr.train.config import parse_config
from medsr.train.logs import flat_hyperparameters
from medsr.train.run import train


def test_hyperparameters_and_validation_previews_are_logged(tiny_config, bsd_crops):
    cfg = tiny_config()
    cfg["data"]["val"] = {"hr_dir": str(bsd_crops), "pattern": "103*"}
    cfg["data"]["train"]["pattern"] = "10[12]*"
    cfg["data"]["val_crop"] = 32
    run = train(parse_config(cfg)).run_dir
    hparams = yaml.safe_load((run / "logs/version_0/hparams.yaml").read_text())
    assert hparams["model.name"] == "srcnn" and hparams["optim.lr"] == 1e-3
    assert hparams["data.train.hr_dir"] == str(bsd_crops)
    board = EventAccumulator(str(run / "tensorboard/version_0"), size_guidance={"images": 0})
    board.Reload()
    assert "val/preview_0" in board.Tags()["images"]
    shots = board.Images("val/preview_0")
    assert [s.step for s in shots] == [2, 4]  # each validation (every 2 steps, and the last)
    assert (shots[-1].width, shots[-1].height) == (3 * 32, 32)  # LR | SR | HR
    assert (run / "tensorboard/version_0/hparams.yaml").is_file()


def test_flat_hyperparameters():
    flat = flat_hyperparameters({"a": {"b": 1, "c": [1, 2], "d": None, "e": {}}, "f": "x"})
    assert flat == {"a.b": 1, "a.c": "[1, 2]", "a.d": "None", "a.e": "{}", "f": "x"}
