"""Training killed (SIGKILL) at many moments, checkpoint writes included, always resumes from a
valid checkpoint and ends bitwise equal to an uninterrupted run (issue 14, "Faults").

Each attempt is a real subprocess running :func:`medsr.train.run.train` on the tiny BSD-crop
recipe (12 steps, a checkpoint every 2 steps, validation and EMA). A kill plan says where the
process kills itself with SIGKILL (n steps after it started or resumed, in the middle of its k-th
checkpoint write with the temporary half-written, right after its k-th checkpoint was renamed into
place, during validation, while the final weights are written) or how long after training started
the test kills it. After every
kill ``checkpoints/last.ckpt`` is absent or a whole checkpoint of a finished data epoch; the next
attempt resumes from it (``train(resume=...)``), or starts the run again when no checkpoint was
written yet. The last attempt runs to the end; its weights, EMA copy and optimiser state must equal
the uninterrupted run's, and no temporary file may be left in the run folder.
"""

from __future__ import annotations

import json
import os
import random
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

_ROOT = Path(__file__).resolve().parents[2]
_STEPS, _EVERY = 12, 2

# One attempt: argv = config JSON, run folder, "new" | "resume", kill plan, marker file.
_SCRIPT = r"""
import json, os, signal, sys, time
from pathlib import Path
import lightning as L
from lightning.fabric.plugins import TorchCheckpointIO
import safetensors.torch
from medsr.train.config import parse_config
from medsr.train.run import train
from medsr.train.trainer import AtomicCheckpointIO

cfg, run_dir, mode, plan, marker = json.loads(sys.argv[1]), sys.argv[2], *sys.argv[3:6]
kind, _, arg = plan.partition(":")
count = {"write": 0, "renamed": 0, "val": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def half(path):  # the temporary as a writer killed half-way through leaves it
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)

write_checkpoint = TorchCheckpointIO.save_checkpoint
def save_checkpoint(self, checkpoint, path, storage_options=None):
    write_checkpoint(self, checkpoint, path, storage_options)  # path: the temporary
    count["write"] += 1
    if kind == "write" and count["write"] == int(arg):
        half(path)
        die()
TorchCheckpointIO.save_checkpoint = save_checkpoint

atomic_save = AtomicCheckpointIO.save_checkpoint
def renamed(self, checkpoint, path, storage_options=None):
    atomic_save(self, checkpoint, path, storage_options)
    count["renamed"] += 1
    if kind == "renamed" and count["renamed"] == int(arg):
        die()
AtomicCheckpointIO.save_checkpoint = renamed

save_weights_file = safetensors.torch.save_file
def export(tensors, filename, metadata=None):
    save_weights_file(tensors, filename, metadata=metadata)
    if kind == "export":
        half(filename)
        die()
safetensors.torch.save_file = export

class Killer(L.Callback):
    start = 0
    def on_train_start(self, trainer, pl_module):
        self.start = trainer.global_step  # 0, or the step resumed from
        Path(marker).write_text(str(trainer.global_step))
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if kind == "step" and trainer.global_step == self.start + int(arg):
            die()
        if kind == "time":
            time.sleep(0.5)  # slow steps: a timed kill lands inside the run
    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        count["val"] += 1
        if kind == "val" and count["val"] == int(arg):
            die()

if mode == "resume":
    train(resume=run_dir, callbacks=[Killer()])
else:
    train(parse_config(cfg), callbacks=[Killer()])
"""


def _config(tiny_config, out: Path) -> dict:
    return resumable_config(tiny_config, out, _STEPS, _EVERY)


def _check_last(run: Path) -> int | None:
    """The step of ``checkpoints/last.ckpt`` (None when there is none); fails on a corrupt one."""
    last = run / "checkpoints" / "last.ckpt"
    if not last.exists():
        return None
    ckpt = torch.load(last, weights_only=False)  # a truncated file raises here
    step = int(ckpt["global_step"])
    assert step % _EVERY == 0 and 0 < step <= _STEPS, step
    assert ckpt["state_dict"] and ckpt["optimizer_states"]
    return step


def _attempt(cfg: dict, run: Path, plan: str, tmp: Path) -> tuple[int, str]:
    """Run one attempt (resume when a checkpoint exists) under ``plan``; -> (exit code, stderr)."""
    mode = "resume" if _check_last(run) is not None else "new"
    marker = tmp / f"started-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, json.dumps(cfg), str(run), mode, plan, str(marker)],
        cwd=_ROOT,
        env=dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if plan.startswith("time:"):
            deadline = time.time() + 180
            while not marker.exists() and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(float(plan.partition(":")[2]))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err.decode(errors="replace")[-3000:]


def _kill_and_resume(tiny_config, tmp_path: Path, plans: list[str]) -> None:
    torch.set_num_threads(1)
    reference = train(parse_config(_config(tiny_config, tmp_path / "reference")))
    run = tmp_path / "killed"
    cfg = _config(tiny_config, run)
    killed = 0
    for plan in plans:
        code, err = _attempt(cfg, run, plan, tmp_path)
        assert code in (0, -signal.SIGKILL), f"attempt {plan} failed:\n{err}"
        killed += code == -signal.SIGKILL
        _check_last(run)  # absent or whole after every kill
    if not (run / "model.safetensors").exists():
        code, err = _attempt(cfg, run, "none", tmp_path)
        assert code == 0, err
    assert killed == len(plans), f"{killed} of {len(plans)} attempts were killed"
    assert _check_last(run) == _STEPS

    a, b = load_file(str(reference.weights)), load_file(str(run / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ"
    ref = torch.load(reference.run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    res = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    for k, v in ref["state_dict"].items():  # raw weights and the EMA copy
        assert torch.equal(v, res["state_dict"][k]), k
    opt_a, opt_b = ref["optimizer_states"][0]["state"], res["optimizer_states"][0]["state"]
    assert all(torch.equal(opt_a[i]["exp_avg_sq"], opt_b[i]["exp_avg_sq"]) for i in opt_a)
    assert ref["lr_schedulers"] == res["lr_schedulers"]
    left = [p for p in run.rglob(".*") if ".tmp" in p.name]
    assert not left, f"temporaries left behind: {left}"


def test_killed_while_writing_a_checkpoint_resumes_exactly(tiny_config, tmp_path):
    """Two kills: half-way through the second checkpoint write of the run, and 3 steps after the
    resumption; the run ends as if it had never stopped."""
    _kill_and_resume(tiny_config, tmp_path, ["write:2", "step:3"])


@pytest.mark.slow
def test_killed_at_many_moments_always_resumes_exactly(tiny_config, tmp_path):
    """Fourteen kills: before the first checkpoint, at steps, inside and right after checkpoint
    writes (last and best), during validation, at random times, and while the final weights are
    written."""
    rng = random.Random(14)
    plans = [
        "step:1",  # before any checkpoint: the run starts again
        "write:1",  # the very first checkpoint half-written: still nothing to resume from
        "renamed:2",  # right after best.ckpt of the first validation (last.ckpt is the first)
        *(f"time:{rng.uniform(0.05, 0.7):.2f}" for _ in range(3)),  # within the first 2 steps
        "renamed:1",  # a checkpoint just renamed into place, the next write not begun
        "write:1",
        "val:1",
        "write:2",
        "step:1",
        "renamed:1",
        "step:1",
        "export",  # model.safetensors half-written (after the last checkpoint), then killed
    ]
    _kill_and_resume(tiny_config, tmp_path, plans)
