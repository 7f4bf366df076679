"""The review's Table 1 on Set5 / Set14: a thin wrapper of ``medsr benchmark table1``.

    python benchmarks/table1.py                                    # -> runs/table1/report.html
    python benchmarks/table1.py --quick --scales 2 --out /tmp/t1
    python benchmarks/table1.py --weights run/model.safetensors --name "ESPCN (ours)" --scales 2

Every option is the command's (``medsr benchmark table1 --help``); without ``--out`` the report
goes to ``runs/table1`` (replaced). The library code is :mod:`medsr.bench.table1_benchmark`
(protocol: :mod:`medsr.bench.table1`, published numbers: :mod:`medsr.bench.published`, report:
:mod:`medsr.bench.results`).
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
        args += ["--out", str(ROOT / "runs" / "table1"), "--overwrite"]
    try:
        medsr_main(["benchmark", "table1", *args])
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
