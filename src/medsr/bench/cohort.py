"""Cohort throughput: scans per hour of ``medsr upscale`` on a cohort for 1, 2, 4 local workers.

The cohort is made of real data: crops of a scan (``chris_t1`` in ../shared/data) reduced to
thick slices with :class:`medsr.degrade.ThickSlice`, as the thick-slice acquisitions that
self-supervised SR (review section 4.2.2) up-scales. Each worker count runs the same cohort from
scratch through :func:`medsr.infer.executors.run_cohort` (the ``--executor local`` path of the
command: a process pool, ``cores // workers`` torch threads per worker), so the numbers include
what a user pays: worker start-up, reading, the method, the consistency check and writing.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medsr.infer.cohort import cohort_items
from medsr.infer.executors import ExecutorSettings, available_cores, run_cohort
from medsr.infer.job import Job

__all__ = ["ThroughputRow", "make_cohort", "markdown_table", "measure_throughput"]


@dataclass
class ThroughputRow:
    """One worker count: wall seconds for the whole cohort and scans per hour."""

    workers: int
    threads: int
    scans: int
    failed: int
    seconds: float

    @property
    def scans_per_hour(self) -> float:
        return (self.scans - self.failed) / self.seconds * 3600 if self.seconds > 0 else 0.0


def make_cohort(
    source: Path, folder: Path, count: int, size: int = 32, factor: int = 4
) -> list[Path]:
    """Write ``count`` thick-slice scans (``size``^3 crops of ``source``, slices ``factor``
    times thicker along z) into ``folder``; their paths."""
    from medsr.degrade import ThickSlice
    from medsr.io import read, write
    from medsr.volume import crop_affine

    volume = read(source)
    folder.mkdir(parents=True, exist_ok=True)
    centre = [n // 2 - size // 2 for n in volume.shape]
    paths = []
    for i in range(count):
        start = [c + (i * 7) % 24 - 12 for c in centre]
        index = (slice(None),) + tuple(slice(s, s + size) for s in start)
        crop = volume.with_data(volume.data[index].copy(), crop_affine(volume.affine, start))
        path = folder / f"scan{i:03d}.nii.gz"
        write(ThickSlice(2, factor)(crop), path, overwrite=True)
        paths.append(path)
    return paths


def measure_throughput(
    inputs: Path, out_root: Path, job: Job, workers: Sequence[int] = (1, 2, 4)
) -> list[ThroughputRow]:
    """Run the cohort in ``inputs`` once per worker count (outputs in ``out_root/workersN``)."""
    rows = []
    for count in workers:
        out = out_root / f"workers{count}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        items = cohort_items([inputs], out, job)
        result = run_cohort(items, out / "cohort.csv", ExecutorSettings(workers=count))
        threads = max(1, available_cores() // min(count, len(items)))
        rows.append(ThroughputRow(count, threads, len(items), result.failed, result.seconds))
    return rows


def markdown_table(rows: Sequence[ThroughputRow]) -> str:
    """The rows as a markdown table (workers, threads each, seconds, scans/hour, speed-up)."""
    base = rows[0].scans_per_hour if rows else 0.0
    lines = [
        "| local workers | torch threads each | cohort wall time | scans / hour | vs 1 worker |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        gain = f"{r.scans_per_hour / base:.2f}x" if base else "-"
        failed = f" ({r.failed} failed)" if r.failed else ""
        lines.append(
            f"| {r.workers} | {r.threads} | {r.seconds:.1f} s{failed} | "
            f"{r.scans_per_hour:.0f} | {gain} |"
        )
    return "\n".join(lines)
