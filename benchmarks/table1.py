"""Print the review's Table 1 rows that medsr reproduces (Set5 / Set14, x2 / x3 / x4).

    python benchmarks/table1.py                      # bicubic rows, both LR protocols
    python benchmarks/table1.py --weights run/model.safetensors --name "ESPCN (ours)" --scales 2

The bicubic baseline is printed next to the published numbers (VDSR, CVPR 2016, Table 3, copied
by Li, Sixou & Peyrin, IRBM 2021, Table 1). ``--weights`` adds a row for a network trained with
``medsr train`` (2D, saved as ``model.safetensors`` + ``model.json``), evaluated with the same
protocol: weights are per scale, so give the matching ``--scales``. ``--mode`` selects the LR
protocol (see :mod:`medsr.metrics.protocol`): "y" for one-channel networks (SRCNN/VDSR style),
"rgb" for RGB networks (EDSR style).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from medsr.bench.table1 import (
    PUBLISHED_BICUBIC,
    Table1Result,
    bicubic_baseline,
    evaluate_method,
    network_upscale,
)
from medsr.errors import MedsrError

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "natural"


def _fmt(r: Table1Result) -> str:
    return f"{r.psnr:.2f} / {r.ssim:.4f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding CSet5/ and CSet14/"
    )
    ap.add_argument("--scales", default="2,3,4", help="comma-separated scales (default 2,3,4)")
    ap.add_argument("--datasets", default="Set5,Set14")
    ap.add_argument(
        "--weights",
        action="append",
        default=[],
        help="model.safetensors of a trained 2D network (repeatable)",
    )
    ap.add_argument("--name", action="append", default=[], help="row name for each --weights")
    ap.add_argument(
        "--mode", choices=["y", "rgb"], default=None, help="LR protocol for --weights rows"
    )
    ap.add_argument(
        "--json", type=Path, default=None, help="also write every per-image score to this JSON file"
    )
    args = ap.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    datasets = [d.strip() for d in args.datasets.split(",")]

    rows: list[tuple[str, dict[tuple[str, int], str]]] = [
        (
            "Bicubic, published",
            {k: f"{v[0]:.2f} / {v[1]:.4f}" for k, v in PUBLISHED_BICUBIC.items()},
        )
    ]
    results: list[dict] = []
    t0 = time.perf_counter()
    try:
        for mode in ("y", "rgb"):
            cells = {}
            for d in datasets:
                for s in scales:
                    r = bicubic_baseline(args.data / f"C{d}", s, mode=mode)  # type: ignore[arg-type]
                    cells[(d, s)] = _fmt(r)
                    results.append({"method": "bicubic", **r.as_dict()})
            rows.append((f"Bicubic, medsr ({mode} protocol)", cells))
        for i, w in enumerate(args.weights):
            name = args.name[i] if i < len(args.name) else Path(w).stem
            cells = {}
            for d in datasets:
                for s in scales:
                    from medsr.models.io import read_meta

                    mode = args.mode or ("y" if int(read_meta(w)["in_channels"]) == 1 else "rgb")
                    r = evaluate_method(
                        args.data / f"C{d}", s, network_upscale(w, s, mode=mode), mode=mode
                    )
                    cells[(d, s)] = _fmt(r)
                    results.append({"method": name, "weights": str(w), **r.as_dict()})
            rows.append((name, cells))
    except MedsrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    cols = [(d, s) for d in datasets for s in scales]
    print("| Method | " + " | ".join(f"{d} x{s} PSNR / SSIM" for d, s in cols) + " |")
    print("| --- | " + " | ".join("---" for _ in cols) + " |")
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells.get(c, "") for c in cols) + " |")
    print(
        f"\n({time.perf_counter() - t0:.1f} s; PSNR in dB on Y, border = scale, SSIM Wang et al. "
        "2004)"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
