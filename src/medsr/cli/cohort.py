"""``medsr upscale`` on a cohort (folder, glob, several scans, manifest CSV): print and report.

The work is :func:`medsr.infer.executors.run_cohort`; this module prints one line per scan (with
``[done/total, ETA]``, so that logs of long runs show the progress too), a transient bar across
all workers (:class:`medsr.cli.progress.RichProgress`), the summary line and the report path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from medsr.cli.app import console, err_console
from medsr.cli.progress import RichProgress, progress_bar
from medsr.infer.job import Job

__all__ = ["run_batch"]

REPORT_NAME = "cohort.csv"


def run_batch(
    inputs: Sequence[str],
    output: Path,
    job: Job,
    settings: Any,
    *,
    summary: Any,
    notes: Any,
    default: str = "",
) -> int:
    """Run the cohort named by ``inputs`` into the folder ``output``; the number of failed scans.

    ``summary(sidecar) -> str`` and ``notes(sidecar)`` print a finished scan as ``medsr upscale``
    prints one scan.
    """
    from medsr.infer.cohort import cohort_items
    from medsr.infer.executors import run_cohort

    settings.validate()
    items = cohort_items(inputs, output, job)
    with progress_bar() as bar:
        sink = RichProgress(bar, prefix=f"{default} (default method): " if default else "")

        def on_scan(record: Any, tracker: Any) -> None:
            where = tracker.position()
            if record.status == "done":
                redone = f" ({record.message})" if record.message else ""
                console.print(
                    f"[green]done[/] {where} {record.scan} -> {record.output}{redone}: "
                    f"{summary(record.sidecar)}",
                    highlight=False,
                    soft_wrap=True,
                )
                notes(record.sidecar)
            elif record.status in ("skipped", "busy"):
                console.print(
                    f"[yellow]{record.status}[/] {where} {record.scan}: {record.message}",
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                err_console.print(
                    f"[bold red]failed[/] {record.scan}: {escape(record.message)}",
                    highlight=False,
                    soft_wrap=True,
                )

        result = run_cohort(items, output / REPORT_NAME, settings, progress=sink, on_scan=on_scan)
    console.print(escape(result.summary()), highlight=False, soft_wrap=True)
    # pictures get another default (their notes say which): name this one only if it ran
    if default and any((r.sidecar or {}).get("method") == default for r in result.records):
        err_console.print(f"method: {default} (default)", highlight=False)
    if result.failed:
        err_console.print(f"{result.failed} of {len(result.records)} scans failed", highlight=False)
    return result.failed
