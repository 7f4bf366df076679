"""Rich progress bars for the commands: one :class:`medsr.progress.ProgressSink` for all of them."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medsr.cli.app import err_console

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


class RichProgress:
    """A rich progress bar as a :class:`medsr.progress.ProgressSink` (one task per stage)."""

    def __init__(self, progress: Progress, prefix: str = "") -> None:
        self.progress = progress
        self.prefix = prefix
        self.task: Any = None

    def stage(self, description: str, total: float | None) -> None:
        label = f"{self.prefix}{description}"
        if self.task is None:
            self.task = self.progress.add_task(label, total=total)
        else:
            self.progress.reset(self.task, total=total, description=label)

    def advance(self, amount: float = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def note(self, message: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=f"{self.prefix}{message}")

    def done(self) -> None:
        """Remove the current stage's task (between scans of a batch)."""
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
