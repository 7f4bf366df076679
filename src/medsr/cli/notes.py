"""Library warnings and log records as one-line ``note:`` lines of the ``medsr`` command.

numpy, nibabel, torch and Lightning report through :mod:`warnings` and :mod:`logging`; left
alone they print multi-line text on stderr (file name, source line), around medsr's own one-line
``error:``. Inside :func:`routed_notes` (installed by :func:`medsr.cli.main` only, never at import)
each distinct warning or log record of level WARNING and above becomes one ``note:`` line on
stdout, beside medsr's own notes (on stderr with ``--json``, whose stdout is the JSON document), so
that stderr holds nothing but the ``error:`` line when a command fails. :func:`lightning_to_stdout`
does the same for the progress messages Lightning logs while ``medsr train`` runs. Everything is
put back on exit (no global state outlives the command).
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["lightning_to_stdout", "note_line", "routed_notes"]

_PACKAGE = re.compile(r"(?:site-packages|dist-packages)[/\\]([A-Za-z0-9_]+)")
#: Lightning's advertisement, printed by every Trainer; nothing a medsr user can act on.
_DROPPED = ("💡 Tip:",)


def note_line(message: object, source: str | None = None) -> str:
    """``note: <source> warning: <message>`` with the message's whitespace collapsed to one line."""
    text = " ".join(str(message).split())
    return f"note: {source} warning: {text}" if source else f"note: {text}"


def _source(filename: str) -> str | None:
    """The package a warning comes from (``nibabel`` for ``.../site-packages/nibabel/x.py``)."""
    match = _PACKAGE.search(filename or "")
    return match.group(1) if match else None


class _NoteHandler(logging.Handler):
    """A log record of level WARNING and above as one ``note:`` line (each text once)."""

    def __init__(self, stream: TextIO, seen: set[str]) -> None:
        super().__init__(logging.WARNING)
        self.stream, self.seen = stream, seen

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = note_line(record.getMessage(), record.name.split(".")[0])
        except Exception:  # noqa: BLE001 - a record that does not format: no traceback
            return
        if line not in self.seen:
            self.seen.add(line)
            print(line, file=self.stream, flush=True)


@contextmanager
def routed_notes(*, json_output: bool = False) -> Iterator[None]:
    """Within the block, warnings and WARNING+ log records print as one ``note:`` line each.

    Args:
        json_output: the command prints JSON on stdout: the notes go to stderr instead.
    """
    stream = sys.stderr if json_output else sys.stdout
    seen: set[str] = set()

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        text = note_line(message, _source(filename))
        if text not in seen:
            seen.add(text)
            print(text, file=stream, flush=True)

    root = logging.getLogger()
    handler = _NoteHandler(stream, seen)
    with warnings.catch_warnings():
        warnings.showwarning = show
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)


class _StdoutHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join(record.getMessage().split())
        except Exception:  # noqa: BLE001 - a log record that does not format must not stop the run
            return
        if not text or text.startswith(_DROPPED):
            return
        if record.levelno >= logging.WARNING:
            text = note_line(text, "lightning")
        print(text, file=sys.stdout, flush=True)


@contextmanager
def lightning_to_stdout() -> Iterator[None]:
    """Lightning's messages ("GPU available: ...", "`Trainer.fit` stopped ...") on stdout, one
    line each, its advertisement dropped; its own handlers (stderr) are put back on exit."""
    import lightning.pytorch  # noqa: F401 - its import installs the handlers replaced here

    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    saved = [(lg, list(lg.handlers), lg.propagate) for lg in loggers]
    handler = _StdoutHandler(logging.INFO)
    try:
        for lg in loggers:
            for h in list(lg.handlers):
                lg.removeHandler(h)
            lg.addHandler(handler)
            lg.propagate = False
        yield
    finally:
        for lg, handlers, propagate in saved:
            lg.removeHandler(handler)
            for h in handlers:
                lg.addHandler(h)
            lg.propagate = propagate
