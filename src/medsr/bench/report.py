"""Results of the medical benchmarks: rows, Markdown tables and JSON records with the machine.

The review compares methods by PSNR/SSIM against a known truth (Li, Sixou & Peyrin, IRBM 2021,
section 2.3, eqs. 24-25; its Table 1 is methods x scale). Both medical benchmarks report in that
form: :mod:`medsr.bench.selfsr` (simulated thick slices: :func:`metrics_markdown`) and
:mod:`medsr.bench.medical` (simulated and real scans: :class:`MethodRow`, :class:`RealScan`,
:class:`BenchResult`, :func:`markdown_report`, :func:`write_results`). Timings mean little
without the machine, so every JSON record carries :func:`environment` (CPUs, torch threads,
versions, load average).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medsr.bench.supervised import SUPERVISED, SupervisedModel

if TYPE_CHECKING:
    from medsr.bench.medical import BenchSettings

__all__ = [
    "METHOD_LABELS",
    "BenchResult",
    "MethodRow",
    "RealScan",
    "environment",
    "finish_environment",
    "markdown_report",
    "markdown_table",
    "metrics_markdown",
    "self_sr_note",
    "write_results",
]

#: row labels of the tables (interpolations of the review's section 2.1, self-SR, the network)
METHOD_LABELS: dict[str, str] = {
    "nearest": "nearest",
    "linear": "linear",
    "cubic": "cubic (MATLAB bicubic)",
    "bspline": "cubic B-spline",
    "lanczos": "Lanczos-3",
    "self": "self-SR (SMORE-like, `self`)",
    SUPERVISED: "VDSR 2D, trained on MNI brain",
}
#: the labels of :func:`metrics_markdown` (the demo's table)
_SIMULATION_LABELS: dict[str, str] = {**METHOD_LABELS, "self": "self-SR (SMORE-like)"}


# ---------------------------------------------------------------------- rows and results
@dataclass
class MethodRow:
    """One row of a table. ``psnr``/``ssim``/``nrmse`` are None without truth."""

    case: str
    method: str
    psnr: float | None
    ssim: float | None
    nrmse: float | None
    consistency_psnr: float
    seconds: float
    cpu_seconds: float
    train_seconds: float | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """The row's name in the tables (:data:`METHOD_LABELS`, else the method name)."""
        return METHOD_LABELS.get(self.method, self.method)


@dataclass
class RealScan:
    """A real scan's results: the rows, the output grid (shape, spacing, affine) and the per-method
    units check (:func:`medsr.bench.medical.units_check`)."""

    name: str
    input_shape: tuple[int, int, int]
    input_spacing: tuple[float, float, float]
    output_shape: tuple[int, int, int]
    output_spacing: tuple[float, float, float]
    factors: tuple[float, float, float]
    rows: list[MethodRow]
    units: dict[str, dict[str, Any]]
    output_affine: list[list[float]] = field(default_factory=list)


@dataclass
class BenchResult:
    """Everything a run of :func:`medsr.bench.medical.run_medical_benchmark` measured
    (``results.json`` is :meth:`as_dict`)."""

    settings: BenchSettings
    simulated: list[MethodRow]
    supervised: list[SupervisedModel]
    real: list[RealScan]
    environment: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (:func:`medsr.jsonutil.to_jsonable`: NaN/inf become null)."""
        from medsr.jsonutil import to_jsonable

        return to_jsonable(asdict(self))


# ---------------------------------------------------------------------- the machine
def _load_average() -> list[float] | None:
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def environment() -> dict[str, Any]:
    """What the timings depend on: CPUs, torch threads and version, Python, load average now."""
    import torch

    load = _load_average()
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_1_5_15": load if load is not None else [float("nan")] * 3,
    }


def finish_environment(env: dict[str, Any], t_start: float) -> None:
    """Add the run's total seconds (since ``time.perf_counter()`` was ``t_start``) and the load
    average at its end to ``env``."""
    env["total_seconds"] = time.perf_counter() - t_start
    env["load_average_end"] = _load_average()


# ---------------------------------------------------------------------- Markdown
def _f(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def markdown_table(
    header: Sequence[str], right: Sequence[bool], rows: Sequence[Sequence[str]]
) -> list[str]:
    """The lines of a Markdown table; ``right[i]``: column ``i`` is right-aligned (numbers)."""
    rule = "| " + " | ".join("---:" if r else "---" for r in right) + " |"
    lines = ["| " + " | ".join(header) + " |", rule]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def metrics_markdown(
    metrics: dict[str, dict[str, float]], title: str, notes: list[str] | None = None
) -> str:
    """A Markdown table of :func:`medsr.bench.selfsr.compare`'s metrics: method, PSNR, SSIM
    (inside the head), gain over B-spline, seconds."""
    ref = metrics.get("bspline", {}).get("psnr")
    rows = [
        [
            _SIMULATION_LABELS.get(name, name),
            f"{m['psnr']:.2f}",
            f"{m['ssim']:.4f}",
            "" if ref is None else f"{m['psnr'] - ref:+.2f}",
            f"{m.get('seconds', float('nan')):.1f}",
        ]
        for name, m in metrics.items()
    ]
    lines = [f"# {title}", ""]
    lines += markdown_table(
        ["method", "PSNR (dB)", "SSIM", "vs B-spline (dB)", "seconds"],
        [False, True, True, True, True],
        rows,
    )
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def self_sr_note(details: dict[str, Any]) -> str:
    """One line on a ``self`` run from the ``details`` of :func:`medsr.infer.upscale`'s result:
    its budget and the iterations of each stage (empty for other methods)."""
    mi = details.get("method_info") or {}
    stages = mi.get("stages") or []
    if not stages:
        return ""
    parts = [
        f"{s.get('iterations', '?')} it ({s.get('stage', '')}"
        f"{'' if s.get('used', True) else ', skipped'})"
        for s in stages
    ]
    note = f"budget {mi.get('budget', '?')}: " + ", ".join(parts)
    return note + ("; " + mi["warning"] if mi.get("warning") else "")


def _machine_line(env: dict[str, Any]) -> str:
    return (
        f"Machine: {env.get('cpus')} CPUs, torch {env.get('torch')} with "
        f"{env.get('torch_threads')} threads, "
        f"load average at start {env.get('load_average_1_5_15')}"
        + (f", at end {env['load_average_end']}" if "load_average_end" in env else "")
        + (f"; total {env['total_seconds']:.0f} s" if "total_seconds" in env else "")
        + "."
    )


def _simulated_lines(result: BenchResult) -> list[str]:
    lines = [
        f"### Simulated thick slices (truth available), slice axis {result.settings.axis}",
        "",
        (
            "PSNR/SSIM/NRMSE inside the head mask against the isotropic truth; consistency = PSNR "
            "of A(output) against the thick-slice input (A: Gaussian slice profile, FWHM one "
            "slice). Seconds: wall-clock of the up-scaling (self-SR includes its own training); "
            "CPU: process CPU seconds; training: the supervised network's training on the MNI "
            "brain."
        ),
        "",
    ]
    rows = [
        [
            row.case,
            row.label,
            _f(row.psnr, 2),
            _f(row.ssim, 4),
            _f(row.nrmse, 4),
            f"{row.consistency_psnr:.1f}",
            f"{row.seconds:.1f}",
            f"{row.cpu_seconds:.1f}",
            _f(row.train_seconds, 0),
        ]
        for row in result.simulated
    ]
    header = [
        "scale",
        "method",
        "PSNR (dB)",
        "SSIM",
        "NRMSE",
        "consistency (dB)",
        "seconds",
        "CPU s",
        "training s",
    ]
    lines += markdown_table(header, [False, False] + [True] * 7, rows)
    notes = [f"{r.case} {r.label}: {r.note}" for r in result.simulated if r.note]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return lines + [""]


def _grid(shape: Sequence[int], spacing: Sequence[float]) -> str:
    return f"{'x'.join(map(str, shape))} @ " + "x".join(f"{v:.3g}" for v in spacing)


def _real_lines(result: BenchResult) -> list[str]:
    rows = []
    for scan in result.real:
        grid_in = _grid(scan.input_shape, scan.input_spacing)
        grid_out = _grid(scan.output_shape, scan.output_spacing)
        for row in scan.rows:
            u = scan.units[row.method]
            hu = " (HU, air " + format(u["air_hu"], ".0f") + ")" if u["hounsfield"] else ""
            rows.append(
                [
                    scan.name,
                    grid_in,
                    grid_out,
                    row.label,
                    f"{row.consistency_psnr:.1f}",
                    f"{row.seconds:.1f}",
                    f"{row.cpu_seconds:.1f}",
                    f"{u['output']['min']:.1f} / {u['output']['max']:.1f}",
                    f"{'ok' if u['ok'] else 'FAILED'}{hu}",
                ]
            )
    lines = ["### Real thick-slice scans (no truth)", ""]
    header = [
        "scan",
        "input grid (mm)",
        "output grid",
        "method",
        "consistency (dB)",
        "seconds",
        "CPU s",
        "output min / max",
        "units check",
    ]
    lines += markdown_table(header, [False] * 4 + [True] * 3 + [False] * 2, rows)
    notes = [
        f"{scan.name} {r.label}: {r.note}" for scan in result.real for r in scan.rows if r.note
    ]
    for scan in result.real:
        u = next(iter(scan.units.values()))
        if not u["hounsfield"]:
            outside = ", ".join(
                f"{m} {v['fraction_outside_band']:.1e}" for m, v in scan.units.items()
            )
            notes.append(
                f"{scan.name}: input {u['input_dtype']} in "
                f"[{u['input']['min']:g}, {u['input']['max']:g}] "
                "(not Hounsfield units): the check asks for the median and the background (1st "
                "percentile) kept within 3 % of the range and at most 0.1 % of the voxels outside "
                "the input range +- 10 % (overshoot); outside: " + outside
            )
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return lines + [""]


def markdown_report(result: BenchResult, *, title: str = "medsr medical comparison") -> str:
    """The tables of a run as Markdown (what ``results.md`` holds and the script prints)."""
    lines = [f"## {title}", "", _machine_line(result.environment), ""]
    if result.simulated:
        lines += _simulated_lines(result)
    if result.real:
        lines += _real_lines(result)
    if result.supervised:
        lines.append(
            "Supervised network: "
            + "; ".join(
                f"x{m.factor}: {m.steps} steps in {m.seconds:.0f} s ({m.cpu_seconds:.0f} CPU s)"
                for m in result.supervised
            )
            + "."
        )
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- files
def write_results(result: BenchResult, out_dir: str | Path) -> None:
    """Write ``results.json`` (:meth:`BenchResult.as_dict`) and ``results.md``
    (:func:`markdown_report`) to ``out_dir``, each atomically; their paths go to
    ``result.files``."""
    from medsr.io.atomic import atomic_path
    from medsr.jsonutil import write_json

    out = Path(out_dir)
    result.files["json"] = str(out / "results.json")
    result.files["markdown"] = str(out / "results.md")
    write_json(out / "results.json", result.as_dict())
    with atomic_path(out / "results.md") as tmp:
        Path(tmp).write_text(markdown_report(result), encoding="utf-8")
