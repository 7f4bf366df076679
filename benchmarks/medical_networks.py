"""Section-4 networks trained on the MNI brain and scored on chris_t1 thick slices (one row each).

Each network of the review's section 4 is trained with its recipe's ``bench`` profile (fixed
steps, seed 0, one thread) on the built-in MNI brain degraded by Gaussian thick slices along z,
then scored on ``chris_t1`` thick slices (x2 / x4) inside the head mask beside cubic B-spline
(:func:`medsr.bench.networks.run_row`). Run from the repository root::

    .venv/bin/python benchmarks/medical_networks.py --method lgrl_sr --scale 2
    .venv/bin/python benchmarks/medical_networks.py --all --scales 2,4 --record

``--method`` also takes the rows of :data:`medsr.bench.medical_rows.EXTRA_ROWS`: ``self_sr``
(self-SR on the same case), ``oktay_misr`` (three orthogonal stacks), ``multicontrast_single`` /
``multicontrast_t1`` (PD in-plane x2 without / with the T1) and ``umehara_srcnn_ct`` /
``park_unet_ct`` (held-out CT slices, thick in plane). ``--steps`` is their training steps
(self-SR: iterations).

Prints each row as one JSON object; a single row's object is the last line. ``--record`` adds the
rows to ``docs/benchmarks/medical_networks.json`` and regenerates the table in
``docs/benchmarks/medical.md`` after each row.
"""

from __future__ import annotations

import argparse
import json
import sys

JSON_PATH = "docs/benchmarks/medical_networks.json"
MD_PATH = "docs/benchmarks/medical.md"


def main(argv: list[str] | None = None) -> int:
    from medsr.bench.medical_rows import EXTRA_ROWS
    from medsr.bench.networks import NETWORKS, SCORE_CROP

    names = [s.method for s in NETWORKS] + [e.method for e in EXTRA_ROWS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", action="append", default=[],
                        help=f"network or extra row (repeatable): {', '.join(names)}")
    parser.add_argument("--all", action="store_true", help="every network, in the table's order")
    parser.add_argument("--scale", type=int, default=None, help="one scale (2 or 4)")
    parser.add_argument("--scales", default="2", help="comma list of scales with --all")
    parser.add_argument("--steps", type=int, default=None,
                        help="test-size override of the bench profile's training steps")
    parser.add_argument("--crop", default=None,
                        help="scored crop of chris_t1, e.g. 32,32,32 (default "
                        f"{','.join(map(str, SCORE_CROP))})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="further recipe override (repeatable)")
    parser.add_argument("--work", default="runs/medical_networks", help="run folders go here")
    parser.add_argument("--record", action="store_true",
                        help=f"add the rows to {JSON_PATH} and the table in {MD_PATH}")
    args = parser.parse_args(argv)

    from medsr.bench.networks import record_row, run_row
    from medsr.errors import MedsrError

    methods = [s.method for s in NETWORKS] if args.all else args.method
    if not methods:
        parser.error("give --method NAME or --all")
    scales = [args.scale] if args.scale else [int(s) for s in args.scales.split(",")]
    overrides = list(args.set)
    extra: list[str] = []
    if args.steps is not None:
        extra += ["--steps", str(args.steps)]
    crop = None
    if args.crop is not None:
        crop = tuple(int(v) for v in args.crop.replace("x", ",").split(","))
        extra += ["--crop", args.crop]
    for item in args.set:
        extra += ["--set", item]
    status = 0
    for scale in scales:
        for method in methods:
            try:
                row = run_row(
                    method,
                    scale,
                    work_dir=args.work,
                    overrides=overrides,
                    crop=crop if crop is not None else SCORE_CROP,
                    command_extra=extra,
                    steps=args.steps,
                )
            except MedsrError as err:
                print(f"error: {method} x{scale}: {err}", file=sys.stderr)
                status = 2
                continue
            if args.record:
                record_row(JSON_PATH, row, markdown=MD_PATH)  # locked: other runs may record
            print(json.dumps(row), flush=True)
    return status


if __name__ == "__main__":
    from medsr.cli.notes import lightning_to_stdout

    with lightning_to_stdout():  # one line per Lightning message, its advertisement dropped
        sys.exit(main())
