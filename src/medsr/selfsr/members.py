"""Several self-SR networks trained side by side, one per CPU core, their views averaged.

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [84]; review section 4.2.2) trains one network per
scan. Training is a chain of small steps that one CPU core runs best (:mod:`medsr.selfsr.train`
trains on one thread), so on a machine with more cores self-SR trains ``members`` networks at
once, each in its own process with its own seed, applies each to the through-plane planes and
averages their estimates of every view before the fusion. Averaging independently trained
networks lowers the variance of the restoration (a deep ensemble: Lakshminarayanan, Pritzel &
Blundell, NeurIPS 2017). Not in SMORE. A member's result depends only on its seed, never on
where it ran: with fewer cores the members run one after the other and give the same voxels.

Member 0 runs in the calling process with the pipeline's own random generators (so ``members=1``
is the single network of before); member ``k >= 1`` seeds its generators with :func:`member_seed`
and runs in a worker: a fresh interpreter (``python -m medsr.selfsr._member_worker``) that reads
the task from a private temporary folder and writes its result there. A plain subprocess rather
than :mod:`multiprocessing`: its ``spawn`` and ``forkserver`` workers import the caller's main
script again, which re-runs a script without an ``if __name__ == "__main__"`` guard (and
``fork`` copies torch's thread pools); the worker here imports only medsr.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.infer.slicewise import ForegroundCrop
from medsr.runtime import torch_seed, torch_threads
from medsr.selfsr.apply import restore_views
from medsr.selfsr.config import Budget, SelfSRConfig
from medsr.selfsr.network import build_network
from medsr.selfsr.pairs import TrainingPairs
from medsr.selfsr.prior import load_prior, warm_starts
from medsr.selfsr.train import train_restoration

__all__ = [
    "TASK_BYTES_MAX",
    "MemberResult",
    "MemberTask",
    "average_views",
    "fit_members",
    "member_seed",
    "run_worker",
    "task_bytes",
    "workers",
]

Progress = Callable[[float, str], None]

#: a task whose arrays (pairs and volume) are larger than this runs its members in the calling
#: process, one after the other (same voxels): a worker holds its own copy of them
TASK_BYTES_MAX = 1 << 30


@dataclass
class MemberTask:
    """Everything one member trains on and restores (sent whole to a worker process)."""

    pairs: TrainingPairs
    volume: np.ndarray  # (C, X, Y, Z), interpolated onto the target grid, normalised
    slice_axis: int
    factor: float
    config: SelfSRConfig
    budget: Budget
    stage: str = "super-resolution"
    precision: str = "fp32"
    period: int = 1
    orientation: int | None = None
    orientations: int = 2


@dataclass
class MemberResult:
    """A member's views (None when its network did not beat the interpolation on held-out
    training pairs) and its record for the sidecar."""

    views: list[np.ndarray] | None
    record: dict[str, Any] = field(default_factory=dict)


def member_seed(seed: int | None, member: int, stage: int = 0) -> int | None:
    """The seed of member ``member >= 1`` in stage ``stage`` (None stays None: not reproducible)."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([int(seed), int(member), int(stage)]).generate_state(1)[0])


def workers(members: int, asked: int | None = None) -> int:
    """Processes to run ``members`` networks in: ``asked``, or one per CPU core this process may
    use (``os.sched_getaffinity``), at most ``members``."""
    if asked is not None:
        return max(1, min(int(asked), members))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, members))


def fit_member(
    task: MemberTask,
    seed: int | None,
    rng: np.random.Generator | None = None,
    progress: Progress | None = None,
    apply_progress: Progress | None = None,
) -> MemberResult:
    """Build (warm-started for the SR stage), train and apply one network.

    ``rng`` None (a worker, or a member other than 0): the member's own generators from ``seed``;
    otherwise the caller's generator and torch's global RNG as the caller seeded it.
    """
    config = task.config
    own = rng is None
    generator = np.random.default_rng(seed) if rng is None else rng
    with torch_seed(seed) if own else nullcontext():
        net = build_network(config.arch, config.preset, **config.model_kwargs)
    warm = task.stage == "super-resolution" and warm_starts(
        config.init, config.arch, config.preset, config.model_kwargs
    )
    init: Any = "none"
    if warm:  # the anti-aliasing network of SAA has another task: it starts cold
        init = load_prior(
            net,
            arch=config.arch,
            preset=config.preset,
            model_kwargs=config.model_kwargs,
            factor=task.factor,
        )
    result = train_restoration(
        net,
        task.pairs,
        budget=task.budget,
        patch=config.patch,
        batch=config.batch,
        lr=config.lr,
        rng=generator,
        device=config.device,
        progress=progress,
        label=f"training ({task.stage})",
        sampling=config.sampling,
        row_period=task.period,
        precision=task.precision,
        patch_shape=config.patch_shape,
    )
    t_apply = time.perf_counter()
    used = result.val_gain_db > 0  # never return something worse than the interpolation
    views = None
    if used:
        # inference on config.threads, default one as training (SelfSRConfig.threads)
        with torch_threads(config.threads or 1):
            views = restore_views(
                net,
                task.volume,
                task.slice_axis,
                orientations=task.orientations,
                orientation=task.orientation,
                batch=config.infer_batch,
                device=config.device,
                ensemble=config.ensemble,
                diagonals=config.views == "diagonals",
                foreground=ForegroundCrop(row_period=task.period),
                precision=task.precision,
                progress=apply_progress,
                label=f"applying ({task.stage})",
            )
    record = {
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "init": init,
        "used": used,
        **result.as_dict(),
        "apply_seconds": round(time.perf_counter() - t_apply, 2),
    }
    return MemberResult(views, record)


def fit_members(
    task: MemberTask,
    members: int,
    seed: int | None,
    rng: np.random.Generator,
    *,
    stage: int = 0,
    processes: int | None = None,
    progress: Progress | None = None,
    apply_progress: Progress | None = None,
) -> list[MemberResult]:
    """Train and apply ``members`` networks on the same task; member 0 here with ``rng``, the
    others with :func:`member_seed`, in ``processes - 1`` worker processes (None: one per core,
    :func:`workers`) while member 0 trains, or one after the other here when there is one."""
    seeds = [member_seed(seed, k, stage) for k in range(1, members)]
    n_workers = min(workers(members, processes) - 1, len(seeds))
    if task_bytes(task) > TASK_BYTES_MAX:
        n_workers = 0
    if n_workers:
        size = -(-len(seeds) // n_workers)  # contiguous shares: their results come back in order
        shares = [seeds[i : i + size] for i in range(0, len(seeds), size)]
        with tempfile.TemporaryDirectory(prefix="medsr-members-") as tmp:
            running = _start_workers(Path(tmp), task, shares)
            try:
                first = fit_member(task, seed, rng, progress, apply_progress)
                others = [r for proc, out in running for r in _finish_worker(proc, out)]
            finally:
                for proc, _ in running:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
    else:
        first = fit_member(task, seed, rng, progress, apply_progress)
        others = [fit_member(task, s) for s in seeds]
    for k, (res, s) in enumerate(zip([first, *others], [seed, *seeds], strict=True)):
        res.record["member"], res.record["seed"] = k, s
        res.record["process"] = "worker" if k and n_workers else "main"
    return [first, *others]


def _start_workers(
    folder: Path, task: MemberTask, shares: list[list[int | None]]
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """Write the task once, start one worker per share of seeds."""
    task_path = folder / "task.pkl"
    with open(task_path, "wb") as fh:
        pickle.dump(task, fh, protocol=pickle.HIGHEST_PROTOCOL)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the worker trains on one thread (its core)
    running = []
    for w, share in enumerate(shares):
        out = folder / f"result{w}.pkl"
        seeds = ",".join("none" if s is None else str(s) for s in share)
        cmd = [sys.executable, "-m", "medsr.selfsr._member_worker", str(task_path), seeds, str(out)]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env,
        )
        running.append((proc, out))
    return running


def _finish_worker(proc: subprocess.Popen[bytes], out: Path) -> list[MemberResult]:
    """Wait for a worker; its results, or a one-line error with the worker's last words."""
    _, err = proc.communicate()
    if proc.returncode != 0 or not out.is_file():
        lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        raise MedsrError(
            f"a self-SR worker process failed ({why}); run one network per scan with "
            "--option members=1, or all in this process with --option member_processes=1"
        )
    with open(out, "rb") as fh:  # written by our own worker into our private temporary folder
        return list(pickle.load(fh))


def run_worker(task_path: Path, seeds: str, out: Path) -> None:
    """The worker's side (:mod:`medsr.selfsr._member_worker`): train and apply the members of
    ``seeds`` (comma-separated, ``none`` for no seed) on one thread and write their results."""
    with open(task_path, "rb") as fh:  # written by fit_members into its private temporary folder
        task = pickle.load(fh)
    todo = [None if s == "none" else int(s) for s in seeds.split(",")]
    with torch_threads(1):
        results = [fit_member(task, s) for s in todo]
    part = out.with_suffix(".part")
    with open(part, "wb") as fh:
        pickle.dump(results, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(part, out)


def task_bytes(task: MemberTask) -> int:
    """Bytes of a task's arrays: what each worker process receives a copy of."""
    pairs = sum(a.nbytes for a in task.pairs.inputs) + sum(a.nbytes for a in task.pairs.targets)
    return int(pairs + task.volume.nbytes)


def average_views(results: list[MemberResult]) -> list[np.ndarray] | None:
    """The mean, view by view, of the members whose network was used (None: none was)."""
    used = [r.views for r in results if r.views is not None]
    if not used:
        return None
    out = [np.array(v, dtype=np.float32, copy=True) for v in used[0]]
    for views in used[1:]:
        for acc, v in zip(out, views, strict=True):
            acc += v
    for acc in out:
        acc /= len(used)
    return out
