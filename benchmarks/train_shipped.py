"""Start or resume the trainings of the weights shipped in the package, one after the other.

    setsid nohup nice -n 19 .venv/bin/python benchmarks/train_shipped.py \\
        >> shipped_runs/train.log 2>&1 &        # (or: make train-shipped)
    python benchmarks/train_shipped.py --status  # what is done, where each run stands

Each run of :data:`medsr.bench.shipped.ORDER` (recipe ``configs/shipped/<net>_x<scale>.yaml``,
run folder ``shipped_runs/<net>_x<scale>/``) is trained in a fresh subprocess (``--step``: one
run, started or resumed from ``checkpoints/last.ckpt``), then scored on Set5 / Set14 and exported
to ``src/medsr/weights/<net>_x<scale>/`` (model.safetensors + model.json with the command, steps,
time, hardware and scores). Killing the process loses at most the steps since the last checkpoint
(a few hundred); running the same command again continues. A lock file keeps two drivers from
training at once. One torch thread (fastest on a shared CPU).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "natural"
DEFAULT_RUNS = ROOT / "shipped_runs"
DEFAULT_WEIGHTS = ROOT / "src" / "medsr" / "weights"
DONE = 3  # exit status of --step when every run is exported
STOPPED = 143  # exit status of --step (and the driver) stopped by SIGINT / SIGTERM


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + " UTC"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of natural/ images")
    ap.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="folder of the run folders")
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="export folder")
    ap.add_argument(
        "--only", action="append", default=[], help="run key, e.g. edsr_x2 (repeatable)"
    )
    ap.add_argument("--set", action="append", default=[], help="key=value override (tests)")
    ap.add_argument("--step", action="store_true", help="train + export one run, then exit")
    ap.add_argument("--status", action="store_true", help="print where each run stands")
    ap.add_argument(
        "--readme",
        action="store_true",
        help="rewrite the README's table of shipped models from src/medsr/weights/*/model.json",
    )
    ap.add_argument(
        "--readme-table1",
        type=Path,
        metavar="REPORT_DIR",
        help="copy the overview of a `medsr benchmark table1 --out REPORT_DIR` report into the "
        "README's Table-1 block",
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.chdir(ROOT)  # the recipes' paths are relative to the repository root

    from medsr.bench import shipped

    if args.status:
        for run in shipped.ORDER:
            st = shipped.run_status(run, args.runs, args.weights)
            steps, secs = shipped.Ledger(args.runs / run.key).totals()
            rec = args.runs / run.key / "shipped.json"
            psnr = None
            if rec.is_file():
                psnr = json.loads(rec.read_text()).get("scores", {}).get("Set5", {}).get("psnr")
            score = f"  Set5 {psnr:.2f} dB" if psnr is not None else ""
            print(f"{run.key:12s} {st:9s} step {steps:>7d}  {secs / 3600:6.2f} h{score}")
        return 0
    if args.readme_table1 is not None:
        from medsr.bench.shipped_table import update_readme_table1

        changed = update_readme_table1(ROOT / "README.md", args.readme_table1)
        print("README.md Table-1 overview " + ("updated" if changed else "already up to date"))
        return 0
    if args.readme:
        from medsr.bench.shipped_table import shipped_table, update_readme

        changed = update_readme(ROOT / "README.md", args.weights)
        print("README.md " + ("updated" if changed else "already up to date"))
        print(shipped_table(args.weights))
        return 0
    if args.step:
        from medsr.cli.notes import lightning_to_stdout

        command = " ".join(
            ["python benchmarks/train_shipped.py"]
            + [f"--only {k}" for k in args.only]
            + [f"--set {v}" for v in args.set]
        )
        from medsr.train.interrupt import TrainingInterrupted

        with lightning_to_stdout():  # one line per message, Lightning's advertisement dropped
            try:
                key = shipped.run_step(
                    root=ROOT,
                    runs=args.runs,
                    weights_dir=args.weights,
                    natural=args.data,
                    only=args.only,
                    overrides=args.set,
                    command=command,
                    log=lambda m: print(f"{_stamp()} {m}", flush=True),
                )
            except TrainingInterrupted as stop:  # the ledger and last.ckpt hold this step
                print(
                    f"{_stamp()} stopped at step {stop.step} of {stop.total} "
                    f"({stop.checkpoint} saved); run the same command to resume",
                    flush=True,
                )
                return STOPPED
        return DONE if key is None else 0

    args.runs.mkdir(parents=True, exist_ok=True)
    # one driver per set of runs (``--only``); drivers of different sets may share the cores,
    # each run being locked by the driver that trains it (shipped_runs/<run>/.lock)
    name = ".lock" + "".join(f"-{k}" for k in sorted(args.only))
    lock = open(args.runs / name, "a+")  # noqa: SIM115 - held for the life of the driver
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"another train_shipped.py is running ({args.runs / name}); not starting")
        return 1
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    child = [sys.executable, str(Path(__file__).resolve()), "--step"]
    for flag, values in (("--only", args.only), ("--set", args.set)):
        for v in values:
            child += [flag, v]
    child += ["--data", str(args.data), "--runs", str(args.runs), "--weights", str(args.weights)]
    # a signal to the process group stops the --step child, which saves its checkpoint: the
    # driver waits for it (a no-op handler, reset to the default in the child by exec)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    while True:
        print(f"{_stamp()} driver: next run", flush=True)
        rc = subprocess.call(child)
        if rc == DONE:
            print(f"{_stamp()} driver: every run is exported", flush=True)
            return 0
        if rc in (STOPPED, -signal.SIGTERM, -signal.SIGINT):
            print(f"{_stamp()} driver: stopped by a signal; run it again to resume", flush=True)
            return STOPPED
        if rc != 0:
            print(f"{_stamp()} driver: a run failed (exit {rc}); stopping", flush=True)
            return rc


if __name__ == "__main__":
    from medsr.cli.notes import lightning_to_stdout
    from medsr.errors import MedsrError

    with lightning_to_stdout():  # one line per Lightning message, its advertisement dropped
        try:
            code = main()
        except MedsrError as err:  # a user error: one line, exit 2, no traceback
            print(f"error: {err}", file=sys.stderr)
            code = 2
    raise SystemExit(code)
