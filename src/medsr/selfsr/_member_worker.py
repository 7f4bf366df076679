"""Worker process of :mod:`medsr.selfsr.members` (``python -m medsr.selfsr._member_worker TASK
SEEDS OUT``): a module of its own, outside the package's imports, so that running it imports only
what the worker needs."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from medsr.selfsr.members import run_worker

    task, seeds, out = argv
    run_worker(Path(task), seeds, Path(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
