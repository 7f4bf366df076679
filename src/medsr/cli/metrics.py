"""`medsr metrics REF TEST`: PSNR, SSIM, NRMSE and MAE of an image against its reference.

Thin: reads both images with :func:`medsr.io.read`, checks they share a grid, calls
:mod:`medsr.metrics`, prints a table (or JSON).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from medsr.cli.app import app, console
from medsr.errors import MedsrError


def _read(path: Path, series: str | None = None) -> Any:
    """Read an image as a :class:`medsr.volume.Volume` (one seam, so tests can stand in a
    reader)."""
    from medsr.io import format_of, read

    # --series applies to whichever input is a DICOM folder
    return read(str(path), series=series if format_of(path) == "dicom" else None)


def _check_grid(ref: Any, test: Any, ignore_grid: bool) -> None:
    if ref.data.shape != test.data.shape:
        raise MedsrError(
            f"images differ in shape: reference {tuple(ref.data.shape)} vs test "
            f"{tuple(test.data.shape)} (C, X, Y, Z); compare images on the same grid"
        )
    if not ignore_grid and not np.allclose(ref.affine, test.affine, atol=1e-3):
        raise MedsrError(
            "images have the same shape but different grids (affines differ); resample one onto "
            "the other, or pass --ignore-grid if you know they are aligned"
        )


def _spatial(data: np.ndarray) -> np.ndarray:
    """(X, Y, Z) -> (X, Y) for 2D images (Z == 1), else unchanged."""
    return data[..., 0] if data.shape[-1] == 1 else data


def _table1(ref: Any, test: Any, scale: int) -> dict[str, Any]:
    from medsr.metrics.protocol import modcrop, table1_evaluate, to_uint8

    if ref.data.shape[-1] != 1 or test.data.shape[-1] != 1:
        raise MedsrError("--protocol table1 is for 2D images (PNG, BMP...); got a 3D volume")
    if ref.data.shape[0] not in (1, 3):
        raise MedsrError(
            "--protocol table1 needs grey or RGB images, "
            f"the reference has {ref.data.shape[0]} channels"
        )

    def hwc(vol: Any) -> np.ndarray:
        img = np.moveaxis(vol.data[..., 0], 0, -1)  # (C, X, Y) -> (rows, cols, C)
        return img[..., 0] if img.shape[-1] == 1 else img

    hr = hwc(ref)
    if float(hr.min()) < 0 or float(hr.max()) > 255:
        raise MedsrError("--protocol table1 needs an 8-bit reference (values 0..255)")
    hr = modcrop(to_uint8(hr), scale)
    sr = hwc(test)
    if sr.shape != hr.shape:
        sr = modcrop(sr, scale)
    p, s = table1_evaluate(hr, sr, scale)
    return {"protocol": "table1", "scale": scale, "psnr": p, "ssim": s}


def _generic(ref: Any, test: Any, mask_vol: Any, data_range: float | None) -> dict[str, Any]:
    from medsr.metrics import mae, nrmse, psnr, ssim

    a = ref.data.astype(np.float64)
    b = test.data.astype(np.float64)
    source = "given"
    if data_range is None:
        data_range = float(a.max() - a.min())
        source = "reference"
        if data_range <= 0:
            raise MedsrError("the reference is constant (max == min); give --data-range")
    mask_sp = None
    if mask_vol is not None:
        m = mask_vol.data
        if m.shape[1:] != a.shape[1:]:
            raise MedsrError(
                f"mask grid {tuple(m.shape[1:])} differs from the images' {tuple(a.shape[1:])}; "
                "give a mask on the same grid"
            )
        mask_sp = np.any(m != 0, axis=0)
    mask_full = None if mask_sp is None else np.broadcast_to(mask_sp, a.shape)
    result: dict[str, Any] = {
        "shape": list(a.shape),
        "data_range": data_range,
        "data_range_source": source,
        "psnr": psnr(a, b, data_range=data_range, mask=mask_full),
        "nrmse": nrmse(a, b, mask=mask_full),
        "mae": mae(a, b, mask=mask_full),
    }
    try:
        m2 = None if mask_sp is None else _spatial(mask_sp)
        result["ssim"] = float(
            np.mean(
                [
                    ssim(_spatial(ca), _spatial(cb), data_range=data_range, mask=m2)
                    for ca, cb in zip(a, b)
                ]
            )
        )
    except MedsrError as exc:  # e.g. a volume thinner than the SSIM window: report the rest
        result["ssim"] = None
        result["ssim_note"] = str(exc)
    return result


@app.command("metrics")
def metrics_command(
    ref: Path = typer.Argument(..., help="Reference (ground-truth) image."),
    test: Path = typer.Argument(..., help="Image to score, on the same grid."),
    mask: Path | None = typer.Option(
        None, "--mask", help="Mask image: only non-zero voxels count."
    ),
    data_range: float | None = typer.Option(
        None, "--data-range", help="Dynamic range R of PSNR/SSIM (default: reference max - min)."
    ),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        help="'table1': the SR benchmark protocol (Y channel, border crop, 8-bit).",
    ),
    scale: int | None = typer.Option(None, "--scale", help="SR factor for --protocol table1."),
    ignore_grid: bool = typer.Option(False, "--ignore-grid", help="Do not compare the affines."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    series: str | None = typer.Option(
        None,
        "--series",
        help="SeriesInstanceUID (or a unique prefix) when a DICOM folder holds several series.",
    ),
) -> None:
    """PSNR, SSIM (Wang et al. 2004), NRMSE and MAE of TEST against REF."""
    for p in (ref, test) + ((mask,) if mask is not None else ()):
        if not p.exists():
            raise MedsrError(f"{p} does not exist; check the path")
    if data_range is not None and not (np.isfinite(data_range) and data_range > 0):
        raise MedsrError(
            "--data-range must be a positive number such as 255 (8-bit) or 4095 (12-bit), "
            f"got {data_range:g}"
        )
    ref_vol = _read(ref, series)
    test_vol = _read(test, series)
    for vol, p in ((ref_vol, ref), (test_vol, test)):
        bad = int(np.size(vol.data) - np.count_nonzero(np.isfinite(vol.data)))
        if bad:
            raise MedsrError(
                f"{p} holds {bad} NaN/Inf voxels; replace them (e.g. with 0) before measuring"
            )
    if protocol is not None:
        if protocol.lower() != "table1":
            raise MedsrError(f"unknown protocol {protocol!r}; the only one is 'table1'")
        if scale is None:
            raise MedsrError("--protocol table1 needs --scale (2, 3 or 4)")
        if mask is not None or data_range is not None:
            raise MedsrError(
                "--protocol table1 fixes the data range (255) and uses no mask; "
                "drop --mask/--data-range"
            )
        if ref_vol.data.shape[0] != test_vol.data.shape[0]:
            raise MedsrError(
                f"reference has {ref_vol.data.shape[0]} channels "
                f"and test {test_vol.data.shape[0]}; score images of the same kind"
            )
        result = _table1(ref_vol, test_vol, scale)
    else:
        if scale is not None:
            raise MedsrError("--scale only applies with --protocol table1")
        _check_grid(ref_vol, test_vol, ignore_grid)
        mask_vol = _read(mask) if mask is not None else None
        result = _generic(ref_vol, test_vol, mask_vol, data_range)
        result["mask"] = None if mask is None else str(mask)
    result["reference"] = str(ref)
    result["test"] = str(test)

    if as_json:
        from medsr.jsonutil import to_jsonable

        clean = to_jsonable(result, nonfinite="string")  # inf as "inf"
        typer.echo(json.dumps(clean, indent=2))  # plain JSON (no rich wrapping)
        return
    if result.get("data_range_source") == "reference":
        console.print(
            f"data range taken from reference: {result['data_range']:g} (max - min); "
            "set it with --data-range"
        )
    title = f"Table 1 protocol, x{scale}" if protocol else "metrics"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("PSNR (dB)", f"{result['psnr']:.4f}")
    table.add_row("SSIM", "n/a" if result["ssim"] is None else f"{result['ssim']:.4f}")
    if "nrmse" in result:
        table.add_row("NRMSE", f"{result['nrmse']:.6g}")
        table.add_row("MAE", f"{result['mae']:.6g}")
    console.print(table)
    if result.get("ssim_note"):
        console.print(f"SSIM not computed: {result['ssim_note']}")
