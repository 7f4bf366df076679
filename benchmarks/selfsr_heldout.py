"""Self-SR (``--method self``) on held-out real scans: x4 thick slices along an in-plane axis.

The library code and the protocol: :mod:`medsr.bench.selfsr_heldout` (chris_PD, CT_pitch and the
T1 DICOM series; tuned only on the built-in brain and chris_t1). With ``--dev``, the same protocol
on the development cases made from chris_t1 (:mod:`medsr.bench.selfsr_dev`), where self-SR's
defaults are chosen before they are checked once on the held-out scans. Prints one JSON record.

Run (repository root; self-SR's default threads: one for training and inference; one scan per
process keeps the wall times of a shared machine apart)::

    nice .venv/bin/python benchmarks/selfsr_heldout.py
    nice .venv/bin/python benchmarks/selfsr_heldout.py --option ensemble=false --scans CT_pitch
    nice .venv/bin/python benchmarks/selfsr_heldout.py --reapply-ensemble --option members=1
    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/selfsr_heldout.py --dev --scans t1-aniso-24
    .venv/bin/python benchmarks/selfsr_heldout.py --dev --figure \
        docs/benchmarks/selfsr_dev_cases.png
    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/selfsr_heldout.py --scans mr_t1_dicom \
        --figures docs/benchmarks/selfsr_heldout   # the result drawn: docs/.../mr_t1_dicom.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "medical"


def main(argv: list[str] | None = None) -> int:
    from medsr.bench.selfsr_dev import DEV_CASES, run_dev
    from medsr.bench.selfsr_heldout import HELDOUT_SCANS, run_heldout

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the scans")
    parser.add_argument(
        "--dev", action="store_true",
        help="the development cases made from chris_t1 instead of the held-out scans",
    )
    parser.add_argument("--factor", type=float, default=4.0)
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch threads of self-SR's inference (default: self-SR's, one)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scans", nargs="+", default=None, help="names among "
        + ", ".join(s.name for s in HELDOUT_SCANS) + " (with --dev: "
        + ", ".join(c.name for c in DEV_CASES) + ")",
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="extra option of the self method (as medsr upscale --option)",
    )
    parser.add_argument(
        "--reapply-ensemble", action="store_true",
        help="also apply the trained network with the self-ensemble switched (no retraining; "
        "needs --option members=1)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the record here")
    parser.add_argument(
        "--figure", type=Path, default=None, metavar="PNG",
        help="with --dev: draw the chosen cases (truth and thick-slice input) and stop",
    )
    parser.add_argument(
        "--figures", type=Path, default=None, metavar="DIR",
        help="also draw each scan's (or case's) result into DIR/NAME.png: thick-slice input, "
        "B-spline, self-SR, truth and both error maps in three orientations",
    )
    args = parser.parse_args(argv)
    available = DEV_CASES if args.dev else HELDOUT_SCANS
    chosen = available
    if args.scans:
        unknown = set(args.scans) - {s.name for s in available}
        if unknown:
            print(f"unknown scan(s) {sorted(unknown)}", file=sys.stderr)
            return 2
        chosen = tuple(s for s in available if s.name in args.scans)
    if args.figure is not None:
        if not args.dev:
            print("--figure draws the development cases: add --dev", file=sys.stderr)
            return 2
        from medsr.bench.selfsr_dev import cases_figure

        print(cases_figure(args.data, args.figure, chosen))
        return 0
    extra: dict[str, object] = {} if args.threads is None else {"threads": args.threads}
    for item in args.option:
        key, _, value = item.partition("=")
        extra[key.strip()] = value.strip()
    if args.figures is not None:
        args.figures.mkdir(parents=True, exist_ok=True)
    run = run_dev if args.dev else run_heldout
    record = run(
        args.data, factor=args.factor, extra=extra, seed=args.seed,
        reapply_ensemble=args.reapply_ensemble, figures=args.figures,
        **{"cases" if args.dev else "scans": chosen},
    )
    text = json.dumps(record, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
