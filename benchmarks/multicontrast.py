"""Single- vs multi-contrast SR on real same-subject scans (Zeng et al. 2018, review ref. [78]).

PD (``chris_PD``) is the target, T1 (``chris_t1``) the HR reference on the PD grid; in-plane
bicubic x2; the same ``multicontrast_sr`` recipe trained without and with the reference for the
same steps, scored on held-out PD slices inside the head mask
(:func:`medsr.bench.multicontrast.run_multicontrast`). Run from the repository root::

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/multicontrast.py --steps 200 \\
        --out runs/multicontrast --markdown docs/benchmarks/multicontrast.md

Prints one JSON object on its last line (rows and ``reference_gain_db``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pd", default="../shared/data/medical/chris_PD.nii.gz")
    parser.add_argument("--t1", default="../shared/data/medical/chris_t1.nii.gz")
    parser.add_argument("--out", default="runs/multicontrast")
    parser.add_argument("--steps", type=int, default=200, help="training steps per network")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", default=None, help="write the results page here")
    parser.add_argument(
        "--no-register", action="store_true", help="skip the run with the registered T1"
    )
    args = parser.parse_args(argv)

    from medsr.bench.multicontrast import MultiContrastSettings, markdown, run_multicontrast
    from medsr.jsonutil import write_json

    settings = MultiContrastSettings(
        Path(args.pd),
        Path(args.t1),
        Path(args.out),
        profile=args.profile,
        steps=args.steps,
        threads=args.threads,
        seed=args.seed,
        register=not args.no_register,
    )
    result = run_multicontrast(settings, log=lambda m: print(m, file=sys.stderr))
    write_json(Path(args.out) / "results.json", result)
    if args.markdown:
        command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/multicontrast.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        Path(args.markdown).write_text(markdown(result, command), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
