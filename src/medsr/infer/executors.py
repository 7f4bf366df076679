"""Where a cohort runs: this machine's cores, a Dask cluster, or a SLURM array job.

Every executor sends chunks of :class:`~medsr.infer.cohort.CohortItem` to the same function,
:func:`medsr.infer.cohort.run_chunk`, and collects its :class:`~medsr.infer.cohort.ScanRecord`
rows as they come back; the bookkeeping (skip complete scans, claims, the report, progress) is
the same for all three. medsr has no scheduler of its own:

- ``local``: :class:`concurrent.futures.ProcessPoolExecutor` (``spawn``), sized to the cores
  this process may use; each worker gets ``cores // workers`` torch threads, so that the workers
  do not oversubscribe the machine. One worker runs in this process.
- ``dask``: ``dask.distributed`` on an existing scheduler (``scheduler="tcp://host:8786"``), or
  a ``LocalCluster`` of ``workers`` processes when no address is given. Dask re-runs the task of
  a worker that dies on another worker.
- ``slurm``: ``submitit``: one array job, chunks of scans per array task; the submitting process
  waits and collects the results (if it is stopped, the tasks go on, and a rerun collects them).
  ``slurm={"cluster": "local"}`` runs the same array as local processes (a dry run off-cluster).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsr.errors import MedsrError, OptionError
from medsr.infer.claims import HEARTBEAT_S, STALE_AFTER_S
from medsr.infer.cohort import (
    CohortItem,
    CohortProgress,
    ScanRecord,
    WorkerSettings,
    duration_text,
    record_of_complete,
    run_chunk,
    scan_state,
    write_report,
)
from medsr.progress import ProgressSink

__all__ = ["EXECUTORS", "CohortResult", "ExecutorSettings", "available_cores", "run_cohort"]

EXECUTORS = ("local", "dask", "slurm")
#: A SLURM array gets at most this many tasks unless ``chunk_size`` says otherwise.
MAX_ARRAY_TASKS = 256


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; a SLURM allocation's cgroup)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


@dataclass
class ExecutorSettings:
    """How the cohort is run (the ``--executor`` options of ``medsr upscale``).

    ``workers``: local processes, Dask ``LocalCluster`` workers, or SLURM array tasks running at
    once (default: the cores, capped by the scans; Dask on a scheduler: its workers). ``threads``:
    torch threads per worker (default: cores // workers). ``chunk_size``: scans per task (default 1;
    SLURM: enough for at most :data:`MAX_ARRAY_TASKS` tasks). ``slurm``: submitit parameters
    (``partition``, ``timeout_min``, ``mem_gb``, ``cpus_per_task``, ``gpus_per_node``, any
    ``slurm_*``; ``cluster`` = slurm | local | debug; ``folder`` for logs).
    """

    kind: str = "local"
    workers: int | None = None
    threads: int | None = None
    scheduler: str | None = None
    chunk_size: int | None = None
    slurm: dict[str, str] = field(default_factory=dict)
    stale_after: float = STALE_AFTER_S
    heartbeat: float = HEARTBEAT_S

    def validate(self) -> ExecutorSettings:
        """Check the options before any work. Raises OptionError naming the option."""
        if self.kind not in EXECUTORS:
            raise OptionError(f"{{executor}} must be local, dask or slurm, got {self.kind!r}")
        for name in ("workers", "threads", "chunk_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise OptionError(f"{{{name}}} must be a whole number >= 1, got {value}")
        if self.scheduler and self.kind != "dask":
            raise OptionError("{scheduler} is the address of a Dask scheduler; add {executor} dask")
        if self.slurm and self.kind != "slurm":
            raise OptionError("{slurm_option} applies to {executor} slurm")
        if not (self.heartbeat > 0 and self.stale_after > self.heartbeat):
            raise OptionError("{stale_after} must be longer than the claim heartbeat")
        return self

    def worker_settings(self, threads: int | None) -> WorkerSettings:
        return WorkerSettings(threads, self.stale_after, self.heartbeat)


@dataclass
class CohortResult:
    """The records of every scan, in cohort order, and how the run went."""

    records: list[ScanRecord]
    seconds: float
    executor: str
    report: Path | None = None

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def failed(self) -> int:
        return self.count("failed")

    def summary(self) -> str:
        """``cohort: 10 scans: 7 done, 2 skipped, 1 failed in 1 min 30 s (280 scans/hour ...)``."""
        parts = [
            f"{self.count(s)} {s}"
            for s in ("done", "skipped", "failed", "busy")
            if self.count(s) or s in ("done", "failed")
        ]
        done = self.count("done")
        rate = f", {done / self.seconds * 3600:.0f} scans/hour" if done and self.seconds > 0 else ""
        report = f"; report {self.report}" if self.report else ""
        return (
            f"cohort: {len(self.records)} scans: {', '.join(parts)} in "
            f"{duration_text(self.seconds)} ({self.executor}{rate}){report}"
        )


def _chunks(items: Sequence[CohortItem], size: int) -> list[list[CohortItem]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _chunk_failed(chunk: Sequence[CohortItem], reason: str) -> list[ScanRecord]:
    """Records for the scans of a task that did not come back (a dead worker, a cancelled job)."""
    line = " ".join(reason.split())
    return [ScanRecord(str(i.input), str(i.output), "failed", message=line) for i in chunk]


def _run_local(
    chunks: list[list[CohortItem]], workers: int, threads: int, settings: ExecutorSettings
) -> Iterator[list[ScanRecord]]:
    wsettings = settings.worker_settings(threads)
    if workers == 1:
        for chunk in chunks:
            yield run_chunk(chunk, wsettings)
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(run_chunk, chunk, wsettings): chunk for chunk in chunks}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    yield future.result()
                except BrokenProcessPool:
                    yield _chunk_failed(
                        futures[future],
                        "a worker process died (out of memory? "
                        "killed?); rerun the cohort to resume",
                    )
                except Exception as exc:  # noqa: BLE001 - pickling and similar: the task never ran
                    yield _chunk_failed(futures[future], f"{type(exc).__name__}: {exc}")
    except BaseException:  # interrupted (or closed early): stop the workers now
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor, grace: float = 10.0) -> None:
    """Interrupt the pool's workers (SIGINT: their scans unwind, claims and temporaries are
    removed), then terminate those still running after ``grace`` seconds (the next run takes
    over what they leave)."""
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        try:
            os.kill(process.pid, signal.SIGINT)
        except (OSError, TypeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.terminate()


def _run_dask(
    chunks: list[list[CohortItem]],
    workers: int | None,
    threads: int | None,
    settings: ExecutorSettings,
) -> Iterator[list[ScanRecord]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise OptionError(
            "{executor} dask needs dask.distributed; pip install 'medsr[cohort]'"
        ) from None
    cluster = None
    if settings.scheduler:
        try:
            client = Client(settings.scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise MedsrError(
                f"cannot reach the Dask scheduler {settings.scheduler} ({exc}); "
                "check the address and that the scheduler runs"
            ) from None
    else:
        import logging

        cluster = LocalCluster(
            n_workers=workers or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        wsettings = settings.worker_settings(threads)
        futures = {
            client.submit(run_chunk, chunk, wsettings, pure=False): chunk for chunk in chunks
        }
        for future in as_completed(list(futures)):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker (died too often), cancelled, ...
                yield _chunk_failed(futures[future], f"{type(exc).__name__}: {exc}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _slurm_parameters(options: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, text in options.items():
        value: Any = text
        for kind in (int, float):
            try:
                value = kind(text)
                break
            except ValueError:
                continue
        out[key] = value
    return out


def _run_slurm(
    chunks: list[list[CohortItem]],
    workers: int | None,
    threads: int | None,
    settings: ExecutorSettings,
    folder: Path,
    poll: float = 2.0,
) -> Iterator[list[ScanRecord]]:
    try:
        import submitit
    except ImportError:
        raise OptionError(
            "{executor} slurm needs submitit; pip install 'medsr[cohort]'"
        ) from None
    options = dict(settings.slurm)
    cluster = options.pop("cluster", None)
    folder = Path(options.pop("folder", folder))
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = {"name": "medsr-cohort", **_slurm_parameters(options)}
    if workers:
        params.setdefault("slurm_array_parallelism", workers)
    try:
        executor.update_parameters(**params)
    except (ValueError, TypeError, NameError) as exc:  # submitit: NameError for unknown keys
        raise OptionError(f"{{slurm_option}}: {exc}") from None
    wsettings = settings.worker_settings(threads)
    jobs = executor.map_array(run_chunk, chunks, [wsettings] * len(chunks))
    waiting = dict(zip(jobs, chunks))
    try:
        while waiting:
            for job in [j for j in waiting if j.done()]:
                chunk = waiting.pop(job)
                try:
                    yield job.result()
                except Exception as exc:  # noqa: BLE001 - failed outside run_item (timeout, node lost)
                    first = str(exc).strip().splitlines()
                    yield _chunk_failed(
                        chunk,
                        f"SLURM task {job.job_id} failed: "
                        f"{first[-1] if first else type(exc).__name__}",
                    )
            if waiting:
                time.sleep(poll)
    except KeyboardInterrupt:
        for job in waiting:  # stop what has not run; finished scans stay (the rerun skips them)
            try:
                job.cancel(check=False)
            except Exception:  # noqa: BLE001, S110 - best effort on the way out
                pass
        raise


def run_cohort(
    items: Sequence[CohortItem],
    report: Path | None,
    settings: ExecutorSettings | None = None,
    *,
    progress: ProgressSink | None = None,
    on_scan: Callable[[ScanRecord, CohortProgress], None] | None = None,
) -> CohortResult:
    """Run a cohort on the chosen executor; write ``report`` (``cohort.csv``) at the end.

    Complete scans are recorded as skipped here, without starting any worker; the others go to
    the executor in chunks. ``on_scan(record, progress)`` is called as each record arrives (any
    order). A scan that fails never stops the others; the result says how many failed.
    The report is also written when the run is interrupted (with the scans finished so far).
    ``settings`` default: ``ExecutorSettings()`` (local processes).
    """
    settings = ExecutorSettings() if settings is None else settings
    settings.validate()
    t0 = time.perf_counter()
    tracker = CohortProgress(len(items), progress)
    by_key: dict[tuple[str, str], ScanRecord] = {}

    def collect(record: ScanRecord) -> None:
        by_key[(record.scan, record.output)] = record
        tracker.update(record)
        if on_scan is not None:
            on_scan(record, tracker)

    pending = []
    for item in items:
        overwrite = item.job.overwrite
        if not item.problem and not overwrite and scan_state(item.output) == "complete":
            collect(record_of_complete(item, settings.stale_after))
        else:
            pending.append(item)
    cores = available_cores()
    workers = settings.workers
    if settings.kind == "local" or (settings.kind == "dask" and not settings.scheduler):
        workers = max(1, min(workers or cores, len(pending)))
    threads = settings.threads
    if threads is None and (
        settings.kind == "local" or not settings.scheduler and settings.kind == "dask"
    ):
        threads = max(1, cores // (workers or 1))  # the workers share the cores
    size = settings.chunk_size or (
        max(1, math.ceil(len(pending) / MAX_ARRAY_TASKS)) if settings.kind == "slurm" else 1
    )
    description = _describe(settings, workers, threads)
    stream: Iterator[list[ScanRecord]] | None = None
    try:
        if pending:
            chunks = _chunks(pending, size)
            if settings.kind == "local":
                stream = _run_local(chunks, workers or 1, threads or 1, settings)
            elif settings.kind == "dask":
                stream = _run_dask(chunks, workers, threads, settings)
            else:
                base = report.parent if report is not None else Path(".")
                stream = _run_slurm(chunks, workers, threads, settings, base / ".medsr-slurm")
            for records in stream:
                for record in records:
                    collect(record)
    finally:
        if stream is not None:
            stream.close()  # stops the workers when interrupted
        ordered = [
            by_key[(str(i.input), str(i.output))]
            for i in items
            if (str(i.input), str(i.output)) in by_key
        ]
        if report is not None and ordered:
            write_report(ordered, report)
    return CohortResult(ordered, time.perf_counter() - t0, description, report)


def _describe(settings: ExecutorSettings, workers: int | None, threads: int | None) -> str:
    threads_text = f" x {threads} thread{'s' if threads != 1 else ''}" if threads else ""
    if settings.kind == "local":
        return f"local, {workers} worker{'s' if workers != 1 else ''}{threads_text}"
    if settings.kind == "dask":
        where = settings.scheduler or f"LocalCluster of {workers}{threads_text}"
        return f"dask, {where}"
    return f"slurm ({settings.slurm.get('cluster', 'slurm')})"
