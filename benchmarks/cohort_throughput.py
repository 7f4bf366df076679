"""Scans per hour of `medsr upscale` on a cohort with 1, 2 and 4 local workers.

Builds a cohort of thick-slice crops of ../shared/data/medical/chris_t1.nii.gz
(:func:`medsr.bench.cohort.make_cohort`) and up-scales it x4 along z once per worker count with
``--executor local`` (:func:`medsr.bench.cohort.measure_throughput`). The default method is
self-supervised SR with a fixed number of iterations (the same work per scan, whatever the
machine's speed; ``--method bspline`` measures the I/O-bound end). Expect no gain beyond the
number of cores. Results: docs/benchmarks/cohort.md.

Usage::

    python benchmarks/cohort_throughput.py [--scans 8] [--size 32] [--iterations 40]
        [--method self] [--workers 1,2,4] [--out runs/cohort_bench]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument(
        "--source", type=Path, default=root.parent / "shared/data/medical/chris_t1.nii.gz"
    )
    parser.add_argument("--scans", type=int, default=8)
    parser.add_argument("--size", type=int, default=32, help="crop edge in voxels")
    parser.add_argument("--method", default="self")
    parser.add_argument("--iterations", type=int, default=40, help="self/dip iterations per scan")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--out", type=Path, default=root / "runs" / "cohort_bench")
    args = parser.parse_args(argv)

    from medsr.bench.cohort import make_cohort, markdown_table, measure_throughput
    from medsr.bench.report import environment
    from medsr.infer.executors import available_cores
    from medsr.infer.files import Job
    from medsr.infer.methods import MethodOptions
    from medsr.infer.pipeline import UpscaleConfig

    if not args.source.is_file():
        print(f"error: {args.source} is absent (../shared/data)", file=sys.stderr)
        return 2
    extra = {"iterations": str(args.iterations)} if args.method in ("self", "dip") else {}
    job = Job(
        factors="1,1,4",
        method=args.method,
        config=UpscaleConfig(method_options=MethodOptions(extra=extra)),
    ).validate()
    inputs = args.out / "inputs"
    make_cohort(args.source, inputs, args.scans, args.size)
    env = environment()
    t0 = time.perf_counter()
    workers = [int(w) for w in args.workers.split(",")]
    rows = measure_throughput(inputs, args.out, job, workers)
    print(
        f"{args.scans} scans of {args.size}^3 (x4 along z), method {args.method}"
        + (f" ({args.iterations} iterations)" if extra else "")
        + f"; {available_cores()} cores, load average {env['load_average_1_5_15']}"
        + f" at the start; {time.perf_counter() - t0:.0f} s in all"
    )
    print(markdown_table(rows))
    return 1 if any(r.failed for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
