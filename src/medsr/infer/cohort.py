"""A cohort: many scans up-scaled with one :class:`~medsr.infer.job.Job`, resumably, with a report.

A cohort is a folder, a glob or a list of scans (:func:`medsr.io.discover.find_scans`; outputs
keep the file names, :func:`medsr.infer.files.output_path_for`), or a manifest CSV
(:func:`load_manifest`: ``input``, ``output`` and optional per-scan options such as ``spacing``).
Each scan is one call of :func:`medsr.infer.files.upscale_file` (the one engine, review section
5's "inference on the acquired grid" applied to a whole study) inside :func:`run_item`, whatever
runs it: this process, a local process pool, Dask workers or SLURM array tasks
(:mod:`medsr.infer.executors` sends chunks of items to :func:`run_chunk`).

Resumable and idempotent: a scan whose output and sidecar are both there (they are committed as
one, :func:`medsr.io.atomic.atomic_group`) is *complete* and skipped; an output without its
sidecar (or the reverse) is *partial* and redone; a claim file per scan
(:mod:`medsr.infer.claims`) keeps overlapping runs from doing a scan twice. A failing scan is
recorded with a one-line reason and the others go on. Every scan gets one row of ``cohort.csv``
(:data:`REPORT_COLUMNS`, :func:`write_report`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsr.errors import MedsrError
from medsr.infer.claims import HEARTBEAT_S, STALE_AFTER_S, acquire, claim_path, drop_stale
from medsr.infer.files import load_predictor, output_path_for, sidecar_path
from medsr.infer.job import Job
from medsr.infer.preview import figure_path
from medsr.memory import peak_since_reset_mib, reset_peak
from medsr.progress import ProgressSink, Quiet

__all__ = [
    "MANIFEST_OPTIONS",
    "REPORT_COLUMNS",
    "CohortItem",
    "CohortProgress",
    "ScanRecord",
    "WorkerSettings",
    "cohort_items",
    "is_manifest",
    "load_manifest",
    "record_of_complete",
    "run_chunk",
    "run_item",
    "scan_state",
    "write_report",
]

#: Per-scan options a manifest may give (columns beside ``input`` and ``output``).
MANIFEST_OPTIONS = (
    "spacing",
    "factors",
    "method",
    "series",
    "spacing_override",
    "dtype",
    "seed",
    "budget",
)
#: The columns of ``cohort.csv``, one row per scan.
REPORT_COLUMNS = (
    "scan",
    "output",
    "status",
    "seconds",
    "peak_memory_mib",
    "consistency_db",
    "output_grid",
    "worker",
    "message",
)


@dataclass(frozen=True)
class CohortItem:
    """One scan of a cohort: where it is read, where it goes, and the job (with its options)."""

    input: Path
    output: Path
    job: Job
    problem: str = ""  # known before any work (two inputs writing one output): recorded as failed


@dataclass
class ScanRecord:
    """One row of the cohort report. ``status``: done, skipped (complete), failed or busy (being
    up-scaled by another run right now)."""

    scan: str
    output: str
    status: str
    seconds: float | None = None
    peak_memory_mib: float | None = None
    consistency_db: float | None = None
    output_grid: str = ""
    worker: str = ""
    message: str = ""
    sidecar: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    def row(self) -> dict[str, str]:
        """The CSV row (numbers rounded to 2 decimals, or to 3 significant digits below 0.01 so
        that a scan of a few milliseconds does not read 0.00; missing values empty)."""
        values = dataclasses.asdict(self)
        out = {}
        for key in REPORT_COLUMNS:
            value = values[key]
            if isinstance(value, float):
                if not math.isfinite(value):
                    value = str(value)
                else:
                    value = f"{value:.3g}" if 0 < abs(value) < 0.01 else f"{value:.2f}"
            out[key] = "" if value is None else str(value)
        return out


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs its items: torch threads (None: the cores it may use divided by the tasks
    it runs at once), and the claim timing (:mod:`medsr.infer.claims`)."""

    threads: int | None = None
    stale_after: float = STALE_AFTER_S
    heartbeat: float = HEARTBEAT_S


# ---------------------------------------------------------------------- what the cohort is
def is_manifest(spec: str | os.PathLike[str]) -> bool:
    """Whether an input names a manifest: an existing ``.csv`` file."""
    return str(spec).lower().endswith(".csv") and Path(spec).is_file()


def _with_options(job: Job, options: dict[str, str], where: str) -> Job:
    """A copy of ``job`` with a manifest row's options (a spacing replaces factors, and back)."""
    job = dataclasses.replace(
        job,
        config=dataclasses.replace(
            job.config, method_options=dataclasses.replace(job.config.method_options)
        ),
    )
    for key, text in options.items():
        if key in ("spacing", "factors"):
            job.spacing, job.factors = (text, None) if key == "spacing" else (None, text)
        elif key == "seed":
            try:
                job.config.method_options.seed = int(text)
            except ValueError:
                raise MedsrError(f"{where}: seed must be a whole number, got {text!r}") from None
        elif key == "budget":
            try:
                job.config.method_options.budget = float(text)
            except ValueError:
                raise MedsrError(f"{where}: budget must be seconds, got {text!r}") from None
        else:
            setattr(job, key, text)
    try:
        return job.validate()
    except MedsrError as exc:
        raise MedsrError(f"{where}: {exc}") from None


def load_manifest(path: str | os.PathLike[str], out_dir: Path, job: Job) -> list[CohortItem]:
    """Read a manifest CSV: a header row, then one scan per row.

    Columns: ``input`` (required; relative paths are relative to the manifest's folder),
    ``output`` (optional; relative to ``out_dir``; empty: ``out_dir`` / the input's name) and any
    of :data:`MANIFEST_OPTIONS` (empty cells keep the command's value). Every row is checked
    before any scan is read; a bad row is a MedsrError naming its line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MedsrError(
            f"cannot read the manifest {path} ({exc}); give a UTF-8 CSV file"
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "input" not in columns:
        raise MedsrError(
            f"manifest {path} has no 'input' column; its first row must name the columns "
            f"(input, output, {', '.join(MANIFEST_OPTIONS)})"
        )
    unknown = [c for c in columns if c not in ("input", "output", *MANIFEST_OPTIONS)]
    if unknown:
        raise MedsrError(
            f"manifest {path}: unknown column(s) {', '.join(unknown)}; "
            f"use input, output, {', '.join(MANIFEST_OPTIONS)}"
        )
    items = []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        where = f"manifest {path.name} line {line}"
        if not row.get("input"):
            if not any(row.values()):
                continue  # blank line
            raise MedsrError(f"{where}: the input is empty; give a scan path")
        source = Path(row["input"]).expanduser()
        source = source if source.is_absolute() else path.parent / source
        if not source.exists():
            raise MedsrError(f"{where}: input {source} does not exist; check the path")
        options = {k: row[k] for k in MANIFEST_OPTIONS if row.get(k)}
        row_job = _with_options(job, options, where)
        target = row.get("output") or ""
        output = (
            (Path(target).expanduser() if Path(target).is_absolute() else out_dir / target)
            if target
            else output_path_for(source, out_dir, row_job.format)
        )
        items.append(CohortItem(source, output, row_job))
    if not items:
        raise MedsrError(f"manifest {path} lists no scan; add one row per scan under the header")
    return _mark_duplicates(items)


def _mark_duplicates(items: list[CohortItem]) -> list[CohortItem]:
    seen: set[Path] = set()
    out = []
    for item in items:
        key = item.output.absolute()
        if key in seen:
            item = dataclasses.replace(
                item, problem=f"another input also writes {item.output.name}; rename one"
            )
        seen.add(key)
        out.append(item)
    return out


def cohort_items(
    specs: Sequence[str | os.PathLike[str]], out_dir: Path, job: Job
) -> list[CohortItem]:
    """The cohort named by ``specs``: one manifest, or scans (files, folders, globs).

    Raises:
        MedsrError: ``out_dir`` is not a folder, a bad manifest, no scan found.
    """
    from medsr.io.discover import find_scans

    if not out_dir.is_dir():
        raise MedsrError(
            f"a cohort writes into an existing folder; {out_dir} is not one: "
            "create the folder first"
        )
    manifests = [s for s in specs if is_manifest(s)]
    if manifests:
        if len(specs) > 1:
            raise MedsrError("give one manifest CSV alone, without other inputs")
        return load_manifest(manifests[0], out_dir, job)
    return _mark_duplicates(
        [
            CohortItem(p, output_path_for(p, out_dir, job.format), job)
            for p in find_scans(list(specs))
        ]
    )


# ---------------------------------------------------------------------- one scan
def scan_state(output: Path) -> str:
    """``complete`` (output and a readable sidecar), ``partial`` (one without the other, or a
    damaged sidecar) or ``absent``."""
    side = sidecar_path(output)
    has_out, has_side = output.exists(), side.is_file()
    if not has_out and not has_side:
        return "absent"
    if has_out and has_side:
        try:
            if isinstance(json.loads(side.read_text()), dict):
                return "complete"
        except (OSError, ValueError):
            pass
    return "partial"


def _consistency_db(sidecar: dict[str, Any]) -> float | None:
    c = sidecar.get("consistency") or {}
    value = c.get("psnr_db_stored", c.get("psnr_db"))
    return float(value) if isinstance(value, (int, float)) else None


def _grid(sidecar: dict[str, Any]) -> str:
    geometry = (sidecar.get("geometry") or {}).get("output") or {}
    shape = "x".join(str(n) for n in geometry.get("shape", []))
    spacing = ",".join(f"{v:.4g}" for v in geometry.get("spacing", []))
    return f"{shape} @ {spacing} mm" if shape else ""


def record_of_complete(item: CohortItem, stale_after: float = STALE_AFTER_S) -> ScanRecord:
    """The report row of a scan that an earlier run completed (figures from its sidecar); the
    claim and the temporaries of a run that died right after committing it are removed."""
    from medsr.io.atomic import clean_stale

    drop_stale(item.output, stale_after)
    if not claim_path(item.output).exists():  # nobody is rewriting it (--overwrite elsewhere)
        for path in (item.output, figure_path(item.output), sidecar_path(item.output)):
            clean_stale(path)
    try:
        sidecar = json.loads(sidecar_path(item.output).read_text())
    except (OSError, ValueError):
        sidecar = {}
    seconds = (sidecar.get("timings_s") or {}).get("total")
    memory = (sidecar.get("memory") or {}).get("peak_rss_mib")
    return ScanRecord(
        str(item.input),
        str(item.output),
        "skipped",
        seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        peak_memory_mib=float(memory) if isinstance(memory, (int, float)) else None,
        consistency_db=_consistency_db(sidecar),
        output_grid=_grid(sidecar),
        message="complete (output and sidecar); overwrite to redo",
        sidecar=sidecar or None,
    )


def _failed(
    item: CohortItem, worker: str, message: str, seconds: float | None = None
) -> ScanRecord:
    one_line = " ".join(message.split()) or "failed without a message"
    return ScanRecord(
        str(item.input),
        str(item.output),
        "failed",
        seconds=seconds,
        worker=worker,
        message=one_line,
    )


def run_item(
    item: CohortItem,
    settings: WorkerSettings = WorkerSettings(),
    *,
    predictor: Any = None,
) -> ScanRecord:
    """Up-scale one scan of a cohort unless it is complete or claimed; never raises for the scan.

    Complete (and no ``overwrite``): skipped. Claimed by another live process: busy. Otherwise the
    claim is taken, a partial output is redone, and :func:`medsr.infer.files.upscale_file` runs;
    any error becomes a failed record with its one-line reason (KeyboardInterrupt passes).
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if item.problem:
        return _failed(item, worker, item.problem)
    if not item.job.overwrite and scan_state(item.output) == "complete":
        return record_of_complete(item, settings.stale_after)
    try:
        item.output.parent.mkdir(parents=True, exist_ok=True)
        claim = acquire(item.output, stale_after=settings.stale_after, heartbeat=settings.heartbeat)
    except OSError as exc:
        return _failed(item, worker, f"cannot claim {item.output} ({exc.strerror or exc})")
    if claim is None:
        return ScanRecord(
            str(item.input),
            str(item.output),
            "busy",
            message="being up-scaled by another run; rerun later to collect it",
        )
    with claim:
        state = scan_state(item.output)  # again, now that it is ours
        if state == "complete" and not item.job.overwrite:
            return record_of_complete(item, settings.stale_after)
        job = dataclasses.replace(item.job, overwrite=True) if state == "partial" else item.job
        reset = reset_peak()
        t0 = time.perf_counter()
        try:
            from medsr.infer.files import upscale_file

            sidecar = upscale_file(item.input, item.output, job, predictor=predictor)
        except KeyboardInterrupt:
            raise
        except MedsrError as exc:
            return _failed(item, worker, str(exc), time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - one broken scan must not stop the cohort
            return _failed(item, worker, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
        return ScanRecord(
            str(item.input),
            str(item.output),
            "done",
            seconds=time.perf_counter() - t0,
            peak_memory_mib=peak_since_reset_mib(reset),
            consistency_db=_consistency_db(sidecar),
            output_grid=_grid(sidecar),
            worker=worker,
            message="redone (partial output)" if state == "partial" else "",
            sidecar=sidecar,
        )


def _default_threads() -> int:
    """Cores this process may use, divided by the tasks its Dask worker runs at once (if any)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        cores = os.cpu_count() or 1
    slots = 1
    try:
        from distributed import get_worker

        slots = max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        pass
    return max(1, cores // slots)


def run_chunk(
    items: Sequence[CohortItem], settings: WorkerSettings = WorkerSettings()
) -> list[ScanRecord]:
    """The task of every executor: :func:`run_item` on each item, with this worker's thread
    budget (:func:`medsr.runtime.torch_threads`) and the network loaded once for the chunk."""
    from medsr.runtime import torch_threads

    records: list[ScanRecord] = []
    predictor = None
    with torch_threads(settings.threads or _default_threads()):
        for item in items:
            if predictor is None and (item.job.weights or item.job.onnx) and not item.problem:
                try:
                    predictor = load_predictor(item.job)
                except MedsrError as exc:
                    records.append(_failed(item, f"{socket.gethostname()}:{os.getpid()}", str(exc)))
                    continue
            records.append(run_item(item, settings, predictor=predictor))
    return records


# ---------------------------------------------------------------------- report and progress
def write_report(records: Sequence[ScanRecord], path: Path) -> Path:
    """Write ``cohort.csv`` (:data:`REPORT_COLUMNS`, one row per scan) atomically."""
    from medsr.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(REPORT_COLUMNS))
        writer.writeheader()
        for record in records:
            writer.writerow(record.row())
    return path


def duration_text(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class CohortProgress:
    """Scans done / total and the estimated time left, across all workers, onto a
    :class:`~medsr.progress.ProgressSink` (the CLI's bar) and for log lines (:meth:`position`).

    The ETA is the time per scan processed (done or failed) in this run, measured from the first
    one on (the workers' start-up is not a scan's cost), times the scans left; skipped scans cost
    nothing and do not count.
    """

    def __init__(
        self,
        total: int,
        sink: ProgressSink | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.sink = sink or Quiet()
        self.clock = clock
        self.start = clock()
        self.finished = 0
        self.processed = 0
        self.failed = 0
        self.first: float | None = None  # when the first scan of this run was processed
        self.sink.stage("cohort", float(total))

    def eta(self) -> float | None:
        """Seconds left (None before the first processed scan)."""
        if self.processed == 0:
            return None
        if self.processed == 1 or self.first is None:
            rate = (self.clock() - self.start) / self.processed
        else:
            rate = (self.clock() - self.first) / (self.processed - 1)
        return rate * (self.total - self.finished)

    def position(self) -> str:
        """``[3/10, ETA 2 min 10 s]``."""
        eta = self.eta()
        left = (
            f", ETA {duration_text(eta)}" if eta is not None and self.finished < self.total else ""
        )
        return f"[{self.finished}/{self.total}{left}]"

    def update(self, record: ScanRecord) -> None:
        self.finished += 1
        if record.status in ("done", "failed"):
            self.processed += 1
            if self.first is None:
                self.first = self.clock()
        self.failed += record.status == "failed"
        self.sink.advance(1)
        failed = f", {self.failed} failed" if self.failed else ""
        self.sink.note(f"cohort {self.position()}{failed}")
