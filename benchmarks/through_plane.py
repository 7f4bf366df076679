"""Score a through-plane network (``configs/through_plane.yaml``) on a brain it never saw.

Thick slices are simulated from the built-in MNI brain (never a training volume of the recipe)
and restored by the network and by interpolation; PSNR / SSIM inside the head
(:func:`medsr.bench.through_plane.evaluate_through_plane`). Run from the repository root::

    medsr train configs/through_plane.yaml --profile cpu output_dir=runs/through_plane_cpu
    .venv/bin/python benchmarks/through_plane.py runs/through_plane_cpu/model.safetensors

Prints a Markdown table (docs/through_plane.md holds the recorded run); exit status 1 when the
network does not beat cubic B-spline.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="model.safetensors of a through-plane run")
    parser.add_argument("--factor", type=int, default=None, help="default: the network's")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    from medsr.bench.through_plane import evaluate_through_plane

    res = evaluate_through_plane(args.weights, factor=args.factor, threads=args.threads)
    if args.json:
        print(json.dumps({"factor": res.factor, "rows": res.rows, **res.network_details}))
    else:
        print(f"MNI brain {res.truth_shape}, thick slices x{res.factor} along z {res.lr_shape}")
        print("| method | PSNR (dB) | SSIM | seconds |\n| --- | ---: | ---: | ---: |")
        for name, row in res.rows.items():
            print(f"| {name} | {row['psnr']:.2f} | {row['ssim']:.4f} | {row['seconds']:.1f} |")
        print(f"network - B-spline: {res.gain_over('bspline'):+.2f} dB")
    return 0 if res.gain_over("bspline") > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
