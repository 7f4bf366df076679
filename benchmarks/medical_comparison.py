"""The review's kind of comparison (Table 1: methods x scale) on real CT/MRI: a thin wrapper of
``medsr benchmark medical``.

1. simulated thick slices (Gaussian profile, FWHM = spacing) of the isotropic T1
   ``../shared/data/medical/chris_t1.nii.gz`` at x2 and x4, back onto the truth grid by nearest,
   linear, cubic, B-spline, Lanczos, self-SR (``self``, default budget) and a VDSR trained on the
   built-in MNI brain (never on chris_t1); PSNR/SSIM/NRMSE inside the head, data consistency, time;
2. the real thick-slice scans ``chris_PD.nii.gz`` and ``CT_pitch.nii.gz`` up-scaled to isotropic
   voxels by B-spline and self-SR: data consistency, time, intensity units, and a figure.

Run from the repository root::

    .venv/bin/python benchmarks/medical_comparison.py --out runs/medical_bench
    .venv/bin/python benchmarks/medical_comparison.py --quick --out /tmp/medical_quick

Every option is the command's (``medsr benchmark medical --help``; ``--factors 2,4`` and
``--methods a,b`` are comma lists); without ``--out`` the report goes to ``runs/medical_bench``
(replaced). Library code: :mod:`medsr.bench.medical` (the runs), :mod:`medsr.bench.medical_report`
(the common report). ``--out`` receives ``results.json``, ``results.csv``, ``report.md`` and
``report.html``; ``--out/medical_work/`` keeps the runs (the supervised networks, the benchmark's
own ``results.json`` / ``results.md``, ``real_scans.png``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from medsr.cli import main as medsr_main

    args = list(sys.argv[1:] if argv is None else argv)
    has_out = any(a == "--out" or a.startswith("--out=") for a in args)
    if not has_out and not {"-h", "--help"} & set(args):
        args += ["--out", str(ROOT / "runs" / "medical_bench"), "--overwrite"]
    try:
        medsr_main(["benchmark", "medical", *args])
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
