"""``medsr upscale`` on files: one scan, or a folder/glob of scans, each with a JSON sidecar.

For every output ``OUT`` a sidecar ``OUT.json`` (e.g. ``out.nii.gz.json``) records the method or
model, timings, geometry (shape, spacing, affine of input and output), the data-consistency report,
the peak resident memory of the process and the number of voxels clipped by the output dtype.
Both files are written atomically (the scan first, then its sidecar): a failed run leaves nothing.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.infer.methods import default_method
from medsr.infer.pipeline import ProgressSink, UpscaleConfig, resolve_target, upscale
from medsr.infer.predictor import Predictor
from medsr.volume import Volume, spacing_of

__all__ = [
    "Job",
    "ScanOutcome",
    "collect_inputs",
    "load_predictor",
    "output_path_for",
    "peak_rss_mib",
    "sidecar_path",
    "upscale_file",
]

_SCAN_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".png", ".jpg", ".jpeg", ".tif",
                  ".tiff", ".bmp")


@dataclass
class Job:
    """What to do to each scan (the parsed command line).

    Exactly one of ``factors``/``spacing``; at most one of ``method``, ``weights``, ``onnx``
    (none: :func:`medsr.infer.methods.default_method`).
    """

    factors: str | Sequence[float] | float | None = None
    spacing: str | Sequence[float] | float | None = None
    method: str | None = None
    model: str | None = None
    weights: str | Path | None = None
    onnx: str | Path | None = None
    device: str = "cpu"
    ensemble: bool = False
    dtype: str | None = None
    overwrite: bool = False
    series: str | None = None
    config: UpscaleConfig = field(default_factory=UpscaleConfig)


@dataclass
class ScanOutcome:
    """Result of one scan: "done", "skipped" or "failed" (with the message)."""

    input: Path
    output: Path
    status: str
    message: str = ""
    sidecar: dict[str, Any] | None = None


def peak_rss_mib() -> float | None:
    """Peak resident memory of this process so far (MiB), from ``getrusage``."""
    try:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (AttributeError, OSError):  # pragma: no cover - non-POSIX
        return None
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def sidecar_path(output: str | os.PathLike[str]) -> Path:
    """``OUT.json`` for ``OUT`` (``out.nii.gz`` -> ``out.nii.gz.json``)."""
    return Path(str(output) + ".json")


def load_predictor(job: Job) -> Predictor | None:
    """The network of ``job`` (weights or ONNX), or None for a method."""
    chosen = [n for n, v in (("--method", job.method), ("--weights", job.weights), ("--onnx", job.onnx)) if v]
    if len(chosen) > 1:
        raise MedsrError(f"give only one of --method, --model/--weights and --onnx (got {' and '.join(chosen)})")
    if job.model and not job.weights:
        raise MedsrError(f"--model {job.model} needs --weights FILE.safetensors (with its model.json beside it)")
    if job.ensemble and not job.weights:
        raise MedsrError("--ensemble applies to PyTorch networks (--weights); drop it")
    if job.weights:
        return Predictor.from_weights(job.weights, device=job.device, ensemble=job.ensemble, model_name=job.model)
    if job.onnx:
        return Predictor.from_onnx(job.onnx, device=job.device)
    return None


def _geometry(shape: Sequence[int], affine: np.ndarray, channels: int) -> dict[str, Any]:
    return {
        "shape": [int(n) for n in shape],
        "channels": int(channels),
        "spacing": [float(v) for v in spacing_of(affine)],
        "affine": np.asarray(affine, dtype=float).round(9).tolist(),
    }


def _finite(value: Any) -> Any:
    """JSON has no inf/nan: write them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def upscale_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    job: Job,
    *,
    predictor: Predictor | None = None,
    progress: ProgressSink | None = None,
) -> dict[str, Any]:
    """Read ``input``, up-scale it, write ``output`` and ``output.json``; return the sidecar dict.

    Raises:
        MedsrError: missing input, existing output (without ``job.overwrite``), bad options, NaN in
            the input, model mismatch.
    """
    from medsr import __version__
    from medsr.io import read, write
    from medsr.io.atomic import atomic_path

    t0 = time.perf_counter()
    input, output = Path(input), Path(output)
    if not input.exists():
        raise MedsrError(f"input {input} does not exist; check the path")
    if output.exists() and not job.overwrite:
        raise MedsrError(f"output {output} already exists; pass --overwrite or choose another name")
    if predictor is None:
        predictor = load_predictor(job)
    method = None
    if predictor is None:
        method = job.method or default_method()
    volume = read(input, series=job.series)
    volume.check_finite()
    t_read = time.perf_counter() - t0
    target = resolve_target(volume, factors=job.factors, spacing=job.spacing)
    config = dataclasses.replace(
        job.config, method_options=dataclasses.replace(job.config.method_options, device=job.device)
    )
    dtype = job.dtype or _default_dtype(volume, output)
    result = upscale(volume, target, predictor=predictor, method=method, config=config,
                     progress=progress, dtype=dtype)
    t2 = time.perf_counter()
    if progress is not None:
        progress.stage("writing", None)
    report = write(result.volume, output, dtype=dtype, overwrite=job.overwrite)
    t_write = time.perf_counter() - t2
    info = result.info
    sidecar = {
        "medsr_version": __version__,
        "input": str(input),
        "output": str(output),
        "method": info.pop("method"),
        "method_kind": info.pop("method_kind"),
        "model": info.pop("model"),
        "factors": info.pop("factors"),
        "geometry": {
            "input": _geometry(volume.shape, volume.affine, volume.channels),
            "output": _geometry(result.volume.shape, result.volume.affine, result.volume.channels),
        },
        "consistency": info.pop("consistency"),
        "dtype": report.dtype,
        "clipped_voxels": int(report.clipped),
        "timings_s": {
            "read": t_read,
            "upscale": info.pop("upscale_s"),
            "consistency": info.pop("consistency_s"),
            "write": t_write,
            "total": time.perf_counter() - t0,
        },
        "memory": {"peak_rss_mib": peak_rss_mib(), "output_buffer": info.pop("output_buffer", "memory")},
        **info,
    }
    sidecar = _finite(sidecar)
    try:
        with atomic_path(sidecar_path(output)) as tmp:
            tmp.write_text(json.dumps(sidecar, indent=2, default=str) + "\n", encoding="utf-8")
    except BaseException:
        output.unlink(missing_ok=True)  # no scan without its sidecar
        raise
    return sidecar


def _default_dtype(volume: Volume, output: Path) -> str:
    from medsr.io import default_dtype

    return default_dtype(volume, output)


# ---------------------------------------------------------------------- several scans
def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _is_scan_file(path: Path) -> bool:
    from medsr.io.atomic import full_suffix

    return path.is_file() and full_suffix(path) in _SCAN_SUFFIXES and not path.name.startswith(".")


def collect_inputs(specs: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], bool]:
    """Expand inputs: files, DICOM folders, folders of scans, and glob patterns.

    A folder that holds scan files (NIfTI, NRRD, MHA, PNG, TIFF, ...) is a batch of those files
    (plus its sub-folders, read as DICOM series); any other folder is one DICOM series.

    Returns:
        ``(paths, batch)``: ``batch`` is True when the user named several scans (a glob, a folder of
        scans, or several arguments), so that ``-o`` is a folder.
    """
    paths: list[Path] = []
    batch = len(specs) > 1
    for spec in specs:
        text = os.fspath(spec)
        if _has_glob(text) and not Path(text).exists():
            found = sorted(Path(p) for p in glob.glob(text))
            if not found:
                raise MedsrError(f"no file matches {text!r}; check the pattern")
            paths.extend(found)
            batch = True
            continue
        path = Path(text).expanduser()
        if not path.exists():
            raise MedsrError(f"input {path} does not exist; check the path")
        if path.is_dir():
            scans = sorted(p for p in path.iterdir() if _is_scan_file(p))
            if scans:
                subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
                paths.extend(scans + subdirs)
                batch = True
                continue
        paths.append(path)
    return paths, batch


def output_path_for(input: Path, out_dir: Path) -> Path:
    """``out_dir/<name>``: same file name (and format) as the input; DICOM becomes ``.nii.gz``."""
    from medsr.io import format_of_suffix
    from medsr.io.atomic import full_suffix

    if input.is_dir() or format_of_suffix(input) in (None, "dicom"):
        suffix = full_suffix(input)
        stem = input.name[: len(input.name) - len(suffix)] if suffix and not input.is_dir() else input.name
        return out_dir / f"{stem}.nii.gz"
    return out_dir / input.name


def run_many(
    inputs: Sequence[Path],
    out_dir: Path,
    job: Job,
    *,
    progress: ProgressSink | None = None,
    on_scan: Callable[[ScanOutcome], None] | None = None,
) -> list[ScanOutcome]:
    """Up-scale each input into ``out_dir``; skip existing outputs unless ``job.overwrite``.

    A scan that fails is reported (``status == "failed"``) and the others go on.
    """
    if not out_dir.is_dir():
        raise MedsrError(
            f"with several inputs -o must be an existing folder; {out_dir} is not one: create the folder first"
        )
    predictor = load_predictor(job)  # once for all scans
    outcomes = []
    names: set[Path] = set()
    for path in inputs:
        out = output_path_for(path, out_dir)
        if out in names:
            outcome = ScanOutcome(path, out, "failed", f"another input also writes {out.name}; rename one")
        elif out.exists() and not job.overwrite:
            outcome = ScanOutcome(path, out, "skipped", "output exists (use --overwrite to redo)")
        else:
            try:
                sidecar = upscale_file(path, out, job, predictor=predictor, progress=progress)
                outcome = ScanOutcome(path, out, "done", sidecar=sidecar)
            except KeyboardInterrupt:
                raise
            except MedsrError as exc:
                outcome = ScanOutcome(path, out, "failed", str(exc))
            except Exception as exc:  # one broken scan must not stop the batch
                outcome = ScanOutcome(path, out, "failed", f"{type(exc).__name__}: {exc}")
        names.add(out)
        outcomes.append(outcome)
        if on_scan is not None:
            on_scan(outcome)
    return outcomes
