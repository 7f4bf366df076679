"""The review's kind of comparison (Table 1: methods x scale) on real CT/MRI.

1. simulated thick slices (Gaussian profile, FWHM = spacing) of the isotropic T1
   ``../shared/data/medical/chris_t1.nii.gz`` at x2 and x4, back onto the truth grid by nearest,
   linear, cubic, B-spline, Lanczos, self-SR (``self``, default budget) and a VDSR trained on the
   built-in MNI brain (never on chris_t1); PSNR/SSIM/NRMSE inside the head, data consistency, time;
2. the real thick-slice scans ``chris_PD.nii.gz`` and ``CT_pitch.nii.gz`` up-scaled to isotropic
   voxels by B-spline and self-SR: data consistency, time, intensity units, and a figure.

Run from the repository root::

    .venv/bin/python benchmarks/medical_comparison.py --out runs/medical_bench
    .venv/bin/python benchmarks/medical_comparison.py --quick --out /tmp/medical_quick

Library code: :mod:`medsr.bench.medical` (tables: :mod:`medsr.bench.report`, figure:
:mod:`medsr.bench.figures`). Writes ``results.json``, ``results.md`` and
``real_scans.png`` to ``--out`` and prints the tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medical"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "runs" / "medical_bench", help="output folder"
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder with chris_t1, chris_PD, CT_pitch"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small crops and tiny budgets (seconds)"
    )
    parser.add_argument(
        "--factors", type=int, nargs="+", default=None, help="simulated factors (2 4)"
    )
    parser.add_argument("--methods", nargs="+", default=None, help="rows of the simulated table")
    parser.add_argument(
        "--self-budget", type=float, default=None, help="self-SR seconds (default: medsr's)"
    )
    parser.add_argument(
        "--supervised-seconds", type=float, default=None, help="training time per factor"
    )
    parser.add_argument(
        "--supervised-steps", type=int, default=None, help="training steps per factor"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--no-simulated", action="store_true", help="only the real scans")
    parser.add_argument("--no-real", action="store_true", help="only the simulated case")
    args = parser.parse_args(argv)

    from medsr.bench.medical import BenchSettings, run_medical_benchmark
    from medsr.bench.report import markdown_report
    from medsr.errors import MedsrError

    settings = BenchSettings.quick() if args.quick else BenchSettings()
    for key, value in (
        ("factors", tuple(args.factors) if args.factors else None),
        ("methods", tuple(args.methods) if args.methods else None),
        ("self_budget", args.self_budget),
        ("supervised_seconds", args.supervised_seconds),
        ("supervised_steps", args.supervised_steps),
        ("threads", args.threads),
    ):
        if value is not None:
            setattr(settings, key, value)
    truth = None if args.no_simulated else args.data / "chris_t1.nii.gz"
    real = (
        {}
        if args.no_real
        else {"chris_PD": args.data / "chris_PD.nii.gz", "CT_pitch": args.data / "CT_pitch.nii.gz"}
    )
    missing = [p for p in ([truth] if truth else []) + list(real.values()) if not Path(p).is_file()]
    if missing:
        print(f"data not found: {', '.join(map(str, missing))}; pass --data", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        result = run_medical_benchmark(
            truth,
            real,
            args.out,
            settings,
            log=lambda m: print(f"[{time.perf_counter() - t0:7.1f} s] {m}", flush=True),
        )
    except MedsrError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print()
    print(markdown_report(result))
    print(f"written: {', '.join(result.files.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
