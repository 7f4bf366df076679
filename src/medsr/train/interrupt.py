"""Safe interruption of a training run: Ctrl-C / SIGTERM save a checkpoint at the current step.

Within :func:`stop_on_signals` (installed by :func:`medsr.train.run.train` around
``Trainer.fit`` only, and restoring the previous handlers on exit) the first SIGINT or SIGTERM just
records a stop request. :class:`StopAtStep`, a Lightning callback, sees it at the end of the
training step in progress -- the same point where the periodic ``last.ckpt`` is written, so the
resumed run takes the same exact restart path -- writes ``checkpoints/last.ckpt`` (atomically) at
that step and raises :class:`TrainingInterrupted`. :func:`medsr.train.run.train` adds the run folder
and the exact resume command, which ``medsr train`` prints before exiting with ``128 + signum``
(130 for Ctrl-C, 143 for SIGTERM). A second signal while the step finishes stops at once (as
without these handlers: :class:`~medsr.io.atomic.Interrupted`), leaving the last periodic
checkpoint.

Mid-epoch checkpoints resume exactly because the training loader is resumable
(:class:`medsr.train.datasets.ResumableLoader` skips the batches of the epoch already trained).
"""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L

from medsr.io.atomic import Interrupted, handling_signals

__all__ = [
    "StopAtStep",
    "StopRequest",
    "TrainingInterrupted",
    "resume_command",
    "stop_on_signals",
]


class TrainingInterrupted(Interrupted):
    """A run stopped by SIGINT/SIGTERM after saving ``checkpoint`` at ``step`` (of ``total``).

    ``run_dir`` and ``command`` (the one-line resume command) are filled in by
    :func:`medsr.train.run.train`; a :class:`KeyboardInterrupt`, so clean-ups run on the way out.
    """

    def __init__(self, signum: int, *, step: int, total: int, checkpoint: Path) -> None:
        super().__init__(signum)
        self.step, self.total, self.checkpoint = int(step), int(total), Path(checkpoint)
        self.run_dir: Path = self.checkpoint.parent.parent
        self.command = ""


@dataclass
class StopRequest:
    """The signal received within :func:`stop_on_signals` (None: none yet)."""

    signum: int | None = None
    trainer: Any = None  # set by StopAtStep: Lightning's own SIGTERM flag is cleared for it


def _describe(signum: int) -> str:
    return "terminate signal" if signum == signal.SIGTERM else "Ctrl-C"


@contextmanager
def stop_on_signals(request: StopRequest | None = None) -> Iterator[StopRequest]:
    """Within the block, the first SIGINT/SIGTERM only sets ``request`` (yielded; a new
    :class:`StopRequest` by default) and a note on stdout says the run stops after the current
    step; a second one raises
    :class:`~medsr.io.atomic.Interrupted` at once. Previous handlers are restored on exit (also
    Lightning's SIGINT = ignore after it handled a KeyboardInterrupt). Outside the main thread
    (where handlers cannot be set) this does nothing."""
    request = StopRequest() if request is None else request

    def handler(signum: int, frame: FrameType | None) -> None:
        if request.signum is not None:  # asked again: stop now, without a new checkpoint
            raise Interrupted(signum)
        request.signum = signum
        connector = getattr(request.trainer, "_signal_connector", None)
        if connector is not None:  # Lightning would raise its own SIGTERMException unsaved
            connector.received_sigterm = False
        try:  # stdout: medsr's stderr holds only the error line
            print(
                f"{_describe(signum)}: saving a checkpoint after the current step "
                "(again to stop at once)",
                file=sys.stdout,
                flush=True,
            )
        except RuntimeError:  # the signal came while stdout was being written
            pass

    with handling_signals(handler):
        yield request


class StopAtStep(L.Callback):
    """Saves ``checkpoints/last.ckpt`` at the end of the step during which a stop was requested
    and raises :class:`TrainingInterrupted` (all DDP ranks agree on stopping)."""

    def __init__(self, request: StopRequest, checkpoint: Path) -> None:
        self.request = request
        self.checkpoint = Path(checkpoint)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.request.trainer = trainer

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        asked = self.request.signum is not None
        if trainer.world_size > 1:
            asked = bool(trainer.strategy.reduce_boolean_decision(asked, all=False))
        if not asked:
            return
        signum = self.request.signum or signal.SIGINT
        # the directory of the periodic checkpoints (rank 0's folder on every DDP rank)
        callback = trainer.checkpoint_callback
        folder = getattr(callback, "dirpath", None)
        path = Path(folder) / "last.ckpt" if folder else self.checkpoint
        trainer.save_checkpoint(str(path))
        # this step's training metrics, which Lightning logs right after this hook
        connector = getattr(trainer, "_logger_connector", None)
        if connector is not None and hasattr(connector, "update_train_step_metrics"):
            connector.update_train_step_metrics()
        raise TrainingInterrupted(
            signum, step=int(trainer.global_step), total=int(trainer.max_steps), checkpoint=path
        )


def resume_command(run_dir: Path, overrides: Sequence[str] = ()) -> str:
    """The one-line ``medsr train --resume RUN_DIR [overrides]`` that continues a run. A new
    run's overrides are in its ``config.yaml``; a resumed run's own overrides (which
    ``config.yaml`` does not hold, e.g. a longer ``train.max_steps``) are repeated."""
    words = ["medsr", "train", "--resume", str(run_dir), *overrides]
    return " ".join(shlex.quote(w) for w in words)
