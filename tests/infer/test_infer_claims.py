"""Claim files (medsr.infer.claims): one holder per scan, heartbeats, stale claims taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from medsr.infer.claims import acquire, claim_path, drop_stale, is_stale, read_claim

_RACE = """
import sys, time
from pathlib import Path
from medsr.infer.claims import acquire
output, go, stop = sys.argv[1:]
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.001)
claim = acquire(output)
print("got" if claim else "busy", flush=True)
while not Path(stop).exists():  # hold it until every process has tried
    time.sleep(0.01)
if claim:
    claim.release()
"""


def test_concurrent_processes_one_gets_the_claim(tmp_path: Path) -> None:
    folder, flags = tmp_path / "out", tmp_path / "flags"
    folder.mkdir()
    flags.mkdir()
    output, go, stop = folder / "scan.nii.gz", flags / "go", flags / "stop"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(output), str(go), str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    assert [p.stdout.readline().strip() for p in procs] == ["ready"] * 4
    go.touch()  # all try at once
    answers = sorted(p.stdout.readline().strip() for p in procs)
    stop.touch()
    for p in procs:
        p.wait(timeout=60)
    assert answers == ["busy", "busy", "busy", "got"]
    assert list(folder.iterdir()) == []  # the claim released by its holder, no temporary left


def test_claim_is_exclusive_refreshed_and_released(tmp_path: Path) -> None:
    output = tmp_path / "a.nii.gz"
    claim = acquire(output, heartbeat=0.05)
    assert claim is not None and claim.held()
    info = read_claim(claim_path(output))
    assert info is not None and info.pid == os.getpid() and info.worker.endswith(f":{os.getpid()}")
    assert acquire(output) is None  # a live holder (this process): not stale
    old = time.time() - 100
    os.utime(claim.path, (old, old))
    time.sleep(0.3)
    assert time.time() - claim.path.stat().st_mtime < 5  # the heartbeat touched it
    claim.release()
    assert not claim.path.exists()
    assert acquire(output) is not None


def test_stale_claims_dead_process_and_silent_other_host(tmp_path: Path) -> None:
    output = tmp_path / "b.nii.gz"
    path = claim_path(output)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = os.uname().nodename
    path.write_text(json.dumps({"host": host, "pid": dead.pid, "token": "t", "started": 0}))
    assert is_stale(path)
    claim = acquire(output)
    assert claim is not None and read_claim(path).token == claim.info.token
    claim.release()
    # another host: its process cannot be checked; fresh is live, silent for long is stale
    other = {"host": "node-7.cluster", "pid": 1, "token": "u", "started": 0}
    path.write_text(json.dumps(other))
    assert not is_stale(path, stale_after=60) and acquire(output, stale_after=60) is None
    old = time.time() - 120
    os.utime(path, (old, old))
    assert is_stale(path, stale_after=60)
    assert drop_stale(output, stale_after=60) and not path.exists()


def test_taking_over_does_not_remove_a_fresh_claim(tmp_path: Path) -> None:
    """Two runs saw the same stale claim; the slower one must not remove the quicker one's."""
    from medsr.infer.claims import _take_over

    output = tmp_path / "c.nii.gz"
    path = claim_path(output)
    path.write_text("stale content")
    seen = path.read_bytes()
    fresh = acquire(tmp_path / "other.nii.gz")  # a live claim's text, moved into place
    assert fresh is not None
    path.write_text(fresh.info.text())  # the quicker run took over and claimed
    _take_over(path, seen)
    assert read_claim(path) is not None and read_claim(path).token == fresh.info.token
    fresh.release()


def test_a_killed_claimers_temporaries_are_removed_by_the_next_acquire(tmp_path: Path) -> None:
    from medsr.io.atomic import temp_sibling

    output = tmp_path / "scan.nii.gz"
    path = claim_path(output)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = temp_sibling(path)  # this process's own name, as _create makes it
    assert mine.parent == tmp_path and mine.name.startswith(f".{path.name[:-6]}.tmp{os.getpid()}-")
    left = tmp_path / mine.name.replace(f".tmp{os.getpid()}-", f".tmp{dead.pid}-")
    left.write_text("a claim being written when its process was killed")
    live = tmp_path / mine.name  # a live writer's temporary (this process) is kept
    live.write_text("being written")
    claim = acquire(output)
    assert claim is not None
    claim.release()
    assert not left.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]
