"""Self-SR (``--method self``) on the development cases made from chris_t1 (held-out-like geometry).

The cases and the protocol: :mod:`medsr.bench.selfsr_dev`. Defaults of self-SR are chosen here,
then checked once on the held-out scans (``benchmarks/selfsr_heldout.py``). Prints one JSON record.

Run (repository root; one case per process keeps the wall times of a shared machine apart)::

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/selfsr_dev.py --cases t1-aniso-24
    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/selfsr_dev.py --option pair_scales=none
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "medical" / "chris_t1.nii.gz"


def main(argv: list[str] | None = None) -> int:
    from medsr.bench.selfsr_dev import DEV_CASES, run_dev

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the chris_t1 scan")
    parser.add_argument("--factor", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cases", nargs="+", default=None,
        help="names among " + ", ".join(c.name for c in DEV_CASES),
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="extra option of the self method (as medsr upscale --option)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the record here")
    args = parser.parse_args(argv)
    cases = DEV_CASES
    if args.cases:
        unknown = set(args.cases) - {c.name for c in DEV_CASES}
        if unknown:
            print(f"unknown case(s) {sorted(unknown)}", file=sys.stderr)
            return 2
        cases = tuple(c for c in DEV_CASES if c.name in args.cases)
    extra: dict[str, object] = {}
    for item in args.option:
        key, _, value = item.partition("=")
        extra[key.strip()] = value.strip()
    record = run_dev(args.data, cases=cases, factor=args.factor, extra=extra, seed=args.seed)
    text = json.dumps(record, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
