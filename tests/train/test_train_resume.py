"""A run killed with SIGKILL after a checkpoint and resumed ends bitwise equal to an uninterrupted
run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import resumable_config

from medsr.train.config import parse_config
from medsr.train.run import train

_SCRIPT = """
import json, sys, time
import lightning as L
from medsr.train.config import parse_config
from medsr.train.run import train

cfg, pause_at, marker = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

class PauseAfterCheckpoint(L.Callback):
    # at the start of step `pause_at` the checkpoint of the previous epoch end is on disk
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == pause_at:
            open(marker, "w").write(str(trainer.global_step))
            time.sleep(600)

train(parse_config(cfg), callbacks=[PauseAfterCheckpoint()])
"""


def _config(tiny_config, out: Path) -> dict:
    return resumable_config(tiny_config, out, 8, 4)


def test_sigkill_then_resume_matches_uninterrupted_run(tiny_config, tmp_path):
    torch.set_num_threads(1)
    reference = train(parse_config(_config(tiny_config, tmp_path / "reference")))

    killed_dir = tmp_path / "killed"
    marker = tmp_path / "paused"
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SCRIPT,
            json.dumps(_config(tiny_config, killed_dir)),
            "6",
            str(marker),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 180
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"training subprocess ended early: {proc.stderr.read().decode()[-2000:]}"
                )
            if time.time() > deadline:
                pytest.fail("training subprocess never reached the pause point")
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert (killed_dir / "checkpoints" / "last.ckpt").is_file()
    assert not (killed_dir / "model.safetensors").exists()  # it really stopped mid-training
    assert (
        torch.load(killed_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4
    )

    resumed = train(resume=killed_dir)
    assert resumed.global_step == reference.global_step == 8
    a = load_file(str(reference.weights))
    b = load_file(str(resumed.weights))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), (
        "resumed weights differ from the uninterrupted run"
    )
    ref_ckpt = torch.load(reference.run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    res_ckpt = torch.load(killed_dir / "checkpoints" / "last.ckpt", weights_only=False)
    for k, v in ref_ckpt["state_dict"].items():  # raw weights and the EMA copy
        assert torch.equal(v, res_ckpt["state_dict"][k]), k
    opt_a, opt_b = (
        ref_ckpt["optimizer_states"][0]["state"],
        res_ckpt["optimizer_states"][0]["state"],
    )
    assert all(torch.equal(opt_a[i]["exp_avg_sq"], opt_b[i]["exp_avg_sq"]) for i in opt_a)
    assert ref_ckpt["lr_schedulers"] == res_ckpt["lr_schedulers"]


def test_data_order_does_not_depend_on_loader_workers(tiny_config):
    """Samples are keyed by (seed, epoch, index): two worker processes give the same run."""
    torch.set_num_threads(1)
    states = []
    for workers in (0, 2):
        cfg = tiny_config(
            train={"max_steps": 4, "checkpoint_every": 2, "progress": "none", "threads": 1}
        )
        cfg["data"]["num_workers"] = workers
        states.append(train(parse_config(cfg)).model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_gan_training_resumes_exactly(tiny_config, tmp_path):
    """Manual optimisation too: G, D, EMA and both optimisers continue bitwise after a stop."""
    torch.set_num_threads(1)

    def cfg(out, steps):
        c = tiny_config(
            output_dir=str(out),
            task="adversarial",
            discriminator={"name": "srgan_d", "preset": "tiny"},
            adversarial={"kind": "wgan_gp", "weight": 0.1, "d_steps": 2},
            train={"max_steps": steps, "checkpoint_every": 2, "progress": "none", "threads": 1},
        )
        c["train"]["ema_decay"] = 0.9
        return parse_config(c)

    train(cfg(tmp_path / "full", 4))
    train(cfg(tmp_path / "cut", 2))
    train(resume=tmp_path / "cut", overrides=["train.max_steps=4"])
    a = torch.load(tmp_path / "full" / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(tmp_path / "cut" / "checkpoints" / "last.ckpt", weights_only=False)
    assert a["global_step"] == b["global_step"] == 4
    assert all(torch.equal(v, b["state_dict"][k]) for k, v in a["state_dict"].items())


def test_a_moved_run_keeps_checkpointing_into_last_ckpt(tiny_config, tmp_path):
    """A run folder moved (or cloned) before resuming: its periodic checkpoints still overwrite
    ``checkpoints/last.ckpt``, the file a resume reads. Lightning's version counter wrote them to
    ``last-v1.ckpt`` instead (the stored path of the old folder no longer matched), so a resume
    after a crash restarted from the stale ``last.ckpt``."""
    torch.set_num_threads(1)
    first = tmp_path / "first"
    train(parse_config(_config(tiny_config, first)), ["train.max_steps=4"])
    moved = tmp_path / "moved"
    first.rename(moved)
    assert torch.load(moved / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4

    resumed = train(resume=moved, overrides=["train.max_steps=8"])
    assert resumed.global_step == 8
    names = sorted(p.name for p in (moved / "checkpoints").iterdir())
    assert not [n for n in names if n.startswith("last-v")], names
    assert torch.load(moved / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 8
