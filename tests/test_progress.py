"""One progress protocol: the engine and its methods report to one ProgressSink."""

from __future__ import annotations

import numpy as np

from medsr.infer.methods import MethodOptions
from medsr.infer.pipeline import UpscaleConfig, upscale
from medsr.progress import FractionReporter, Quiet
from medsr.volume import TargetGrid, Volume, VolumeMeta


class Recorder:
    def __init__(self) -> None:
        self.stages: list[tuple[str, float | None]] = []
        self.done = 0.0
        self.notes: list[str] = []

    def stage(self, description: str, total: float | None) -> None:
        self.stages.append((description, total))

    def advance(self, amount: float = 1) -> None:
        self.done += amount

    def note(self, message: str) -> None:
        self.notes.append(message)


def test_fraction_reporter_never_goes_back_and_stops_at_one() -> None:
    sink = Recorder()
    report = FractionReporter(sink, "self")
    for f in (0.2, 0.1, 0.7, 1.5):
        report(f, "step")
    assert sink.stages == [("self", 1.0)]
    assert sink.done == 1.0 and sink.notes == ["self: step"] * 4
    Quiet().stage("x", None)  # the default sink accepts everything


def test_a_method_reports_to_the_engines_sink() -> None:
    rng = np.random.default_rng(0)
    image = Volume(rng.random((1, 12, 12, 1), dtype=np.float32), np.eye(4), VolumeMeta(is_2d=True))
    sink = Recorder()
    options = MethodOptions(extra={"iterations": 3, "width": 4, "depth": 2, "threads": 1})
    upscale(image, TargetGrid.from_factors(image, (2, 2, 1)), method="dip",
            config=UpscaleConfig(method_options=options), progress=sink)
    assert sink.stages[0] == ("dip", 1.0)
    assert abs(sink.done - 1.0) < 1e-9  # the whole stage was reported, once
