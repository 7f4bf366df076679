"""Safe interruption (issue 15): Ctrl-C / SIGTERM during training save ``last.ckpt`` at the current
step, name the exact resume command, and the resumed run continues exactly (same weights, same
log version and the same CSV rows as an uninterrupted run)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from safetensors.torch import load_file

from medsr.train.config import parse_config
from medsr.train.interrupt import TrainingInterrupted, stop_on_signals
from medsr.train.run import train


class _SignalAt(L.Callback):
    """Sends ``signum`` to this process at the start of the step that begins at ``step``."""

    def __init__(self, step: int, signum: int) -> None:
        self.step, self.signum = step, signum

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


def _config(tiny_config, out: Path) -> dict:
    cfg = tiny_config(output_dir=str(out))
    cfg["train"].update(max_steps=12, checkpoint_every=4, val_every=4, ema_decay=0.9)
    cfg["data"]["val"] = dict(cfg["data"]["train"])
    cfg["data"]["val_crop"] = 32
    return cfg


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_mid_epoch_resumes_exactly(tiny_config, tmp_path, signum):
    full = train(parse_config(_config(tiny_config, tmp_path / "full")))
    run = tmp_path / "cut"
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    # the signal comes during step 6 -> 7, inside the second data epoch (steps 4..7)
    with pytest.raises(TrainingInterrupted) as info:
        train(parse_config(_config(tiny_config, run)), callbacks=[_SignalAt(6, signum)])
    stop = info.value
    assert isinstance(stop, KeyboardInterrupt) and stop.signum == signum
    assert (stop.step, stop.total) == (7, 12)
    assert stop.checkpoint == run / "checkpoints" / "last.ckpt"
    assert stop.command == f"medsr train --resume {run}"
    ckpt = torch.load(stop.checkpoint, map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 7
    assert not (run / "model.safetensors").exists()  # nothing exported from an interrupted run
    # the handlers were the run's only: the previous ones are back
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before

    resumed = train(resume=run)
    assert resumed.global_step == 12
    a, b = load_file(full.weights), load_file(resumed.weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # one log version, and the same rows as the uninterrupted run (nothing lost or repeated)
    assert sorted(p.name for p in (run / "logs").iterdir()) == ["version_0"]
    assert sorted(p.name for p in (run / "tensorboard").iterdir()) == ["version_0"]
    assert (run / "logs/version_0/metrics.csv").read_text() == (
        full.run_dir / "logs/version_0/metrics.csv"
    ).read_text()


def test_resume_command_repeats_the_overrides_of_a_resumed_run(tiny_config, tmp_path):
    run = tmp_path / "run"
    train(parse_config(_config(tiny_config, run)))
    with pytest.raises(TrainingInterrupted) as info:
        train(
            resume=run, overrides=["train.max_steps=20"], callbacks=[_SignalAt(13, signal.SIGINT)]
        )
    assert info.value.step == 14
    assert info.value.command == f"medsr train --resume {run} train.max_steps=20"
    assert train(resume=run, overrides=["train.max_steps=20"]).global_step == 20


def test_a_second_signal_stops_at_once():
    with stop_on_signals() as request:
        os.kill(os.getpid(), signal.SIGINT)
        assert request.signum == signal.SIGINT  # the first one only asks
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)


@pytest.mark.slow  # two `medsr train` processes (Lightning imports dominate)
def test_cli_ctrl_c_saves_and_prints_the_resume_command(tiny_config, tmp_path):
    run = tmp_path / "run"
    cfg = tiny_config(output_dir=str(run))
    cfg["train"].update(max_steps=200, checkpoint_every=20, progress="plain")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "medsr", "train", str(recipe)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not (run / "checkpoints" / "last.ckpt").exists():  # the first checkpoint: step 20
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert lines[-1] == f"resume with: medsr train --resume {run}", err
    step = int(lines[-2].split("interrupted at step ")[1].split("/")[0])
    assert 20 <= step < 200, err
    assert lines[-2].endswith(f"/200; checkpoint saved: {run / 'checkpoints' / 'last.ckpt'}")
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == step
    assert not (run / "model.safetensors").exists()

    command = shlex.split(lines[-1].removeprefix("resume with: "))
    assert command[:2] == ["medsr", "train"]
    done = subprocess.run(
        [sys.executable, "-m", "medsr", *command[1:]],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"resuming at step {step}/200" in done.stdout
    assert "steps:      200" in done.stdout
    assert (run / "model.safetensors").is_file()
    assert sorted(p.name for p in (run / "logs").iterdir()) == ["version_0"]
