"""Two-process DDP (Lightning strategy "ddp", CPU, gloo): both ranks end with identical weights."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

_SCRIPT = """
import hashlib, json, os, sys
import lightning as L
import torch
from medsr.train.config import parse_config
from medsr.train.run import train

class FirstBatch(L.Callback):
    digest = None
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.digest is None:
            self.digest = hashlib.sha256(batch["hr"].numpy().tobytes()).hexdigest()

cfg = json.loads(open(sys.argv[1]).read())
first = FirstBatch()
result = train(parse_config(cfg), callbacks=[first])
digest = hashlib.sha256()
for k, v in sorted(result.model.state_dict().items()):
    digest.update(k.encode()); digest.update(v.detach().cpu().contiguous().numpy().tobytes())
out = os.path.join(sys.argv[2], f"rank{result.rank}.json")
json.dump({"rank": result.rank, "sha256": digest.hexdigest(), "step": result.global_step,
           "first_batch": first.digest}, open(out, "w"))
"""


def _digest(state: dict) -> str:
    digest = hashlib.sha256()
    for k, v in sorted(state.items()):
        digest.update(k.encode())
        digest.update(v.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_two_process_ddp_ranks_agree(tiny_config, tmp_path):
    cfg = tiny_config(
        output_dir=str(tmp_path / "run"),
        train={
            "max_steps": 4,
            "checkpoint_every": 2,
            "log_every": 1,
            "progress": "none",
            "threads": 1,
            "accelerator": "cpu",
            "devices": 2,
            "strategy": "ddp",
        },
    )
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    script = tmp_path / "ddp_run.py"
    script.write_text(_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    env["MASTER_PORT"] = str(29500 + os.getpid() % 1000)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "cfg.json"), str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["step"] for r in ranks] == [4, 4]
    assert ranks[0]["sha256"] == ranks[1]["sha256"]
    saved = load_file(str(tmp_path / "run" / "model.safetensors"))
    assert _digest(saved) == ranks[0]["sha256"]
    # the ranks trained on different samples, so their agreement comes from the gradient all-reduce
    assert ranks[0]["first_batch"] != ranks[1]["first_batch"]
