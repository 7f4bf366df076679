"""Progress without a terminal: plain lines, rate-limited, no carriage returns (issue 15)."""

from __future__ import annotations

import io

from rich.console import Console

from medsr.cli.progress import PlainLines, RichProgress, progress_bar
from medsr.progress import FractionReporter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _sink() -> tuple[RichProgress, io.StringIO, Clock]:
    buf, clock = io.StringIO(), Clock()
    out = Console(file=buf, force_terminal=False, width=80)
    with progress_bar() as bar:  # pytest's stderr is no terminal: the bar is disabled
        assert bar.disable
        sink = RichProgress(bar, plain=PlainLines(out, interval=10.0, delay=2.0, clock=clock))
    return sink, buf, clock


def test_long_stage_prints_a_line_every_interval_and_when_done() -> None:
    sink, buf, clock = _sink()
    sink.stage("network (2D slices along axis 0)", 200)
    for _ in range(200):
        clock.now += 0.25  # 50 s in all
        sink.advance(1)
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue()
    assert 4 <= len(lines) <= 7, lines  # one per 10 s, not one per slice
    assert lines[0].startswith("network (2D slices along axis 0): ") and "%" in lines[0]
    assert "(8/200), 2 s" in lines[0]  # first line after the 2 s delay
    assert lines[-1] == "network (2D slices along axis 0): done in 50 s"


def test_quick_work_prints_nothing_and_fractions_show_percent() -> None:
    sink, buf, clock = _sink()
    sink.stage("resample", 3)
    for _ in range(3):
        clock.now += 0.1
        sink.advance(1)
    assert buf.getvalue() == ""
    report = FractionReporter(sink, "self-SR training")
    for i in range(1, 101):
        clock.now += 1.0
        report(i / 100, f"iteration {i * 40}")
    text = buf.getvalue()
    assert "self-SR training: iteration 80: 3 %, 3 s" in text  # notes carry the message
    assert text.splitlines()[-1] == "self-SR training: done in 100 s"
    assert len(text.splitlines()) <= 12
