"""Training progress off a terminal: plain lines with step / total / ETA, no carriage returns."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml
from train_helpers import main_exit_code

from medsr.train.progress import PlainProgress, format_seconds, progress_kind


def test_bars_become_plain_lines_off_a_terminal() -> None:
    assert progress_kind("tqdm", terminal=True) == "tqdm"
    assert progress_kind("tqdm", terminal=False) == "plain"
    assert progress_kind("rich", terminal=False) == "plain"
    assert progress_kind("none", terminal=False) == "none"
    assert format_seconds(75) == "1:15" and format_seconds(3725) == "1:02:05"


def test_line_shows_global_step_total_loss_and_eta() -> None:
    clock = SimpleNamespace(now=100.0)
    cb = PlainProgress(interval=10.0, max_time=None, clock=lambda: clock.now)
    trainer = SimpleNamespace(global_step=200, max_steps=1200, callback_metrics={})
    cb.on_train_start(trainer, None)  # a resumed run: it starts at step 200
    clock.now += 60.0
    trainer.global_step = 300
    trainer.callback_metrics = {"train/loss": 0.04123}
    line = cb.line(trainer, clock.now)
    assert line == "step 300/1200 (25 %), loss 0.04123, 1:00 elapsed, ETA 9:00"
    capped = PlainProgress(max_time=120.0, clock=lambda: clock.now)
    capped.start, capped.first_step = clock.now - 60.0, 200
    assert capped.line(trainer, clock.now).endswith("ETA 1:00")  # train.max_time comes first


def test_default_progress_in_a_log_has_no_carriage_returns(tmp_path, tiny_config, capsys):
    cfg = tiny_config(train={"progress": "tqdm", "max_steps": 3})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main_exit_code("train", str(path)) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.out + captured.err
    assert "steps:      3" in captured.out
    run = Path(cfg["output_dir"])
    assert main_exit_code("train", "--resume", str(run), "train.max_steps=5") == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.out + captured.err
    assert "steps:      5" in captured.out


def test_terminal_bar_counts_global_steps_from_the_resumed_step(
    tiny_config, capsys, monkeypatch
) -> None:
    import re

    import medsr.train.trainer as trainer_module
    from medsr.train.config import parse_config
    from medsr.train.run import train

    for kind in ("tqdm", "rich"):
        monkeypatch.setattr(trainer_module, "progress_kind", lambda setting, k=kind: k)
        cfg = tiny_config()  # 4 steps, a data epoch (checkpoint) every 2
        first = train(parse_config(cfg))
        capsys.readouterr()
        train(resume=first.run_dir, overrides=["train.max_steps=8"])
        out = capsys.readouterr().out
        # one bar over the whole run: from the resumed step 4 to 8 of 8 (never 0/2 per epoch)
        counts = re.findall(r"(\d+)/(\d+)", out)
        assert counts, out
        assert {total for _, total in counts} == {"8"}, out
        assert int(counts[0][0]) >= 4 and counts[-1] == ("8", "8"), out
