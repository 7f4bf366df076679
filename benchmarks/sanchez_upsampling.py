"""Checkerboard at initialisation of the three up-sampling layers of Sanchez & Vilaplana 2018.

Builds the ``sanchez_gan3d`` generator with nearest + conv, sub-pixel and ICNR sub-pixel
up-sampling and prints the period-2 energy of each initial x2 output on a 32^3 block of the real
T1 (:func:`medsr.bench.upsampling.initial_period2`). Run from the repository root::

    .venv/bin/python benchmarks/sanchez_upsampling.py

Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t1", default="../shared/data/medical/chris_t1.nii.gz")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from medsr.bench.upsampling import initial_period2
    from medsr.io import read

    data = read(args.t1).data[0]
    c = [n // 2 for n in data.shape]
    block = data[c[0] - 16 : c[0] + 16, c[1] - 16 : c[1] + 16, c[2] - 16 : c[2] + 16]
    result = initial_period2(block, preset=args.preset, seed=args.seed)
    for name, value in result.items():
        print(f"{name:>14}: period-2 energy {value:.4f}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
