"""``medsr upscale``: the main job. Thin: parse options, call :mod:`medsr.infer`, print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from medsr.cli.app import app, console, err_console
from medsr.cli.progress import RichProgress, progress_bar
from medsr.errors import MedsrError

_AXES = {"x": 0, "y": 1, "z": 2, "0": 0, "1": 1, "2": 2}


def _axis(value: str | None) -> int | None:
    if value is None:
        return None
    if value.lower() not in _AXES:
        raise MedsrError(f"--axis must be 0, 1, 2 (or x, y, z), got {value!r}")
    return _AXES[value.lower()]


def _planes(value: str | None) -> Any:
    if value is None:
        return None
    if value.lower() in ("all", "auto"):
        return "all"
    return [_axis(v.strip()) for v in value.split(",") if v.strip()]


def _ints(value: str | None, name: str) -> Any:
    """Whole numbers like ``64`` or ``64,64,32`` (:func:`medsr.volume.parse_numbers`)."""
    from medsr.volume import parse_numbers

    if value is None:
        return None
    items = parse_numbers(value, name, integer=True)
    return items[0] if len(items) == 1 else list(items)


def _options(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise MedsrError(f"--option takes key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _summary(sidecar: dict[str, Any]) -> str:
    c = sidecar["consistency"]
    psnr = c.get("psnr_db_stored", c.get("psnr_db"))
    psnr_text = f"{psnr:.1f} dB" if isinstance(psnr, float) else str(psnr)
    shape = "x".join(map(str, sidecar["geometry"]["output"]["shape"]))
    spacing = ",".join(f"{v:.4g}" for v in sidecar["geometry"]["output"]["spacing"])
    clipped = f", {sidecar['clipped_voxels']} voxels clipped" if sidecar["clipped_voxels"] else ""
    figure = f"; figure {sidecar['figure']}" if sidecar.get("figure") else ""
    return f"{shape} at {spacing} mm, consistency {psnr_text}{clipped}{figure}"


def _print_notes(sidecar: dict[str, Any]) -> None:
    """What reading or writing changed (alpha dropped, sform only, ...), also in the sidecar."""
    for note in sidecar.get("notes", []):
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@app.command()
def upscale(
    inputs: list[str] = typer.Argument(
        ..., metavar="IN...", help="Scan file, DICOM folder, folder of scans, or glob (quote it)."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Output file (one input) or existing folder."
    ),
    spacing: str | None = typer.Option(
        None,
        "--spacing",
        help="Target voxel size in mm: 1 or 1,1,1 (default: isotropic at the finest spacing).",
    ),
    factors: str | None = typer.Option(
        None, "--factors", help="Per-axis factors, e.g. 1,1,4 (2.5 works)."
    ),
    method: str | None = typer.Option(
        None,
        "--method",
        help="nearest | linear | cubic | bspline | lanczos | self | dip "
        "(default: self, self-supervised SR that needs no training data; a 2D picture: the "
        "shipped edsr at its factor, or bspline when none fits).",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Architecture name (checked against model.json); without --weights, the weights "
        "shipped with medsr for --factors (see `medsr models`).",
    ),
    weights: Path | None = typer.Option(
        None, "--weights", help="model.safetensors (model.json beside it)."
    ),
    onnx: Path | None = typer.Option(
        None, "--onnx", help="ONNX file from `medsr export` (onnxruntime)."
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="Registered image of another contrast (e.g. T1) for a multi-contrast network "
        "(--weights); resampled onto the output grid through both affines.",
    ),
    tile: str | None = typer.Option(
        None, "--tile", help="Window in input voxels: 64 or 64,64,32."
    ),
    overlap: int = typer.Option(8, "--overlap", help="Window overlap in input voxels."),
    blend: str = typer.Option("hann", "--blend", help="Window blending: hann or gaussian."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", help="Windows/slices per forward pass."
    ),
    axis: str | None = typer.Option(
        None, "--axis", help="2D networks: slicing axis 0|1|2 (x|y|z)."
    ),
    planes: str | None = typer.Option(
        None, "--planes", help="2D networks: average several slicing axes, e.g. 0,1 or all."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    ensemble: bool = typer.Option(
        False, "--ensemble", help="Self-ensemble (flips/transposes averaged)."
    ),
    dtype: str | None = typer.Option(
        None, "--dtype", help="Output dtype (default: the input's)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    figure: bool = typer.Option(
        False, "--figure",
        help="Also write OUT.png: the input beside the result in three orientations, at their "
        "physical size (a quick look).",
    ),
    series: str | None = typer.Option(
        None, "--series", help="SeriesInstanceUID in a DICOM folder."
    ),
    stack: str | None = typer.Option(
        None, "--stack", help="Stack of a DICOM multi-frame file holding several (number)."
    ),
    out_format: str | None = typer.Option(
        None,
        "--format",
        help="dicom: a derived DICOM series in the folder -o; dicom-enhanced: one multi-frame "
        "-o FILE.dcm (default: from -o's name).",
    ),
    anonymise: bool = typer.Option(
        False, "--anonymise", help="DICOM output: remove patient and study identity."
    ),
    spacing_override: str | None = typer.Option(
        None,
        "--spacing-override",
        help="Input voxel size in mm (X,Y,Z) to use instead of the header's.",
    ),
    max_memory: str = typer.Option(
        "4GB", "--max-memory", help="Larger outputs (and NIfTI inputs) go to memory-mapped files."
    ),
    enforce_consistency: bool = typer.Option(
        False, "--enforce-consistency", help="Iterative back-projection onto the acquired data."
    ),
    ibp_iterations: int = typer.Option(3, "--ibp-iterations", help="Back-projection iterations."),
    consistency_profile: str = typer.Option(
        "gaussian",
        "--consistency-profile",
        help="Slice profile of the check: gaussian (FWHM 1 voxel) or rect.",
    ),
    finish: str = typer.Option(
        "cubic", "--finish", help="Interpolation for non-integer factor remainders."
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        help="Method option key=value (repeatable). self: arch, preset, profile, slice_thickness, "
        "slice_gap, iterations, budget, patch, patch_shape (square|area), batch, lr, "
        "orientations, anti_alias, saa_order, "
        "threads, model_kwargs, ensemble (flip self-ensemble, default true), fusion (fba|mean: "
        "of the two orientations), fusion_power, sampling, init (auto|prior|none: start from the "
        "shipped pre-trained self-SR network), pair_axes (all|matched), patch_budget, views "
        "(axes|diagonals: also the planes along the in-plane voxel diagonals), back_project "
        "(default false; true: the output is corrected to re-acquire to the scan), phase_align "
        "and pair_phases (default true: train and apply at one phase of the slices, pairs at "
        "every position of the sampling lattice), precision (auto|fp32|bf16: auto is bf16 on "
        "CPUs with native bfloat16, AMX or AVX-512 BF16), members (networks trained side by "
        "side, one per core, averaged; default 2), member_processes, blend_prior (auto|none: "
        "the pre-trained prior averaged in on the planes no training pair resembles), "
        "pair_scales (auto|none: also pairs at the coarse in-plane spacing), self_training "
        "(auto|none, default none: on such grids a second pass learns the fine axis's planes "
        "from the first pass's output). "
        "dip: iterations, budget, width, depth, skip, lr, operator, profile, slice_thickness, "
        "slice_gap, noise_std, patience, ema, threads.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed for self/dip."),
    budget: float | None = typer.Option(
        None, "--budget", help="Seconds for self/dip (default: theirs)."
    ),
    executor: str = typer.Option(
        "local", "--executor", help="Cohorts: local (process pool), dask or slurm (submitit)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Cohorts: workers (local/LocalCluster) or SLURM tasks at once."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="Cohorts: torch threads per worker (default: cores / workers)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (default: a LocalCluster)."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", help="Cohorts: scans per task (SLURM default: <= 256 tasks)."
    ),
    slurm_option: list[str] = typer.Option(
        [], "--slurm-option", help="submitit parameter key=value, e.g. partition=gpu (repeatable)."
    ),
) -> None:
    """Super-resolve scans onto a finer grid (same field of view, header kept) with a JSON report.

    Give the target grid with --spacing (mm) or --factors; with neither, the target is isotropic at
    the scan's finest spacing. Axes asked coarser than they are (--spacing 1 on 0.86 mm in-plane)
    are reduced with antialiased bicubic after the super-resolution of the others.
    Choose a --method (interpolation, self-supervised SR) or a trained network (--weights, --onnx).
    Writes OUT and OUT.json (method, timings, geometry, data-consistency check).

    Examples:

      [bold]medsr upscale t1_thick.nii.gz -o t1_sr.nii.gz --spacing 1[/]
      [bold]medsr upscale scan.nii.gz -o sr.nii.gz --factors 1,1,4 --method bspline[/]
      [bold]medsr upscale 'scans/*.nii.gz' -o out/ --factors 2 --weights run/model.safetensors[/]
    """
    from medsr.infer.buffers import parse_bytes
    from medsr.infer.files import Job, upscale_file
    from medsr.infer.methods import MethodOptions, default_method
    from medsr.infer.pipeline import UpscaleConfig
    from medsr.io import format_of_suffix
    from medsr.io.discover import expands, find_scans

    config = UpscaleConfig(
        tile=_ints(tile, "tile"),
        overlap=overlap,
        blend=blend,  # type: ignore[arg-type]
        batch_size=batch_size,
        axis=_axis(axis),
        planes=_planes(planes),
        finish=finish,
        max_memory=parse_bytes(max_memory),
        enforce_consistency=enforce_consistency,
        ibp_iterations=ibp_iterations,
        consistency_profile=consistency_profile,  # type: ignore[arg-type]
        method_options=MethodOptions(
            device=device, seed=seed, budget=budget, extra=_options(option)
        ),
    )
    job = Job(
        factors=factors,
        spacing=spacing,
        method=method,
        model=model,
        weights=weights,
        onnx=onnx,
        ensemble=ensemble,
        dtype=dtype,
        overwrite=overwrite,
        series=series,
        config=config,
        spacing_override=spacing_override,
        format=out_format,
        anonymise=anonymise,
        stack=stack,
        reference=reference,
        figure=figure,
    ).validate()  # every option checked once
    from medsr.infer.cohort import is_manifest
    from medsr.infer.executors import ExecutorSettings

    cohort = ExecutorSettings(
        executor, workers, threads, scheduler, chunk_size, _options(slurm_option)
    ).validate()
    # a cohort (-o is then a folder): several inputs, a folder or glob, a manifest CSV
    batch = len(inputs) > 1 or any(expands(spec) or is_manifest(spec) for spec in inputs)
    if not batch and executor != "local":
        raise MedsrError(
            f"--executor {executor} runs a cohort (a folder, a glob, several scans or a manifest "
            "CSV); for one scan drop it"
        )
    paths = [] if batch else find_scans(inputs)
    # The default method is named in the (transient) progress bar and, once done, on stderr; not
    # before the run, so that an error stays the only line on stderr.
    default = "" if (weights or onnx or method or model) else default_method()
    if paths and format_of_suffix(paths[0]) == "image2d":
        default = ""  # a picture's default (a shipped network) is said by the scan's note
    if not batch:
        with progress_bar() as bar:
            sidecar = upscale_file(
                paths[0],
                _single_output(paths[0], output, job.format),
                job,
                progress=RichProgress(
                    bar, prefix=f"{default} (default method): " if default else ""
                ),
            )
        if default:
            err_console.print(f"method: {default} (default)", highlight=False)
        console.print(
            f"wrote {sidecar['output']} ({sidecar['method']}): {_summary(sidecar)}",
            highlight=False,
            soft_wrap=True,
        )
        _print_notes(sidecar)
        return

    from medsr.cli.cohort import run_batch

    if run_batch(
        inputs, output, job, cohort, summary=_summary, notes=_print_notes, default=default
    ):
        # SystemExit, not typer.Exit: medsr.cli.main runs click with standalone_mode=False, which
        # turns typer.Exit into a return value and would lose the exit code.
        raise SystemExit(1)


def _single_output(input: Path, output: Path, fmt: str | None = None) -> Path:
    if output.is_dir():
        from medsr.infer.files import output_path_for

        return output_path_for(input, output, fmt)
    return output
