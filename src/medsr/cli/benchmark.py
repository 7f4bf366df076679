"""``medsr benchmark``: the review's comparisons as commands, with one report format.

* ``medsr benchmark table1``: Table 1 of Li, Sixou & Peyrin (IRBM 2021) on Set5 / Set14
  (:mod:`medsr.bench.table1_benchmark`): interpolation baselines, shipped networks, any weights;
  published numbers, differences, parameters, FLOPs, latency, peak memory.
* ``medsr benchmark medical``: the thick-slice CT/MRI comparison (:mod:`medsr.bench.medical`,
  :mod:`medsr.bench.medical_report`).

Both write ``results.json``, ``results.csv``, ``report.md`` and ``report.html`` into ``--out``
(:func:`medsr.bench.results.write_report`, one atomic commit).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from medsr.cli.app import app, console

if TYPE_CHECKING:
    from medsr.bench.results import BenchmarkReport

__all__ = ["benchmark_app"]

benchmark_app = typer.Typer(
    help="Benchmarks of the review: Table 1 on Set5/Set14, the CT/MRI comparison; HTML report.",
    no_args_is_help=True,
)
app.add_typer(benchmark_app, name="benchmark")


_OUT_HELP = "Output folder (results.json, results.csv, report.md, report.html)."


def _list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _summary(report: BenchmarkReport, files: dict[str, Path]) -> None:
    from medsr.bench.results import fmt

    for r in report.rows:
        pub = (
            ""
            if r.published_psnr is None
            else f" (published {r.published_psnr:.2f}, {r.delta_psnr:+.2f} dB)"
        )
        score = "no truth" if r.psnr is None else f"{r.psnr:.2f} dB / {fmt(r.ssim, 4)}"
        console.print(
            f"{escape(r.dataset)} x{r.scale:g}  {escape(r.label)}: {score}{pub}", highlight=False
        )
    for note in report.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    console.print(f"report: {escape(str(files['report.html']))}", highlight=False)


@benchmark_app.command("table1")
def table1(
    out: Path = typer.Option(..., "--out", help=_OUT_HELP),
    data: list[Path] = typer.Option(
        [],
        "--data",
        metavar="DIR",
        help="Folder of test images (repeatable; default: Set5 and Set14 of "
        "../shared/data/natural beside the repository).",
    ),
    scales: str = typer.Option("2,3,4", "--scales", help="Whole factors, e.g. 2,3,4."),
    methods: str | None = typer.Option(
        None,
        "--methods",
        help="Comma list of interpolations (nearest, linear, bicubic, bspline, lanczos) and "
        "shipped networks (default: all interpolations, every shipped network).",
    ),
    weights: list[Path] = typer.Option(
        [],
        "--weights",
        metavar="FILE",
        help="model.safetensors of a trained 2D network (repeatable).",
    ),
    name: list[str] = typer.Option(
        [], "--name", metavar="NAME", help="Row label of each --weights, in order."
    ),
    quick: bool = typer.Option(
        False, "--quick", help="CI-sized: bicubic and shipped networks only, 2 timed calls."
    ),
    repeats: int | None = typer.Option(
        None, "--repeats", help="Timed calls of the latency measurement (default 5; 2 quick)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads for torch (default: torch's)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier report."),
) -> None:
    """Table 1 of the review on Set5/Set14: PSNR/SSIM, published numbers, cost, HTML report."""
    from medsr.bench.results import check_output, write_report
    from medsr.bench.table1_benchmark import run_table1_benchmark
    from medsr.cli.progress import RichProgress, progress_bar
    from medsr.errors import OptionError
    from medsr.runtime import torch_threads
    from medsr.volume import parse_numbers

    scale_list = [int(s) for s in parse_numbers(scales, "scales", integer=True, maximum=16)]
    if repeats is not None and repeats < 1:
        raise OptionError(f"{{repeats}} must be >= 1, got {repeats}")
    if threads is not None and threads < 1:
        raise OptionError(f"{{threads}} must be >= 1, got {threads}")
    check_output(out, overwrite=overwrite)
    command = " ".join(
        ["medsr benchmark table1"]
        + [f"--data {d}" for d in data]
        + [f"--scales {','.join(map(str, scale_list))}"]
        + ([f"--methods {methods}"] if methods else [])
        + [f"--weights {w}" for w in weights]
        + ["--quick"] * quick
        + [f"--out {out}"]
    )
    with torch_threads(threads), progress_bar() as bar:
        report = run_table1_benchmark(
            data or None,
            scale_list,
            _list(methods),
            weights,
            names=name,
            quick=quick,
            repeats=repeats,
            progress=RichProgress(bar),
            command=command,
        )
    files = write_report(report, out, overwrite=overwrite)
    _summary(report, files)


@benchmark_app.command("medical")
def medical(
    out: Path = typer.Option(..., "--out", help=_OUT_HELP),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Folder with chris_t1.nii.gz, chris_PD.nii.gz, CT_pitch.nii.gz "
        "(default: ../shared/data/medical beside the repository).",
    ),
    quick: bool = typer.Option(False, "--quick", help="Small crops and tiny budgets (seconds)."),
    factors: str | None = typer.Option(None, "--factors", help="Simulated factors, e.g. 2,4."),
    methods: str | None = typer.Option(
        None,
        "--methods",
        help="Rows of the simulated table: nearest, linear, cubic, bspline, "
        "lanczos, self, vdsr-mni (comma list; default all).",
    ),
    self_budget: float | None = typer.Option(
        None, "--self-budget", help="Self-SR seconds (default: medsr's)."
    ),
    supervised_seconds: float | None = typer.Option(
        None, "--supervised-seconds", help="Training time of the supervised network per factor."
    ),
    supervised_steps: int | None = typer.Option(
        None, "--supervised-steps", help="Training steps of the supervised network per factor."
    ),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch."),
    no_simulated: bool = typer.Option(False, "--no-simulated", help="Only the real scans."),
    no_real: bool = typer.Option(False, "--no-real", help="Only the simulated case."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier report."),
) -> None:
    """The CT/MRI comparison (simulated thick slices with truth, real scans): HTML report."""
    from medsr.bench.medical import BenchSettings
    from medsr.bench.medical_report import run_medical
    from medsr.bench.results import check_output, write_report
    from medsr.cli.progress import RichProgress, progress_bar
    from medsr.volume import parse_numbers

    settings = BenchSettings.quick() if quick else BenchSettings()
    if factors is not None:
        settings.factors = tuple(
            int(f) for f in parse_numbers(factors, "factors", integer=True, maximum=16)
        )
    if methods is not None:
        settings.methods = tuple(_list(methods) or ())
    for key, value in (
        ("self_budget", self_budget),
        ("supervised_seconds", supervised_seconds),
        ("supervised_steps", supervised_steps),
        ("threads", threads),
    ):
        if value is not None:
            setattr(settings, key, value)
    check_output(out, overwrite=overwrite)
    command = " ".join(
        ["medsr benchmark medical"]
        + ([f"--data {data}"] if data else [])
        + ["--quick"] * quick
        + ([f"--factors {factors}"] if factors else [])
        + ([f"--methods {methods}"] if methods else [])
        + ["--no-simulated"] * no_simulated
        + ["--no-real"] * no_real
        + [f"--out {out}"]
    )
    with progress_bar() as bar:
        sink = RichProgress(bar)
        sink.stage("medical benchmark", None)
        report = run_medical(
            data,
            out,
            settings,
            simulated=not no_simulated,
            real=not no_real,
            command=command,
            log=sink.note,
        )
    files = write_report(report, out, overwrite=overwrite)
    _summary(report, files)
