"""The one result format of ``medsr benchmark`` (Table 1 on natural images and the medical
comparison): rows, per-image scores, figures, and the files of the output folder.

The review compares methods in a table of PSNR / SSIM per dataset and scale (Li, Sixou & Peyrin,
IRBM 2021, Table 1; metrics section 2.3, eqs. 24-25). Both benchmarks fill a
:class:`BenchmarkReport`: one :class:`ResultRow` per method x set x scale (with the published
score, the difference, and the method's cost), the per-image scores, PNG figures and notes.
:func:`write_report` writes, as one atomic commit (:func:`medsr.io.atomic.atomic_group`):

* ``results.json``: everything (:func:`medsr.jsonutil.write_json` rules: NaN -> null);
* ``results.csv``: one line per method x set x scale (:data:`CSV_COLUMNS`, then the extra
  columns of the benchmark);
* ``report.md``: the tables as Markdown (:func:`markdown_report`);
* ``report.html``: one self-contained page, figures embedded (:mod:`medsr.bench.html`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CSV_COLUMNS",
    "EXTRA_COLUMNS",
    "OUTPUT_FILES",
    "OVERVIEW_HEADING",
    "BenchmarkReport",
    "Figure",
    "ImageScoreRow",
    "ResultRow",
    "check_output",
    "csv_text",
    "markdown_report",
    "markdown_rows",
    "write_report",
]

#: the heading of the overview table in ``report.md`` (the README copies the table below it)
OVERVIEW_HEADING = "## Overview: PSNR (dB) / SSIM"

#: the files :func:`write_report` writes into the output folder
OUTPUT_FILES: tuple[str, ...] = ("results.json", "results.csv", "report.md", "report.html")

#: the fixed columns of ``results.csv`` (extra columns follow, sorted by name)
CSV_COLUMNS: tuple[str, ...] = (
    "method",
    "label",
    "kind",
    "dataset",
    "scale",
    "psnr",
    "ssim",
    "published_psnr",
    "published_ssim",
    "delta_psnr",
    "delta_ssim",
    "published_source",
    "params",
    "flops",
    "latency_ms",
    "peak_memory_mib",
    "seconds",
    "mode",
    "note",
)


@dataclass
class ResultRow:
    """One method on one set at one scale.

    Attributes:
        method: the method's key (``bicubic``, a registry name, ``self``, ...).
        label: its name in the tables.
        kind: ``interpolation``, ``network`` or ``self-supervised``.
        dataset: the test set (``Set5``) or case (``chris_t1 (simulated)``).
        scale: the up-sampling factor.
        psnr, ssim: mean scores over the set (None without truth).
        published_psnr, published_ssim, published_source: the paper's numbers
            (:mod:`medsr.bench.published`), None when no paper gives one.
        params, flops, latency_ms, peak_memory_mib: the cost on one LR input
            (:mod:`medsr.bench.cost`; ``cost_input`` in the report says which).
        seconds: wall time of the whole set.
        mode: the evaluation protocol (``y`` / ``rgb`` of :mod:`medsr.metrics.protocol`, or
            ``3d``).
        note: one line shown under the table.
        extra: more columns of one benchmark (NRMSE, consistency, ...).
    """

    method: str
    label: str
    kind: str
    dataset: str
    scale: float
    psnr: float | None
    ssim: float | None
    published_psnr: float | None = None
    published_ssim: float | None = None
    published_source: str = ""
    params: int | None = None
    flops: float | None = None
    latency_ms: float | None = None
    peak_memory_mib: float | None = None
    seconds: float | None = None
    mode: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def delta_psnr(self) -> float | None:
        """Measured minus published PSNR (dB), None when either is missing."""
        if self.psnr is None or self.published_psnr is None:
            return None
        return float(self.psnr) - float(self.published_psnr)

    @property
    def delta_ssim(self) -> float | None:
        """Measured minus published SSIM, None when either is missing."""
        if self.ssim is None or self.published_ssim is None:
            return None
        return float(self.ssim) - float(self.published_ssim)

    def as_dict(self) -> dict[str, Any]:
        """The row with its differences, extra columns flattened in."""
        out = asdict(self)
        extra = out.pop("extra")
        out["delta_psnr"], out["delta_ssim"] = self.delta_psnr, self.delta_ssim
        return {**out, **extra}


@dataclass(frozen=True)
class ImageScoreRow:
    """The score of one method on one image."""

    method: str
    dataset: str
    scale: float
    image: str
    psnr: float
    ssim: float


@dataclass
class Figure:
    """A PNG figure of the report (kept in memory; the HTML page embeds it)."""

    key: str
    title: str
    caption: str
    png: bytes = field(repr=False)


@dataclass
class BenchmarkReport:
    """Everything one ``medsr benchmark`` run measured."""

    kind: str
    title: str
    rows: list[ResultRow] = field(default_factory=list)
    images: list[ImageScoreRow] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    command: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def datasets(self) -> list[str]:
        """The sets in the order they first appear."""
        return list(dict.fromkeys(r.dataset for r in self.rows))

    def scales(self) -> list[float]:
        """The scales in increasing order."""
        return sorted({r.scale for r in self.rows})

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (figures by key, title and caption; their pixels go to the HTML)."""
        from medsr.jsonutil import to_jsonable

        return to_jsonable(
            {
                "kind": self.kind,
                "title": self.title,
                "command": self.command,
                "settings": self.settings,
                "environment": self.environment,
                "rows": [r.as_dict() for r in self.rows],
                "images": [asdict(i) for i in self.images],
                "figures": [
                    {"key": f.key, "title": f.title, "caption": f.caption} for f in self.figures
                ],
                "notes": self.notes,
                "details": self.details,
            }
        )


# ---------------------------------------------------------------------- formatting
def fmt(value: Any, digits: int = 2, *, signed: bool = False) -> str:
    """A number for a table cell ("" for None / NaN; ints with thousands separators)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return ""
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def flops_text(flops: float | None) -> str:
    """FLOPs in G (or M below 0.1 G)."""
    if flops is None:
        return ""
    return f"{flops / 1e9:.2f} G" if flops >= 1e8 else f"{flops / 1e6:.1f} M"


def _scale_text(scale: float) -> str:
    return f"x{int(scale)}" if float(scale).is_integer() else f"x{scale:g}"


#: the columns of the main tables: (header, right-aligned, cell function)
_TABLE = (
    ("method", False, lambda r: r.label),
    ("PSNR (dB)", True, lambda r: fmt(r.psnr, 2)),
    ("SSIM", True, lambda r: fmt(r.ssim, 4)),
    (
        "published PSNR / SSIM",
        True,
        lambda r: (
            ""
            if r.published_psnr is None
            else f"{r.published_psnr:.2f} / {fmt(r.published_ssim, 4) or '-'}"
        ),
    ),
    ("difference (dB)", True, lambda r: fmt(r.delta_psnr, 2, signed=True)),
    ("params", True, lambda r: fmt(r.params)),
    ("FLOPs", True, lambda r: flops_text(r.flops)),
    ("latency (ms)", True, lambda r: fmt(r.latency_ms, 1)),
    ("peak memory (MiB)", True, lambda r: fmt(r.peak_memory_mib, 1)),
    ("seconds (set)", True, lambda r: fmt(r.seconds, 1)),
)

#: headers and digits of the extra columns medsr's benchmarks use (others: the key, 2 digits)
EXTRA_COLUMNS: dict[str, tuple[str, int]] = {
    "nrmse": ("NRMSE", 4),
    "consistency_db": ("consistency (dB)", 1),
    "cpu_seconds": ("CPU s", 1),
    "train_seconds": ("training s", 0),
    "units_ok": ("units check", 0),
}


def _extra_cell(row: ResultRow, key: str) -> str:
    value = row.extra.get(key)
    if isinstance(value, bool):
        return "ok" if value else "FAILED"
    return fmt(value, EXTRA_COLUMNS.get(key, (key, 2))[1])


def table_columns(report: BenchmarkReport) -> list[tuple[str, bool, Any]]:
    """The main table's columns, then the extra columns of the benchmark (``extra`` keys); empty
    columns are dropped."""
    extra_keys = list(dict.fromkeys(k for r in report.rows for k in r.extra))
    cols = list(_TABLE) + [
        (EXTRA_COLUMNS.get(k, (k.replace("_", " "), 2))[0], True, lambda r, k=k: _extra_cell(r, k))
        for k in extra_keys
    ]
    return [c for c in cols if c[0] == "method" or any(c[2](r) for r in report.rows)]


def grouped_rows(report: BenchmarkReport) -> list[tuple[str, float, list[ResultRow]]]:
    """``(dataset, scale, rows)`` for each table of the report, in order."""
    out = []
    for dataset in report.datasets():
        for scale in report.scales():
            rows = [r for r in report.rows if r.dataset == dataset and r.scale == scale]
            if rows:
                out.append((dataset, scale, rows))
    return out


def markdown_rows(report: BenchmarkReport, rows: Sequence[ResultRow]) -> list[str]:
    """One Markdown table of ``rows``."""
    cols = table_columns(report)
    lines = [
        "| " + " | ".join(c[0] for c in cols) + " |",
        "| " + " | ".join("---:" if c[1] else "---" for c in cols) + " |",
    ]
    for r in rows:
        lines.append("| " + " | ".join(str(c[2](r)).replace("|", "/") for c in cols) + " |")
    return lines


def overview(report: BenchmarkReport) -> tuple[list[str], list[list[str]]]:
    """The review's Table-1 layout: one line per method, one column per set and scale holding
    "PSNR / SSIM" (only the columns with a score); ``([], [])`` when nothing was scored."""
    columns = [
        (d, s) for d, s, rows in grouped_rows(report) if any(r.psnr is not None for r in rows)
    ]
    if not columns:
        return [], []
    header = ["method"] + [f"{d} {_scale_text(s)}" for d, s in columns]
    cells = {(r.label, r.dataset, r.scale): r for r in report.rows}
    lines = []
    for label in dict.fromkeys(r.label for r in report.rows):
        line = [label]
        for d, s in columns:
            r = cells.get((label, d, s))
            line.append("" if r is None or r.psnr is None else f"{r.psnr:.2f} / {fmt(r.ssim, 4)}")
        if any(line[1:]):
            lines.append(line)
    return header, lines


def markdown_report(report: BenchmarkReport) -> str:
    """The report as Markdown: the command, the overview (PSNR / SSIM per method, set and scale),
    one detailed table per set and scale, the notes."""
    lines = [f"# {report.title}", ""]
    if report.command:
        lines += ["Generated by:", "", f"    {report.command}", ""]
    env = report.environment
    if env:
        lines += [
            (
                f"Machine: {env.get('cpus')} CPUs, torch {env.get('torch')} with "
                f"{env.get('torch_threads')} threads, load average at start "
                f"{env.get('load_average_1_5_15')}, at end {env.get('load_average_end')}."
            ),
            "",
        ]
    cost = report.settings.get("cost_input")
    if cost:
        lines += [f"Cost columns: {cost}.", ""]
    header, body = overview(report)
    if body:
        lines += [OVERVIEW_HEADING, ""]
        lines += ["| " + " | ".join(header) + " |"]
        lines += ["| --- |" + " ---: |" * (len(header) - 1)]
        lines += ["| " + " | ".join(line) + " |" for line in body] + [""]
    for dataset, scale, rows in grouped_rows(report):
        lines += [f"## {dataset} {_scale_text(scale)}", ""]
        lines += markdown_rows(report, rows) + [""]
    notes = report.notes + [
        f"{r.dataset} {_scale_text(r.scale)} {r.label}: {r.note}" for r in report.rows if r.note
    ]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    if report.figures:
        lines += [
            "Figures: see report.html (" + ", ".join(f.title for f in report.figures) + ")",
            "",
        ]
    return "\n".join(lines)


def csv_text(report: BenchmarkReport) -> str:
    """``results.csv``: :data:`CSV_COLUMNS`, then the extra columns; one line per row."""
    dicts = [r.as_dict() for r in report.rows]
    extra = sorted({k for d in dicts for k in d} - set(CSV_COLUMNS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS) + extra, lineterminator="\n")
    writer.writeheader()
    for d in dicts:
        writer.writerow({k: ("" if d.get(k) is None else d.get(k)) for k in writer.fieldnames})
    return buffer.getvalue()


# ---------------------------------------------------------------------- files
def check_output(out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Refuse, before any work, an output folder that is a file or already holds the report
    (without ``overwrite``); create the folder."""
    from medsr.errors import MedsrError
    from medsr.io.atomic import check_targets

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise MedsrError(f"{out} is a file; give a folder for the benchmark report")
    if out.is_dir():
        check_targets([out / n for n in OUTPUT_FILES], overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_report(
    report: BenchmarkReport, out_dir: str | Path, *, overwrite: bool = False
) -> dict[str, Path]:
    """Write :data:`OUTPUT_FILES` into ``out_dir`` as one commit (all or none); returns their
    paths by name."""
    from medsr.bench.html import render_html
    from medsr.io.atomic import atomic_group
    from medsr.jsonutil import write_json

    out = check_output(out_dir, overwrite=overwrite)
    targets = [out / n for n in OUTPUT_FILES]
    with atomic_group(targets, overwrite=overwrite) as staged:
        write_json(staged[0], report.as_dict())
        staged[1].write_text(csv_text(report), encoding="utf-8")
        staged[2].write_text(markdown_report(report), encoding="utf-8")
        staged[3].write_text(render_html(report), encoding="utf-8")
    return dict(zip(OUTPUT_FILES, targets))
