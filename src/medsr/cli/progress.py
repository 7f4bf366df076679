"""Rich progress bars for the commands: one :class:`medsr.progress.ProgressSink` for all of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medsr.cli.app import console, err_console

__all__ = ["RichProgress", "progress_bar"]


def progress_bar() -> Progress:
    """A transient bar on stderr; disabled when stderr is not a terminal (logs, pipes)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        # rich leaves a blank line on a non-terminal stderr (logs, pipes): no bar there
        disable=not err_console.is_terminal,
    )


class PlainLines:
    """Progress as plain lines for logs and pipes (no terminal, so no bar): at most one line per
    ``interval`` seconds, and only for work that has already lasted ``delay`` seconds -- quick
    commands print nothing; a 3-minute self-SR prints its stage, percentage and elapsed time.
    Lines go to stdout (stderr stays for the error line)."""

    def __init__(
        self,
        out: Console | None = None,
        *,
        interval: float = 10.0,
        delay: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out or console
        self.interval, self.delay, self.clock = interval, delay, clock
        self.label = self.base = ""
        self.total: float | None = None
        self.completed = 0.0
        self.started = self.last = self.clock()
        self.printed = False

    def stage(self, label: str, total: float | None) -> None:
        if self.printed and self.total and self.completed < self.total:
            self._line(f"{self.label}: stopped at {self._amount()}")
        self.label = self.base = label
        self.total, self.completed = total, 0.0
        self.started = self.clock()
        self.printed = False

    def advance(self, amount: float) -> None:
        self.completed += float(amount)
        if self.total and self.completed >= self.total - 1e-9:
            if self.printed:
                self._line(f"{self.base}: done in {self.clock() - self.started:.0f} s")
                self.printed = False
            return
        self._maybe(self.label)

    def note(self, label: str) -> None:
        self.label = label
        if not (self.total and self.completed >= self.total - 1e-9):
            self._maybe(label)

    def _amount(self) -> str:
        if not self.total:
            return f"{self.completed:g}"
        pct = 100.0 * self.completed / self.total
        whole = float(self.total).is_integer() and self.total > 1
        count = f" ({self.completed:g}/{self.total:g})" if whole else ""
        return f"{pct:.0f} %{count}"

    def _maybe(self, label: str) -> None:
        now = self.clock()
        if now - self.started < self.delay or (self.printed and now - self.last < self.interval):
            return
        self._line(f"{label}: {self._amount()}, {now - self.started:.0f} s")

    def _line(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)
        self.last = self.clock()
        self.printed = True


class RichProgress:
    """A rich progress bar as a :class:`medsr.progress.ProgressSink` (one task per stage); when
    the bar is disabled (no terminal) the same calls become :class:`PlainLines`."""

    def __init__(
        self, progress: Progress, prefix: str = "", plain: PlainLines | None = None
    ) -> None:
        self.progress = progress
        self.prefix = prefix
        self.task: Any = None
        self.plain = plain if plain is not None else (PlainLines() if progress.disable else None)

    def stage(self, description: str, total: float | None) -> None:
        label = f"{self.prefix}{description}"
        if self.plain is not None:
            self.plain.stage(label, total)
        if self.task is None:
            self.task = self.progress.add_task(label, total=total)
        else:
            self.progress.reset(self.task, total=total, description=label)

    def advance(self, amount: float = 1) -> None:
        if self.plain is not None:
            self.plain.advance(amount)
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def note(self, message: str) -> None:
        if self.plain is not None:
            self.plain.note(f"{self.prefix}{message}")
        if self.task is not None:
            self.progress.update(self.task, description=f"{self.prefix}{message}")

    def done(self) -> None:
        """Remove the current stage's task (between scans of a batch)."""
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
