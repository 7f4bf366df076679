"""Train networks with ``medsr train`` and score them with the review's Table-1 protocol.

    python benchmarks/table1_train.py --nets espcn,fsrcnn,srcnn,vdsr --scales 2 --out runs/table1
    python benchmarks/table1_train.py --nets espcn,fsrcnn --scales 3,4 \\
        --steps espcn=6000 --steps fsrcnn=6000 --out runs/table1

Results, with the exact commands and notes: docs/benchmarks/table1.md. What is trained, on what,
with which short budget, and how it is scored: :mod:`medsr.bench.table1_train` (this file is only
its command line). ``--lr`` sets one Adam rate for every network, ``--max-minutes`` caps the
wall time of each; re-running the same command with the same ``--out`` resumes a stopped run.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from medsr.bench.table1_train import RECIPES, parse_step_budgets, run_table1_train
from medsr.errors import MedsrError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "natural"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--nets", default="espcn,fsrcnn,srcnn", help=f"comma-separated, from {','.join(RECIPES)}"
    )
    ap.add_argument("--scales", default="2", help="comma-separated scales (2,3,4)")
    ap.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder holding CBSD68/Sun-Hays80/Set5/Set14",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "table1_train")
    ap.add_argument(
        "--steps",
        action="append",
        default=[],
        help="NET=N: step budget of one network (repeatable)",
    )
    ap.add_argument(
        "--max-minutes", type=float, default=6.0, help="wall-time cap per network (stops early)"
    )
    ap.add_argument(
        "--lr", type=float, default=None, help="Adam rate for every network (default: per recipe)"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; 1 is fastest on a shared CPU (2 threads were up to 40x slower)",
    )
    args = ap.parse_args(argv)
    command = " ".join(
        ["python", "benchmarks/table1_train.py", *(sys.argv[1:] if argv is None else argv)]
    )
    try:
        result = run_table1_train(
            [n.strip() for n in args.nets.split(",") if n.strip()],
            [int(s) for s in args.scales.split(",")],
            data=args.data,
            out=args.out,
            configs=ROOT / "configs",
            steps=parse_step_budgets(args.steps),
            max_minutes=args.max_minutes,
            lr=args.lr,
            threads=args.threads,
            command=command,
            log=lambda line: print(line, flush=True),
        )
    except MedsrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(result.table, end="")
    print("\nPSNR (dB) / SSIM on Y, `scale` border pixels cropped (Table-1 protocol, mode 'y').")
    finite = all(math.isfinite(v) for r in result.rows for sc in r.scores.values() for v in sc)
    return 0 if finite else 1


if __name__ == "__main__":
    raise SystemExit(main())
