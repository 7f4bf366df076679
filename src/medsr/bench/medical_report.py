"""``medsr benchmark medical``: the medical comparison in the result format of ``medsr benchmark``.

:func:`medsr.bench.medical.run_medical_benchmark` runs the review's kind of comparison (Li, Sixou
& Peyrin, IRBM 2021, Table 1: methods x scale -> PSNR / SSIM, eqs. 24-25) on CT/MRI: simulated
thick slices of an isotropic T1 with truth, and real thick-slice scans without truth.
:func:`run_medical` runs it into ``OUT/medical_work/`` (the supervised network's run folders, the
benchmark's own ``results.json`` / ``results.md``, ``real_scans.png``) and
:func:`medical_report` turns its :class:`~medsr.bench.report.BenchResult` into a
:class:`~medsr.bench.results.BenchmarkReport`: one row per method x case x factor (PSNR / SSIM /
NRMSE inside the head for the simulated case, none for the real scans; data consistency, wall and
CPU seconds as extra columns), the full result under ``details``, and the figures (PSNR against
time, the real-scan views) for ``report.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medsr.bench.medical import INTERPOLATIONS, BenchSettings
from medsr.bench.report import METHOD_LABELS, BenchResult
from medsr.bench.results import BenchmarkReport, Figure, ResultRow
from medsr.bench.supervised import SUPERVISED
from medsr.errors import OptionError
from medsr.volume import Volume

__all__ = ["WORK_DIR", "crops_figures", "default_medical_data", "medical_report", "run_medical"]

#: sub-folder of the output folder that holds the runs of the medical benchmark
WORK_DIR = "medical_work"

_MEDICAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "medical"
_TRUTH = "chris_t1.nii.gz"
_REAL = {"chris_PD": "chris_PD.nii.gz", "CT_pitch": "CT_pitch.nii.gz"}


def default_medical_data() -> Path:
    """The repository's scans folder (``../shared/data/medical``).

    Raises:
        OptionError: naming ``data`` when it is not there.
    """
    if not (_MEDICAL / _TRUTH).is_file():
        raise OptionError(
            f"no {_TRUTH} in {_MEDICAL}; give {{data}} FOLDER holding chris_t1.nii.gz "
            "(and chris_PD.nii.gz, CT_pitch.nii.gz for the real scans)"
        )
    return _MEDICAL


def _kind(method: str) -> str:
    if method in INTERPOLATIONS:
        return "interpolation"
    return "network" if method == SUPERVISED else "self-supervised"


def medical_report(
    result: BenchResult, *, truth_name: str = "chris_t1", command: str = ""
) -> BenchmarkReport:
    """The rows, notes and figures of a medical run in the common format."""
    from medsr.bench.report import markdown_report

    report = BenchmarkReport(
        kind="medical",
        title="medsr benchmark medical: thick-slice CT/MRI (review Table 1 kind of comparison)",
        command=command,
        settings={
            k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(result.settings).items()
        },
        environment=dict(result.environment),
        details=result.as_dict(),
    )
    for r in result.simulated:
        report.rows.append(
            ResultRow(
                method=r.method,
                label=METHOD_LABELS.get(r.method, r.method),
                kind=_kind(r.method),
                dataset=f"{truth_name} (simulated thick slices)",
                scale=float(r.case.lstrip("x")),
                psnr=r.psnr,
                ssim=r.ssim,
                seconds=r.seconds,
                mode="3d, inside the head",
                note=r.note,
                extra={
                    "nrmse": r.nrmse,
                    "consistency_db": r.consistency_psnr,
                    "cpu_seconds": r.cpu_seconds,
                    "train_seconds": r.train_seconds,
                },
            )
        )
    for scan in result.real:
        for r in scan.rows:
            units = scan.units.get(r.method, {})
            report.rows.append(
                ResultRow(
                    method=r.method,
                    label=METHOD_LABELS.get(r.method, r.method),
                    kind=_kind(r.method),
                    dataset=f"{scan.name} (real scan, no truth)",
                    scale=round(max(scan.factors), 3),
                    psnr=None,
                    ssim=None,
                    seconds=r.seconds,
                    mode="3d",
                    note=r.note,
                    extra={
                        "consistency_db": r.consistency_psnr,
                        "cpu_seconds": r.cpu_seconds,
                        "units_ok": units.get("ok"),
                    },
                )
            )
    report.notes.append(
        "simulated: PSNR / SSIM / NRMSE inside the head against the isotropic truth; "
        "consistency: PSNR of A(output) against the thick-slice input; seconds: wall time of the "
        "whole up-scaling (self-SR includes its own training)"
    )
    report.details["markdown"] = markdown_report(result)
    return report


def crops_figures(
    volumes: dict[int, dict[str, Volume]], report: BenchmarkReport, *, axis: int = 2
) -> list[Figure]:
    """One figure per simulated factor: a section containing the slice ``axis`` through the head
    centre, showing the thick-slice input (nearest neighbour, what a viewer shows), cubic, every
    other method and the truth, the window where cubic errs most magnified, and |error| maps."""
    from medsr.bench.report_figures import crops_figure
    from medsr.bench.selfsr import head_centre
    from medsr.interpolate import zoom_array

    figures = []
    for factor, vols in sorted(volumes.items()):
        if "truth" not in vols:
            continue
        truth_vol = vols["truth"]
        across = next(a for a in range(3) if a != axis)  # the plane holds the slice axis
        centre = head_centre(truth_vol)[across]

        def cut(vol: Volume, *, centre: int = centre, across: int = across) -> np.ndarray:
            return np.rot90(np.take(np.asarray(vol.data[0], np.float64), centre, axis=across))

        truth = cut(truth_vol)
        shown = vols.get("nearest")
        if shown is None:
            lr = np.asarray(vols["input"].data, np.float32)
            up = zoom_array(lr, np.divide(truth_vol.shape, vols["input"].shape), "nearest")
            shown = truth_vol.with_data(up) if up.shape[1:] == truth_vol.shape else truth_vol
        names = [m for m in ("cubic",) if m in vols] + [
            m for m in vols if m not in ("truth", "input", "nearest", "cubic")
        ]
        dataset = next((r.dataset for r in report.rows if r.psnr is not None), "")
        scores = {
            METHOD_LABELS.get(r.method, r.method): (r.psnr, r.ssim)
            for r in report.rows
            if r.scale == factor and r.psnr is not None and r.dataset == dataset
        }
        lo, hi = (float(v) for v in np.percentile(truth, [0.5, 99.8]))
        png = crops_figure(
            truth,
            cut(shown),
            {METHOD_LABELS.get(m, m): cut(vols[m]) for m in names},
            int(factor),
            scores=scores,
            title=f"{dataset} x{factor}: section across the thick slices (slice axis vertical)",
            inset=40,
            display_range=(lo, hi),
            error_max=0.25 * (hi - lo),
            input_label="thick-slice input",
        )
        figures.append(
            Figure(
                f"crops-x{factor}",
                f"Crops: simulated thick slices, x{factor}",
                "A section through the head centre that contains the slice axis: the thick-slice "
                "input (nearest neighbour), cubic, each method and the truth, the window where "
                "cubic errs most magnified; below, |error| against the truth (up to a quarter of "
                "the display range). Titles: PSNR / SSIM of the whole volume inside the head.",
                png,
            )
        )
    return figures


def _figures(
    report: BenchmarkReport, work: Path, volumes: dict[int, dict[str, Volume]], axis: int
) -> None:
    from medsr.bench.report_figures import cost_chart

    simulated = [r for r in report.rows if r.psnr is not None]
    if simulated:
        report.figures.append(
            Figure(
                "cost",
                "PSNR against time",
                "PSNR inside the head of each method per factor (bars ordered by wall time of "
                "the up-scaling; grey: interpolation).",
                cost_chart(
                    simulated,
                    title="PSNR inside the head against the wall time of the up-scaling (bars "
                    "ordered by time; annotation: time)",
                ),
            )
        )
    report.figures += crops_figures(volumes, report, axis=axis)
    png = work / "real_scans.png"
    if png.is_file():
        report.figures.append(
            Figure(
                "real-scans",
                "Real thick-slice scans",
                "Through-plane views of each real scan: input (nearest), cubic B-spline and "
                "self-SR, with the marked window magnified.",
                png.read_bytes(),
            )
        )


def run_medical(
    data: str | Path | None,
    out_dir: str | Path,
    settings: BenchSettings,
    *,
    simulated: bool = True,
    real: bool = True,
    command: str = "",
    log: Any = None,
) -> BenchmarkReport:
    """Run the medical comparison on the scans of ``data`` (default
    :func:`default_medical_data`) into ``out_dir/medical_work`` and return its report."""
    from medsr.bench.medical import run_medical_benchmark

    folder = Path(data) if data is not None else default_medical_data()
    truth = folder / _TRUTH if simulated else None
    reals = {k: folder / v for k, v in _REAL.items()} if real else {}
    missing = [str(p) for p in ([truth] if truth else []) + list(reals.values()) if not p.is_file()]
    if missing:
        raise OptionError(f"scans not found: {', '.join(missing)}; give their folder with {{data}}")
    if truth is None and not reals:
        raise OptionError("nothing to run: {no_simulated} and {no_real} together")
    work = Path(out_dir) / WORK_DIR
    volumes: dict[int, dict[str, Volume]] = {}
    result = run_medical_benchmark(truth, reals, work, settings, log=log, volumes=volumes)
    report = medical_report(result, command=command)
    _figures(report, work, volumes, settings.axis)
    return report
