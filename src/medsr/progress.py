"""The one progress protocol of medsr.

Long work (the engine, every up-scaling method, training of self-SR) reports to a
:class:`ProgressSink`: ``stage(description, total)`` opens a stage with a known (or unknown) amount
of work, ``advance(amount)`` records work done, ``note(message)`` updates the text. The CLI passes a
rich progress bar (:class:`medsr.cli.app.RichProgress`); library callers pass nothing
(:class:`Quiet`). Inner loops that think in fractions of their own work (self-SR's training) talk
to a sink through :class:`FractionReporter`.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["FractionReporter", "ProgressSink", "Quiet"]


class ProgressSink(Protocol):
    """Where progress goes: stages, work done, messages."""

    def stage(self, description: str, total: float | None) -> None: ...

    def advance(self, amount: float = 1) -> None: ...

    def note(self, message: str) -> None: ...


class Quiet:
    """A sink that drops everything (the default of library calls)."""

    def stage(self, description: str, total: float | None) -> None:
        pass

    def advance(self, amount: float = 1) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class FractionReporter:
    """``reporter(fraction, message)`` onto a sink: opens a stage of total 1 named ``name``, then
    advances it to each ``fraction`` reported (never backwards) and shows ``message``."""

    def __init__(self, sink: ProgressSink, name: str) -> None:
        self.sink = sink
        self.name = name
        self.done = 0.0
        sink.stage(name, 1.0)

    def __call__(self, fraction: float, message: str = "") -> None:
        step = max(0.0, min(1.0, float(fraction)) - self.done)
        self.done += step
        self.sink.advance(step)
        if message:
            self.sink.note(f"{self.name}: {message}")
