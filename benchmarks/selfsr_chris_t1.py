"""Self-supervised SR (``--method self``) on simulated thick slices of a real isotropic T1 scan.

Protocol (review eq. 3 along one axis; SMORE, Zhao et al. IEEE TMI 2021, section IV):

1. truth: ``../shared/data/medical/chris_t1.nii.gz`` (0.88 mm isotropic, 188 x 256 x 190);
2. the slice axis (default z) is cropped centrally to the largest length the factor tiles
   (190 -> 188 for x4 and x2), so the LR and the truth cover the same field of view;
3. acquisition: :class:`medsr.degrade.ThickSlice` with a Gaussian profile of FWHM = factor voxels
   (contiguous slices), its LR grid from :func:`medsr.volume.zoom_grid` (an LR file with its own
   affine, as a scanner would write it);
4. every method maps the LR volume back to ``zoom_grid(lr, factors)`` through the engine of
   ``medsr upscale`` (:func:`medsr.bench.selfsr.compare`, i.e. :func:`medsr.infer.upscale` with
   ``method="self"`` and the interpolations), checked to coincide with the truth grid in world
   coordinates, and PSNR/SSIM (data range 255) are measured inside the head
   (:func:`medsr.bench.selfsr.head_mask`).

Run (from the repository root)::

    .venv/bin/python benchmarks/selfsr_chris_t1.py                 # x4 and x2, default budget
    .venv/bin/python benchmarks/selfsr_chris_t1.py --factors 4 --budget 60s
    .venv/bin/python benchmarks/selfsr_chris_t1.py --sweep --factors 4   # the network choice

``--sweep`` retrains candidate networks with about the same CPU time (iteration counts scaled by
their cost per step; the network is the ``self`` option ``model_kwargs``) and scores them on the
whole volume; a longer sweep on a central block chose
the default network (registry model ``selfsr``; numbers in docs/benchmarks/selfsr_network.md).
The machine's load average is printed with the timings: on a shared machine the wall-clock times
are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "medical" / "chris_t1.nii.gz"

#: candidates of the network sweep: (label, ``self`` option model_kwargs, iterations for ~equal CPU)
SWEEP = [
    ("full grid w32 b4 (EDSR/VDSR-like)", {"channels": 32, "blocks": 4, "unshuffle": (1, 1)}, 500),
    ("fold 2x2 w32 b4", {"channels": 32, "blocks": 4, "unshuffle": (2, 2)}, 1800),
    ("fold 2x2 w32 b8", {"channels": 32, "blocks": 8, "unshuffle": (2, 2)}, 1000),
    ("fold 4x4 w64 b6 (default)", {"channels": 64, "blocks": 6, "unshuffle": (4, 4)}, 1600),
]


def _load() -> str:
    la = os.getloadavg()
    return f"load average {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f} on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="isotropic truth scan")
    parser.add_argument("--factors", type=float, nargs="+", default=[4.0, 2.0])
    parser.add_argument("--axis", type=int, default=2, help="slice axis of the simulation")
    parser.add_argument("--profile", default="gaussian", choices=["gaussian", "rect"])
    parser.add_argument(
        "--fwhm", type=float, default=None, help="slice thickness in truth voxels (default: factor)"
    )
    parser.add_argument(
        "--anti-alias", default="false", choices=["auto", "true", "false"], help="SAA stage"
    )
    parser.add_argument("--budget", default=None, help="self-SR budget, e.g. 150s or 2000it")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true", help="compare candidate networks instead")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    import torch

    from medsr.bench.report import metrics_markdown
    from medsr.bench.selfsr import compare, simulate_thick_slices
    from medsr.infer import MethodOptions
    from medsr.io import read

    if not args.data.is_file():
        print(f"truth scan {args.data} not found; pass --data", file=sys.stderr)
        return 2
    truth = read(args.data)
    print(
        f"truth {args.data.name}: {'x'.join(map(str, truth.shape))} at "
        f"{', '.join(f'{s:.3g}' for s in truth.spacing)} mm; torch threads "
        f"{args.threads or torch.get_num_threads()}; {_load()}"
    )
    results: dict[str, object] = {}
    for factor in args.factors:
        case = simulate_thick_slices(truth, args.axis, factor, profile=args.profile, fwhm=args.fwhm)
        print(
            f"\nx{factor:g}: LR {'x'.join(map(str, case.lr.shape))} "
            f"({case.lr.spacing[args.axis]:.3g} mm slices), truth cropped by {case.crop} "
            f"along axis {args.axis}, {int(case.mask.sum())} voxels in the head mask"
        )
        runs = [("self", {}, None)]
        if args.sweep:
            runs = [(label, kw, f"{its}it") for label, kw, its in SWEEP]
        for label, model_kwargs, sweep_budget in runs:
            # options of the ``self`` method (medsr upscale --method self --option key=value)
            extra: dict[str, object] = {"anti_alias": args.anti_alias, "profile": args.profile}
            if args.threads is not None:
                extra["threads"] = args.threads
            # the profile the acquisition used; the thickness as a DICOM header would state it
            if case.fwhm != case.factor:
                extra["slice_thickness"] = case.fwhm * float(truth.spacing[args.axis])
            if model_kwargs:
                extra["model_kwargs"] = model_kwargs
            if sweep_budget or args.budget:
                extra["budget"] = sweep_budget or args.budget
            options = MethodOptions(seed=args.seed, extra=extra)
            before = _load()
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            metrics, _, info = compare(case, options)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            gain_psnr = metrics["self"]["psnr"] - metrics["bspline"]["psnr"]
            gain_ssim = metrics["self"]["ssim"] - metrics["bspline"]["ssim"]
            stage = info["stages"][-1]
            print(
                metrics_markdown(
                    metrics, f"x{factor:g} {label}: chris_t1, PSNR/SSIM inside the head"
                )
            )
            print(
                f"self-SR vs B-spline: {gain_psnr:+.2f} dB PSNR, {gain_ssim:+.4f} SSIM; "
                f"{stage['iterations']} iterations in {stage['seconds']:.0f} s, inference "
                f"{stage['apply_seconds']:.0f} s, self-SR total {info['seconds']['total']:.0f} s "
                f"(all methods {wall:.0f} s wall, {cpu:.0f} s CPU); before: {before}; "
                f"after: {_load()}"
            )
            results[f"x{factor:g} {label}"] = {
                "metrics": metrics,
                "gain_psnr_db": gain_psnr,
                "gain_ssim": gain_ssim,
                "wall_seconds": wall,
                "cpu_seconds": cpu,
                "info": info,
                "load": _load(),
            }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
