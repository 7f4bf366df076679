"""Training progress as plain lines (logs, pipes, batch jobs): ``train.progress: plain``.

A terminal gets a bar (``tqdm`` / ``rich``, :func:`step_bar`: global step / total, ETA from the
resumed step); anywhere else a bar writes a carriage
return per refresh and floods the log. :class:`PlainProgress` prints instead at most one line per
``interval`` seconds on stdout -- the global step of the run (resumed runs continue the count),
the total, the loss, the elapsed time and the estimated time left (from this session's rate, and
never past ``train.max_time``)::

    step 240/1200 (20 %), loss 0.0412, 1:02 elapsed, ETA 4:08
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import lightning as L

__all__ = ["PlainProgress", "format_seconds", "progress_kind", "step_bar"]


def format_seconds(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a duration."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class PlainProgress(L.Callback):
    """One line per ``interval`` seconds: step / total, loss, elapsed and ETA."""

    def __init__(
        self,
        *,
        interval: float = 10.0,
        max_time: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval, self.max_time = interval, max_time
        self.stream, self.clock = stream, clock
        self.start = self.last = 0.0
        self.first_step = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = self.last = self.clock()
        self.first_step = int(trainer.global_step)
        total = trainer.max_steps
        if self.first_step:
            self._print(f"resuming at step {self.first_step}/{total}")

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        now = self.clock()
        if now - self.last < self.interval:
            return
        self.last = now
        self._print(self.line(trainer, now))

    def line(self, trainer: L.Trainer, now: float) -> str:
        """The progress line at time ``now``."""
        step, total = int(trainer.global_step), int(trainer.max_steps)
        elapsed = now - self.start
        text = f"step {step}/{total}"
        if total > 0:
            text += f" ({100.0 * step / total:.0f} %)"
        loss = trainer.callback_metrics.get("train/loss")
        if loss is not None:
            text += f", loss {float(loss):.4g}"
        text += f", {format_seconds(elapsed)} elapsed"
        done = step - self.first_step
        if done > 0 and total > step:
            eta = (total - step) * elapsed / done
            if self.max_time is not None:
                eta = min(eta, max(0.0, self.max_time - elapsed))
            text += f", ETA {format_seconds(eta)}"
        return text

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)


def step_bar(kind: str, refresh_rate: int = 1) -> L.Callback:
    """A progress bar over the run's global steps (``step/max_steps``, ETA) for a terminal.

    Lightning's own bars count the batches of each data epoch, which is only
    ``train.checkpoint_every`` steps here and restarts at 0 each time; these count the global
    step of the whole run, start at the resumed step after a resumption, and estimate the time
    left from this session's rate (tqdm: ``initial`` = the resumed step; rich: the task starts
    there without a speed sample).
    """
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar
    from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm, _update_n

    class StepTQDM(TQDMProgressBar):
        def on_train_start(self, trainer: L.Trainer, *_: Any) -> None:
            total = int(trainer.max_steps)
            self.train_progress_bar = Tqdm(  # Lightning's training bar, over the whole run
                desc="train",
                initial=int(trainer.global_step),
                total=total if total > 0 else None,
                position=2 * self.process_position,
                disable=self.is_disabled,
                leave=True,
                dynamic_ncols=True,
                file=sys.stdout,
                smoothing=0,
                bar_format=self.BAR_FORMAT,
            )

        def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
            pass  # one bar for the whole run

        def on_train_batch_end(
            self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, b: Any, i: int
        ) -> None:
            n, bar = int(trainer.global_step), self.train_progress_bar
            if self._should_update(n, bar.total or 0):
                _update_n(bar, n)
                bar.set_postfix(self.get_metrics(trainer, pl_module))

        def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            if not self.train_progress_bar.disable:
                self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))

    class StepRich(RichProgressBar):
        def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            if self.is_disabled or self.progress is None or self.train_progress_bar_id is not None:
                return
            total = int(trainer.max_steps) if trainer.max_steps > 0 else None
            self.train_progress_bar_id = self._add_task(total or 0, "train")
            # start at the resumed step without counting it as this session's progress
            self.progress.reset(
                self.train_progress_bar_id, total=total, completed=int(trainer.global_step)
            )

        def on_train_batch_end(
            self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, b: Any, i: int
        ) -> None:
            if self.train_progress_bar_id is None:
                self.on_train_epoch_start(trainer, pl_module)
            self._update(self.train_progress_bar_id, int(trainer.global_step))
            self._update_metrics(trainer, pl_module)
            self.refresh()

    if kind == "rich":
        return StepRich()
    return StepTQDM(refresh_rate=refresh_rate)


def progress_kind(setting: str, *, terminal: bool | None = None) -> str:
    """What ``train.progress`` gives here: ``tqdm`` / ``rich`` bars on a terminal (stderr), else
    ``plain`` lines; ``plain`` and ``none`` as asked."""
    if setting in ("tqdm", "rich"):
        is_tty = sys.stderr.isatty() if terminal is None else terminal
        return setting if is_tty else "plain"
    return setting
