"""``medsr upscale`` on files: one scan, or a folder/glob of scans, each with a JSON sidecar.

For every output ``OUT`` a sidecar ``OUT.json`` (e.g. ``out.nii.gz.json``) records the method or
model, timings, geometry (shape, spacing, affine of input and output), the data-consistency report,
the peak resident memory of the process and the number of voxels clipped by the output dtype.
Both files are written as one atomic commit (:func:`medsr.io.atomic.atomic_group`): both appear or
neither, and a failed or killed run leaves nothing, not even a temporary file.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.infer.buffers import allocate
from medsr.infer.job import Job
from medsr.infer.methods import default_method, picture_default
from medsr.infer.pipeline import ProgressSink, UpscaleResult, resolve_target, upscale
from medsr.infer.predictor import Predictor
from medsr.infer.preview import figure_path, preview_figure
from medsr.jsonutil import to_jsonable, write_json
from medsr.memory import peak_rss_mib
from medsr.volume import Volume, finite_range, spacing_of

__all__ = [
    "Job",
    "ScanOutcome",
    "ScanReport",
    "load_predictor",
    "output_path_for",
    "peak_rss_mib",
    "sidecar_path",
    "upscale_file",
]


@dataclass
class ScanReport:
    """What the sidecar ``OUT.json`` of one up-scaled scan records (:meth:`as_dict` is the JSON)."""

    medsr_version: str
    input: Path
    output: Path
    source: Volume
    result: UpscaleResult
    dtype: str
    clipped_voxels: int
    timings: dict[str, float]
    peak_rss_mib: float | None
    notes: list[str] = field(default_factory=list)  # what reading/writing changed or assumed

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        details = dict(r.details)
        out: dict[str, Any] = {
            "medsr_version": self.medsr_version,
            "input": str(self.input),
            "output": str(self.output),
            "method": r.method,
            "method_kind": r.method_kind,
            "model": r.model,
            "factors": list(r.factors),
            "geometry": {
                "input": _geometry(self.source.shape, self.source.affine, self.source.channels),
                "output": _geometry(r.volume.shape, r.volume.affine, r.volume.channels),
            },
            "consistency": r.consistency,
            "dtype": self.dtype,
            "clipped_voxels": self.clipped_voxels,
            "timings_s": dict(self.timings),
            "memory": {
                "peak_rss_mib": self.peak_rss_mib,
                "output_buffer": details.pop("output_buffer", "memory"),
            },
            "notes": list(self.notes),
        }
        if r.description is not None:
            out["description"] = r.description
        out.update(details)
        return out


@dataclass
class ScanOutcome:
    """Result of one scan: "done", "skipped" or "failed" (with the message)."""

    input: Path
    output: Path
    status: str
    message: str = ""
    sidecar: dict[str, Any] | None = None


def sidecar_path(output: str | os.PathLike[str]) -> Path:
    """``OUT.json`` for ``OUT`` (``out.nii.gz`` -> ``out.nii.gz.json``)."""
    return Path(str(output) + ".json")


def load_predictor(job: Job) -> Predictor | None:
    """The network of ``job`` (weights or ONNX), or None for a method (``job`` validated)."""
    if job.weights:
        return Predictor.from_weights(
            job.weights, device=job.device, ensemble=job.ensemble, model_name=job.model
        )
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
    from medsr.io.atomic import atomic_group, check_targets

    t0 = time.perf_counter()
    job.validate()
    input, output = Path(input), Path(output)
    if not input.exists():
        raise MedsrError(f"input {input} does not exist; check the path")
    if output.exists() and input.resolve() == output.resolve():
        raise MedsrError(f"refusing to overwrite the input {input}; choose another output name")
    dicom = job.format == "dicom"  # a derived DICOM series: the output is a folder
    # the files written beside the scan, in its atomic group: (OUT.png and) OUT.json; the group
    # renames the scan into place last, so a scan that is there has all of them
    companions = ([figure_path(output)] if job.figure else []) + [sidecar_path(output)]
    if job.format == "dicom-enhanced":
        from medsr.io import check_dicom_output

        check_dicom_output(output, job.format)
    if dicom:
        from medsr.io import check_dicom_output
        from medsr.io.atomic_folder import atomic_folder_group, check_folder_target

        check_dicom_output(output)
        if output.exists() and output.resolve() in input.resolve().parents:
            raise MedsrError(f"refusing to replace {output}: it holds the input {input}")
        check_folder_target(output, overwrite=job.overwrite)
        check_targets(companions, overwrite=job.overwrite)
    else:
        from medsr.io import format_of_suffix

        if job.format is None and format_of_suffix(output) == "dicom":  # before any work
            raise OptionError(
                f"{output.name}: medsr writes DICOM as a series folder ({{format}} dicom, a "
                "folder name) or one enhanced file ({format} dicom-enhanced); or write .nii.gz, "
                ".nrrd, .mha"
            )
        check_targets([output, *companions], overwrite=job.overwrite)  # before any work
    if predictor is None:
        predictor = load_predictor(job)
    method = None
    if predictor is None:
        method = job.method or default_method()
    chosen = predictor is None and job.method is None  # the default: known once the scan is read
    config = job.config
    # a NIfTI input larger than --max-memory is read, slab by slab, into a memory-mapped scratch
    # file like the output (medsr.infer.buffers): nothing that grows with the scan stays in RAM
    volume = read(
        input,
        series=job.series,
        spacing_override=job.spacing_override,
        stack=job.stack,
        allocate=partial(allocate, max_memory=config.max_memory, scratch=config.scratch),
    )
    t_read = time.perf_counter() - t0
    target = resolve_target(volume, factors=job.factors, spacing=job.spacing)
    dtype = job.dtype or _default_dtype(volume, output, job.format)
    default_notes: list[str] = []
    if chosen and volume.meta.is_2d:  # self-SR needs slices: a picture gets a shipped network
        weights, _, why = picture_default(target.factors)
        default_notes.append(why)
        if weights is None:
            method = "bspline"
        else:
            method, predictor = None, Predictor.from_weights(weights, device=job.device)
    if job.reference is not None:  # multi-contrast networks: the registered second contrast
        config = dataclasses.replace(config, reference=read(job.reference))
    result = upscale(
        volume,
        target,
        predictor=predictor,
        method=method,
        config=config,
        progress=progress,
        dtype=dtype,
    )
    t2 = time.perf_counter()
    if progress is not None:
        progress.stage("writing", None)
    if dicom:
        group = atomic_folder_group(output, companions, overwrite=job.overwrite)
    else:
        group = atomic_group([output, *companions], overwrite=job.overwrite)
    with group as staged:
        scan, *picture, side = [staged[0], *staged[1]] if dicom else staged
        if job.format is not None:
            report = write(
                result.volume,
                scan,
                dtype=dtype,
                format=job.format,
                derivation=_derivation(result, __version__),
                anonymise=job.anonymise,
            )
        else:
            report = write(result.volume, scan, dtype=dtype)
        t_write = time.perf_counter() - t2
        timings = {
            "read": t_read,
            **result.timings,
            "write": t_write,
            "total": time.perf_counter() - t0,
        }
        sidecar = ScanReport(
            __version__,
            input,
            output,
            volume,
            result,
            report.dtype,
            int(report.clipped),
            timings,
            peak_rss_mib(),
            [
                *default_notes,
                *volume.meta.notes,
                *report.notes,
                *clipping_advice(report, result.volume),
            ],
        ).as_dict()
        if picture:
            preview_figure(
                volume, result.volume, picture[0], atomic=False,
                title=f"{input.name} -> {output.name} ({result.method})",
            )
            sidecar["figure"] = figure_path(output).name
        sidecar = to_jsonable(sidecar, nonfinite="string")  # JSON has no inf/nan: "inf", "nan"
        write_json(side, sidecar, nonfinite="string")
    return sidecar


#: Share of clipped output voxels above which the sidecar and the CLI advise ``--dtype float32``.
CLIP_ADVICE_FRACTION = 1e-4


def clipping_advice(report: Any, volume: Volume) -> list[str]:
    """A note when the result overshoots the stored dtype's range on many voxels (networks
    sharpen edges past the input's extremes, and undershoot below 0 beside them; integer dtypes
    clip both): how many, the result's own span (so that the note says which end was cut) and how
    to keep them. Fewer than :data:`CLIP_ADVICE_FRACTION` of the voxels only get the count."""
    clipped = int(getattr(report, "clipped", 0) or 0)
    total = max(1, int(np.prod(volume.data.shape)))
    if clipped <= CLIP_ADVICE_FRACTION * total:
        return []
    span = finite_range(volume.data)
    spans = "" if span is None else f" (the result spans {span[0]:.4g} to {span[1]:.4g})"
    return [
        (
            f"{clipped} voxels ({100.0 * clipped / total:.2g} %) of the result lie outside the "
            f"{report.dtype} range{spans} and were clipped; write --dtype float32 to keep them"
        )
    ]


def _default_dtype(volume: Volume, output: Path, fmt: str | None = None) -> str:
    from medsr.io import default_dtype, dicom_default_dtype

    return dicom_default_dtype(volume) if fmt else default_dtype(volume, output)


def _derivation(result: UpscaleResult, version: str) -> Any:
    """What medsr did, for the DICOM SeriesDescription and DerivationDescription."""
    from medsr.io.dicom_write import Derivation

    model = (result.model or {}).get("architecture") or (result.model or {}).get("name")
    return Derivation(
        method=result.method,
        factors=tuple(float(f) for f in result.factors),
        version=version,
        model=str(model) if model else None,
    )


# ---------------------------------------------------------------------- several scans
def output_path_for(input: Path, out_dir: Path, fmt: str | None = None) -> Path:
    """``out_dir/<name>``: same file name (and format) as the input; DICOM becomes ``.nii.gz``.

    With ``fmt="dicom"`` (``Job.format``): the folder ``out_dir/<name without suffix>`` of a
    derived DICOM series.
    """
    from medsr.io import format_of_suffix
    from medsr.io.atomic import full_suffix

    suffix = full_suffix(input)
    stem = input.name[: len(input.name) - len(suffix)] if suffix and not input.is_dir() else None
    if fmt == "dicom":
        return out_dir / (stem or input.name)
    if fmt == "dicom-enhanced":
        return out_dir / f"{stem or input.name}.dcm"
    if input.is_dir() or format_of_suffix(input) in (None, "dicom"):
        return out_dir / f"{stem or input.name}.nii.gz"
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
            f"with several inputs -o must be an existing folder; {out_dir} is not one: "
            "create the folder first"
        )
    job.validate()
    predictor = load_predictor(job)  # once for all scans
    outcomes = []
    names: set[Path] = set()
    for path in inputs:
        out = output_path_for(path, out_dir, job.format)
        if out in names:
            outcome = ScanOutcome(
                path, out, "failed", f"another input also writes {out.name}; rename one"
            )
        elif out.exists() and not job.overwrite:
            outcome = ScanOutcome(path, out, "skipped", "output exists (overwrite to redo)")
        else:
            try:
                sidecar = upscale_file(path, out, job, predictor=predictor, progress=progress)
                outcome = ScanOutcome(path, out, "done", sidecar=sidecar)
            except KeyboardInterrupt:
                raise
            except MedsrError as exc:
                outcome = ScanOutcome(path, out, "failed", str(exc))
            except Exception as exc:  # noqa: BLE001 - one broken scan must not stop the batch
                outcome = ScanOutcome(path, out, "failed", f"{type(exc).__name__}: {exc}")
        names.add(out)
        outcomes.append(outcome)
        if on_scan is not None:
            on_scan(outcome)
    return outcomes
