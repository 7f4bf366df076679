"""``medsr info FILE``: what a scan or picture holds (grid, dtype, intensities, DICOM series).

A DICOM folder with several series is listed (one row per series) instead of read; pick one with
``--series UID``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from medsr.cli.app import app, console
from medsr.volume import Volume, plane_spacing, spacing_of

__all__ = ["default_upscale", "info", "summarize"]

_FORMAT_NAMES = {
    "nifti": "NIfTI",
    "dicom": "DICOM",
    "itk": "ITK (NRRD/MetaImage)",
    "image2d": "picture",
}


def _number(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def summarize(volume: Volume, path: Path | None = None) -> dict[str, Any]:
    """A JSON-ready description of a volume: grid, dtype, intensity statistics, NaN count.

    The spacing is the distance between consecutive voxel planes along each axis
    (:func:`medsr.volume.plane_spacing`): for a sheared grid (CT gantry tilt) the true slice
    spacing, not the length of the step between slice positions.
    """
    data = volume.data
    spacing = plane_spacing(volume.affine)
    finite = np.isfinite(data)
    n_nan = int(np.isnan(data).sum())
    n_inf = int(np.isinf(data).sum())
    values = data[finite] if (n_nan or n_inf) else data
    stats = (
        {
            "min": float(values.min()),
            "max": float(values.max()),
            "mean": float(values.mean(dtype=np.float64)),
        }
        if values.size
        else {"min": None, "max": None, "mean": None}
    )
    extra = volume.meta.extra
    series = None
    if extra.get("format") == "dicom":
        series = {
            "uid": extra.get("series_uid"),
            "description": extra.get("series_description"),
            "slices": extra.get("slices"),
            "files": extra.get("files"),
        }
    return {
        "path": str(path if path is not None else volume.meta.source),
        "format": extra.get("format"),
        "shape": list(volume.shape),
        "channels": volume.channels,
        "spacing_mm": [round(float(s), 6) for s in spacing],
        "field_of_view_mm": [round(float(s * n), 3) for s, n in zip(spacing, volume.shape)],
        "orientation": volume.orientation(),
        "affine": [[round(float(v), 6) for v in row] for row in volume.affine],
        "is_2d": bool(volume.meta.is_2d),
        "dtype": volume.meta.dtype,
        "slope": _number(volume.meta.slope),
        "intercept": _number(volume.meta.intercept),
        "modality": volume.meta.modality,
        **stats,
        "nan_count": n_nan,
        "inf_count": n_inf,
        "series": series,
        "notes": list(volume.meta.notes),
    }


def default_upscale(volume: Volume) -> dict[str, Any]:
    """What ``medsr upscale FILE -o OUT`` does with no options: the default target (isotropic at
    the finest spacing, :func:`medsr.infer.pipeline.resolve_target`) and method, or why there is
    nothing to do (``target`` None and a ``note``)."""
    from medsr.errors import MedsrError, OptionError
    from medsr.infer.methods import default_method
    from medsr.infer.pipeline import resolve_target

    if volume.meta.is_2d:
        return {"target": None, "note": "a picture has no finer spacing: give --factors (e.g. 2)"}
    try:
        target = resolve_target(volume)
    except MedsrError as exc:
        note = exc.as_flag() if isinstance(exc, OptionError) else str(exc)
        return {"target": None, "note": note}
    return {
        "target": {
            "shape": [int(n) for n in target.shape],
            "spacing_mm": [round(float(s), 6) for s in spacing_of(target.affine)],
            "factors": [round(float(f), 6) for f in target.factors],
        },
        "method": default_method(),
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def _print_summary(s: dict[str, Any]) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan")
    table.add_column()
    fmt = _FORMAT_NAMES.get(s["format"], s["format"] or "?")
    table.add_row("file", s["path"])
    table.add_row("format", fmt + (" (2-D)" if s["is_2d"] else ""))
    table.add_row(
        "shape",
        " x ".join(str(n) for n in s["shape"])
        + f"  (X x Y x Z), {s['channels']} channel"
        + ("s" if s["channels"] != 1 else ""),
    )
    table.add_row("spacing", " x ".join(f"{v:.4g}" for v in s["spacing_mm"]) + " mm")
    table.add_row("field of view", " x ".join(f"{v:.4g}" for v in s["field_of_view_mm"]) + " mm")
    table.add_row("orientation", f"{s['orientation']}  (RAS+ affine)")
    scaling = ""
    if (s["slope"], s["intercept"]) != (1.0, 0.0):
        scaling = f"  (stored x {s['slope']:g} + {s['intercept']:g})"
    table.add_row("dtype", f"{s['dtype']}{scaling}")
    table.add_row("modality", s["modality"] or "unknown")
    table.add_row(
        "intensity", f"min {_fmt(s['min'])}, max {_fmt(s['max'])}, mean {_fmt(s['mean'])}"
    )
    bad = s["nan_count"] + s["inf_count"]
    table.add_row(
        "NaN / Inf",
        f"{s['nan_count']} / {s['inf_count']}"
        + ("  [yellow](replace before super-resolution)[/]" if bad else ""),
    )
    if s["series"]:
        ser = s["series"]
        table.add_row(
            "series", f"{ser['uid']}  '{ser['description'] or ''}'  {ser['slices']} slices"
        )
    for note in s["notes"]:
        table.add_row("note", note)
    up = s.get("upscale_default")
    if up:
        if up["target"] is None:
            table.add_row("upscale default", up["note"])
        else:
            grid = up["target"]
            table.add_row(
                "upscale default",
                f"{up['method']} onto "
                + " x ".join(str(n) for n in grid["shape"])
                + " at "
                + " x ".join(f"{v:.4g}" for v in grid["spacing_mm"])
                + " mm (factors "
                + ",".join(f"{f:.4g}" for f in grid["factors"])
                + "); --spacing or --factors to choose",
            )
    console.print(table, highlight=False)


def _list_series(folder: Path, as_json: bool) -> bool:
    """Print the series of a DICOM folder holding more than one; False when it holds one or none."""
    from medsr.io.dicom import scan_folder, skipped_note

    found, skipped = scan_folder(folder)
    if len(found) < 2:
        return False
    note = skipped_note(skipped)
    if as_json:
        rows = [
            {
                "uid": s.uid,
                "description": s.description,
                "modality": s.modality,
                "files": len(s.files),
            }
            for s in found
        ]
        notes = [note] if note else []
        listing = {"path": str(folder), "format": "dicom", "series": rows, "notes": notes}
        typer.echo(json.dumps(listing, indent=2))
        return True
    skipped_text = f"; {note}" if note else ""
    table = Table(
        title=f"{folder}: {len(found)} DICOM series (read one with --series UID){skipped_text}"
    )
    for col in ("SeriesInstanceUID", "description", "modality", "files"):
        table.add_column(col)
    for s in found:
        table.add_row(s.uid, s.description, s.modality, str(len(s.files)))
    console.print(table, highlight=False)
    return True


@app.command()
def info(
    file: Path = typer.Argument(
        ..., help="A scan or picture (.nii.gz, .nrrd, .mha, .png, ...) or a DICOM folder."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    series: str | None = typer.Option(
        None, "--series", help="SeriesInstanceUID to read from a DICOM folder holding several."
    ),
    spacing_override: str | None = typer.Option(
        None, "--spacing-override", help="Voxel size in mm (X,Y,Z) to use instead of the header's."
    ),
    stack: str | None = typer.Option(
        None, "--stack", help="Stack of a DICOM multi-frame file holding several (number)."
    ),
) -> None:
    """Show shape, spacing, orientation, dtype, intensity range and NaN count of a file."""
    from medsr.io import read

    if file.is_dir() and series is None and _list_series(file, as_json):
        return
    volume = read(file, series=series, spacing_override=spacing_override, stack=stack)
    summary = {**summarize(volume, file), "upscale_default": default_upscale(volume)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
