"""`medsr train`: help, one-line errors with exit code 2, a run and its resumption."""

from pathlib import Path

import yaml

from medsr.cli import main


def _main(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_help_explains_overrides_and_resume(capsys):
    assert _main("train", "--help") == 0
    out = capsys.readouterr().out
    assert "--resume" in out and "key.path=value" in out and "configs/srcnn.yaml" in out


def test_config_mistakes_exit_2_with_one_line(tmp_path, tiny_config, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny_config()))
    assert _main("train", str(path), "optim.lr=abc") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "config: optim.lr" in err
    assert _main("train", str(path), "train.epochs=3") == 2
    assert "train.epochs: unknown key" in capsys.readouterr().err
    assert _main("train") == 2
    assert _main("train", "--resume", str(tmp_path)) == 2
    assert "not a medsr run folder" in capsys.readouterr().err


def test_train_then_resume_longer(tmp_path, tiny_config, capsys):
    cfg = tiny_config()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert _main("train", str(path), "train.max_steps=2") == 0
    out = capsys.readouterr().out
    run = Path(cfg["output_dir"])
    assert f"run folder: {run}" in out and "steps:      2" in out
    assert (run / "model.safetensors").is_file() and (run / "config.yaml").is_file()
    assert _main("train", str(path)) == 2  # the folder holds a run: refuse to overwrite it
    assert "--resume" in capsys.readouterr().err
    assert _main("train", "--resume", str(run), "train.max_steps=4") == 0
    assert "steps:      4" in capsys.readouterr().out
    assert len(list((run / "logs").iterdir())) == 2  # one CSV log version per session
