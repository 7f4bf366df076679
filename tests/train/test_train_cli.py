"""`medsr train`: help, one-line errors with exit code 2, a run and its resumption."""

import csv
from pathlib import Path

import yaml
from train_helpers import main_exit_code


def test_help_explains_overrides_and_resume(capsys):
    assert main_exit_code("train", "--help") == 0
    out = capsys.readouterr().out
    assert "--resume" in out and "key.path=value" in out and "configs/srcnn.yaml" in out


def test_config_mistakes_exit_2_with_one_line(tmp_path, tiny_config, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny_config()))
    assert main_exit_code("train", str(path), "optim.lr=abc") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "config: optim.lr" in err
    assert main_exit_code("train", str(path), "train.epochs=3") == 2
    assert "train.epochs: unknown key" in capsys.readouterr().err
    assert main_exit_code("train") == 2
    assert main_exit_code("train", "--resume", str(tmp_path)) == 2
    assert "not a medsr run folder" in capsys.readouterr().err


def test_train_then_resume_longer(tmp_path, tiny_config, capsys):
    cfg = tiny_config()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main_exit_code("train", str(path), "train.max_steps=2") == 0
    out = capsys.readouterr().out
    run = Path(cfg["output_dir"])
    assert f"run folder: {run}" in out and "steps:      2" in out
    assert (run / "model.safetensors").is_file() and (run / "config.yaml").is_file()
    assert main_exit_code("train", str(path)) == 2  # the folder holds a run: refuse to overwrite it
    assert "--resume" in capsys.readouterr().err
    assert main_exit_code("train", "--resume", str(run), "train.max_steps=4") == 0
    assert "steps:      4" in capsys.readouterr().out
    # a resumed run continues its log version: one CSV file with the steps of both sessions
    assert [p.name for p in (run / "logs").iterdir()] == ["version_0"]
    with open(run / "logs/version_0/metrics.csv", newline="") as f:
        steps = {int(row["step"]) for row in csv.DictReader(f)}
    assert sorted(steps) == [0, 1, 2, 3]


def test_a_run_that_fails_at_start_leaves_nothing(tmp_path, tiny_config, capsys, monkeypatch):
    """Issue 14: a failed start (no images, a loss that is NaN at the first step, an accelerator
    this machine lacks) leaves no ``runs/<name>-<time>/`` behind; in an existing output_dir only
    what the run added goes. The error is one line on stderr; Lightning's messages go to stdout."""
    import torch

    monkeypatch.chdir(tmp_path)
    cfg = tiny_config()
    del cfg["output_dir"]  # the default: runs/<name>-<time> in the working folder
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    empty = tmp_path / "no_images"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    cases = [
        (f"data.train.hr_dir={empty}", "no readable images"),
        ("optim.lr=1e30", "the training loss became nan at step"),  # fails inside fit
    ]
    if not torch.backends.mps.is_available():
        cases.append(("train.accelerator=mps", "config: train (accelerator mps"))
    for override, message in cases:
        assert main_exit_code("train", str(path), override) == 2, override
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert err.count("\n") == 0 and err.startswith("error:") and message in err, err
        assert "Tip:" not in captured.out + captured.err
        assert not (tmp_path / "runs").exists(), f"{override} left {list(tmp_path.rglob('*'))}"
    # an output_dir that holds the user's files: they stay, the run's files go
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main_exit_code("train", str(path), f"output_dir={out}", "optim.lr=1e30") == 2
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    nested = tmp_path / "new" / "deeper" / "run"
    assert main_exit_code("train", str(path), f"output_dir={nested}", "optim.lr=1e30") == 2
    assert not (tmp_path / "new").exists()
    capsys.readouterr()
