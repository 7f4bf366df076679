"""The review's kind of comparison (its Table 1: methods x scale -> PSNR/SSIM) on real CT/MRI.

Li, Sixou & Peyrin (IRBM 2021) compare SR methods by PSNR/SSIM of a reconstruction against a
truth that was degraded by a known operator (``g = A f``, their eq. 3; metrics: section 2.3). On
natural images that is Table 1 (:mod:`medsr.bench.table1`). In medicine the relevant degradation is
the thick slice, and two situations arise; this module runs both.

1. **Simulated, with truth** (:func:`simulated_comparison`). An isotropic T1 scan is acquired with
   thick slices along one axis (:class:`medsr.degrade.ThickSlice`, Gaussian slice profile of FWHM
   = slice spacing; LR grid from :func:`medsr.volume.zoom_grid`, done by
   :func:`medsr.bench.selfsr.simulate_thick_slices`, which checks that the target grid coincides
   with the truth grid in world coordinates). Every method goes through :func:`medsr.infer.upscale`
   onto that grid: the interpolations of the review's section 2.1 (nearest, linear, MATLAB cubic,
   cubic B-spline, Lanczos), self-supervised SR (``self``, SMORE, review section 4.2.2, default
   budget) and one supervised network (VDSR, Kim et al. CVPR 2016, review section 3.4.2) trained
   with :func:`medsr.train.run.train` on *another* brain, the built-in MNI template
   (:func:`train_supervised`). Scores: PSNR, SSIM (3D Gaussian window) and NRMSE inside the head
   (:func:`medsr.bench.selfsr.head_mask`), the data-consistency PSNR ``A x`` vs ``g`` of the
   upscale report, wall and CPU time.
2. **Real thick-slice scans, no truth** (:func:`real_scan_comparison`): up-scaled to isotropic
   voxels at the finest in-plane spacing (the SMORE target,
   :func:`medsr.selfsr.plan.default_target_spacing`) with B-spline and self-SR; the data-consistency
   PSNR, the time and an intensity-units check (:func:`units_check`: CT must stay in its units) are
   reported, and :func:`real_scans_figure` shows through-plane views side by side.

:func:`run_medical_benchmark` runs everything and writes ``results.json``, ``results.md`` and
``real_scans.png`` (all atomically); ``benchmarks/medical_comparison.py`` is its command line.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.volume import Volume, crop_affine

__all__ = [
    "INTERPOLATIONS",
    "SUPERVISED",
    "BenchResult",
    "BenchSettings",
    "MethodRow",
    "RealScan",
    "SupervisedModel",
    "centre_crop",
    "head_centre",
    "markdown_report",
    "real_scan_comparison",
    "real_scans_figure",
    "run_medical_benchmark",
    "simulated_comparison",
    "train_supervised",
    "units_check",
]

#: the interpolation rows (review section 2.1), in the order of the table
INTERPOLATIONS: tuple[str, ...] = ("nearest", "linear", "cubic", "bspline", "lanczos")
#: the row name of the supervised network trained on the MNI template
SUPERVISED = "vdsr-mni"

_LABELS = {
    "nearest": "nearest",
    "linear": "linear",
    "cubic": "cubic (MATLAB bicubic)",
    "bspline": "cubic B-spline",
    "lanczos": "Lanczos-3",
    "self": "self-SR (SMORE-like, `self`)",
    SUPERVISED: "VDSR 2D, trained on MNI brain",
}


# ---------------------------------------------------------------------- settings and results
@dataclass
class BenchSettings:
    """What to run and with which budgets.

    Attributes:
        factors: slice-spacing factors of the simulation (truth voxels per thick slice).
        axis: slice axis of the simulation.
        methods: rows of the simulated table (interpolations, ``"self"``, :data:`SUPERVISED`).
        real_methods: rows of the real-scan table.
        self_options: ``--option`` pairs of ``self`` (empty: medsr's defaults, budget included).
        self_budget: ``--budget`` seconds of ``self`` (None: its default).
        supervised_seconds: training time limit of the supervised network (per factor).
        supervised_steps: training step limit (whichever comes first).
        supervised_model: registry kwargs of the network (``layers``/``channels`` of VDSR).
        supervised_patch, supervised_batch, supervised_lr: training patch side, batch, Adam rate.
        sim_crop: crop the truth to this shape first (None: whole scan) -- the quick mode.
        real_crop: crop the real scans to this shape first (None: whole scans).
        seed: random seed of every stochastic step.
        threads: torch CPU threads (None: torch's default).
    """

    factors: tuple[int, ...] = (2, 4)
    axis: int = 2
    methods: tuple[str, ...] = INTERPOLATIONS + ("self", SUPERVISED)
    real_methods: tuple[str, ...] = ("bspline", "self")
    self_options: dict[str, Any] = field(default_factory=dict)
    self_budget: float | None = None
    supervised_seconds: float = 120.0
    supervised_steps: int = 2000
    supervised_model: dict[str, Any] = field(default_factory=lambda: {"layers": 8, "channels": 16})
    supervised_patch: int = 48
    supervised_batch: int = 8
    supervised_lr: float = 1e-3
    sim_crop: tuple[int, int, int] | None = None
    real_crop: tuple[int, int, int] | None = None
    seed: int = 0
    threads: int | None = None

    @classmethod
    def quick(cls) -> BenchSettings:
        """Small crops and tiny budgets: the whole pipeline in well under a minute (tests)."""
        return cls(
            self_options={"iterations": 15, "patch": 24, "batch": 4},
            supervised_seconds=20.0,
            supervised_steps=12,
            supervised_model={"layers": 3, "channels": 8},
            supervised_patch=24,
            supervised_batch=4,
            sim_crop=(48, 56, 48),
            real_crop=(48, 48, 16),
        )


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
        return _LABELS.get(self.method, self.method)


@dataclass
class SupervisedModel:
    """A network trained by :func:`train_supervised`: its run folder and what training did."""

    run_dir: Path
    weights: Path
    factor: int
    steps: int
    seconds: float
    cpu_seconds: float


@dataclass
class RealScan:
    """A real scan's results: the rows, the output grid (shape, spacing, affine) and the per-method
    units check (:func:`units_check`)."""

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
    """Everything a run measured (``results.json`` is :meth:`as_dict`)."""

    settings: BenchSettings
    simulated: list[MethodRow]
    supervised: list[SupervisedModel]
    real: list[RealScan]
    environment: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


def _environment() -> dict[str, Any]:
    import platform

    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_1_5_15": [round(v, 2) for v in load],
    }


# ---------------------------------------------------------------------- helpers
def centre_crop(volume: Volume, shape: Sequence[int], centre: Sequence[int] | None = None) -> Volume:
    """A sub-volume of ``shape`` voxels centred on ``centre`` (default: the grid centre), clamped
    inside the volume; its affine comes from :func:`medsr.volume.crop_affine`."""
    size = [min(int(n), s) for n, s in zip(shape, volume.shape)]
    if any(n < 1 for n in size):
        raise MedsrError(f"crop shape {tuple(shape)} must be positive")
    mid = [s // 2 for s in volume.shape] if centre is None else [int(c) for c in centre]
    start = [int(np.clip(c - n // 2, 0, s - n)) for c, n, s in zip(mid, size, volume.shape)]
    index = (slice(None),) + tuple(slice(b, b + n) for b, n in zip(start, size))
    return volume.with_data(np.ascontiguousarray(volume.data[index]), crop_affine(volume.affine, start))


def head_centre(volume: Volume) -> list[int]:
    """Centre of mass of the voxels above 10 % of the 99th percentile (a crop on the head)."""
    d = volume.data[0]
    fg = np.argwhere(d > 0.1 * float(np.percentile(d, 99)))
    return [int(v) for v in fg.mean(axis=0)] if len(fg) else [s // 2 for s in volume.shape]


def _timed_upscale(
    volume: Volume, target: Any, *, method: str | None = None, predictor: Any = None,
    settings: BenchSettings, planes: str | None = None,
) -> tuple[Volume, dict[str, Any], float, float]:
    """:func:`medsr.infer.upscale` with wall and CPU (all threads of this process) seconds."""
    from medsr.infer import MethodOptions, UpscaleConfig, upscale

    options = MethodOptions(seed=settings.seed)
    if method == "self":
        options = MethodOptions(seed=settings.seed, budget=settings.self_budget, extra=dict(settings.self_options))
    config = UpscaleConfig(method_options=options, planes=planes)
    t0, c0 = time.perf_counter(), time.process_time()
    result = upscale(volume, target, method=method, predictor=predictor, config=config)
    return result.volume, result.info, time.perf_counter() - t0, time.process_time() - c0


def _self_note(info: dict[str, Any]) -> str:
    mi = info.get("method_info") or {}
    stages = mi.get("stages") or []
    if not stages:
        return ""
    parts = [f"{s.get('iterations', '?')} it ({s.get('stage', '')}{'' if s.get('used', True) else ', skipped'})"
             for s in stages]
    note = f"budget {mi.get('budget', '?')}: " + ", ".join(parts)
    return note + ("; " + mi["warning"] if mi.get("warning") else "")


# ---------------------------------------------------------------------- supervised network
def train_supervised(
    factor: int, axis: int, out_dir: Path, settings: BenchSettings, *, data: str | Path | None = None
) -> SupervisedModel:
    """Train VDSR (Kim et al. 2016; review section 3.4.2) for thick slices along ``axis`` on the
    built-in MNI brain with the project's trainer (:func:`medsr.train.run.train`).

    The network is 2D and sees planes that contain the slice axis (cut across the first other
    axis: sagittal planes for slices along z), with
    per-axis scale ``(1, factor)``: its fixed cubic pre-upsampling enlarges the slice axis only and
    ``layers`` 3x3 convolutions (VDSR has 20 of 64 channels; fewer and narrower here, for minutes
    of CPU) learn the residual (VDSR's global residual learning). LR patches come from
    ``thick:profile=gaussian`` (:class:`medsr.degrade.ThickSlice`, FWHM = ``factor`` voxels), the
    operator of the simulation. Training stops at ``settings.supervised_steps`` steps or
    ``settings.supervised_seconds`` (Lightning's Timer), whichever comes first; intensities are
    normalised per volume (percentiles 0.5/99.5, stored in model.json and inverted at inference),
    so that scans of other scanners land on a similar scale.
    """
    import datetime as dt

    from lightning.pytorch.callbacks import Timer

    from medsr.data import sample_path
    from medsr.train.config import parse_config
    from medsr.train.run import train

    cut = next(a for a in range(3) if a != axis)  # planes that contain the slice axis
    model_axes = [a for a in range(3) if a != cut]
    scale = [float(factor) if a == axis else 1.0 for a in model_axes]
    patch = [int(settings.supervised_patch // factor * factor)] * 2
    run_dir = Path(out_dir) / f"supervised_x{factor}"
    cfg = parse_config({
        "name": f"medical-bench-vdsr-x{factor}",
        "task": "supervised",
        "seed": settings.seed,
        "description": "medsr medical benchmark: VDSR for thick slices, trained on the MNI template",
        "output_dir": str(run_dir),
        "model": {"name": "vdsr", "preset": "paper", "kwargs": dict(settings.supervised_model),
                  "scale": scale, "dims": 2, "in_channels": 1},
        "data": {
            "train": {"hr_dir": str(data or sample_path("brain"))},
            "degradation": "thick:profile=gaussian",
            "normalisation": {"kind": "percentile", "params": {"low": 0.5, "high": 99.5}},
            "patch_size": patch,
            "slice_axis": cut,
            "batch_size": settings.supervised_batch,
            "foreground": {"method": "otsu", "probability": 0.9},
        },
        "loss": {"terms": {"l1": {"weight": 1.0}}},
        "optim": {"name": "adam", "lr": settings.supervised_lr, "clip": {"kind": "norm", "value": 1.0}},
        "train": {"max_steps": settings.supervised_steps, "checkpoint_every": settings.supervised_steps,
                  "log_every": max(1, min(50, settings.supervised_steps)), "progress": "none",
                  "accelerator": "cpu", "deterministic": False, "threads": settings.threads},
    })
    timer = Timer(duration=dt.timedelta(seconds=float(settings.supervised_seconds)), interval="step", verbose=False)
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(cfg, callbacks=[timer])
    if result.weights is None:
        raise RuntimeError("training wrote no weights")
    return SupervisedModel(run_dir, result.weights, int(factor), int(result.global_step),
                           time.perf_counter() - t0, time.process_time() - c0)


# ---------------------------------------------------------------------- 1. simulated, with truth
def simulated_comparison(
    truth: Volume, factor: int, settings: BenchSettings, *, supervised: SupervisedModel | None = None
) -> list[MethodRow]:
    """Thick slices of ``truth`` at ``factor`` back onto the truth grid by every method; scored
    inside the head (PSNR, SSIM with the truth's range as peak; NRMSE = ||e|| / ||truth||)."""
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.infer import Predictor, TargetGrid
    from medsr.metrics import nrmse, psnr, ssim

    case = simulate_thick_slices(truth, settings.axis, float(factor), profile="gaussian")
    target = TargetGrid.from_factors(case.lr, case.factors)
    ref, mask, r = case.truth.data[0], case.mask, case.data_range
    name = f"x{factor}"
    rows: list[MethodRow] = []
    for method in settings.methods:
        if method == SUPERVISED:
            if supervised is None:
                raise MedsrError(f"the {SUPERVISED} row needs a trained network (train_supervised)")
            predictor = Predictor.from_weights(supervised.weights)
            out, info, wall, cpu = _timed_upscale(case.lr, target, predictor=predictor, settings=settings,
                                                  planes="all")
            note = f"{supervised.steps} training steps on MNI; slices fused over {info['slicing']['axes']}"
            train_s: float | None = supervised.seconds
        else:
            out, info, wall, cpu = _timed_upscale(case.lr, target, method=method, settings=settings)
            note, train_s = (_self_note(info), None)
        if out.shape != case.truth.shape or not np.allclose(out.affine, case.truth.affine, atol=1e-6):
            raise RuntimeError(f"{method}: output grid {out.shape} is not the truth grid {case.truth.shape}")
        test = np.asarray(out.data[0], dtype=np.float32)
        rows.append(MethodRow(
            case=name, method=method,
            psnr=float(psnr(ref, test, data_range=r, mask=mask)),
            ssim=float(ssim(ref, test, data_range=r, mask=mask)),
            nrmse=float(nrmse(ref, test, mask=mask)),
            consistency_psnr=float(info["consistency"]["psnr_db"]),
            seconds=wall, cpu_seconds=cpu, train_seconds=train_s, note=note,
        ))
    return rows


# ---------------------------------------------------------------------- 2. real scans
def units_check(observed: Volume, output: Volume) -> dict[str, Any]:
    """Do the intensities keep their units? Percentiles, background and overshoot, in and out.

    Interpolation overshoots at sharp edges (B-spline and Lanczos ring at bone/air), so the check
    asks for kept *units*, not for a kept range: the median must move by at most 3 % of the input
    range, and at most 1e-3 of the voxels may leave a generous band around the input range.
    ``hounsfield`` is True when the input looks like CT in HU (minimum below -500); then the air
    (median of the output voxels below -500 HU) must lie within 100 HU of -1000 and the band is
    [-1500, 4000] HU. Otherwise (MR, or CT stored as a display window) the background (1st
    percentile) must move by at most 3 % of the range and the band is the input range +- 10 %.
    """
    x = np.asarray(observed.data, dtype=np.float32)
    y = np.asarray(output.data, dtype=np.float32)
    lo, hi = float(x.min()), float(x.max())
    span = (hi - lo) or 1.0
    q_in = np.percentile(x, [1, 50, 99.9])
    q_out = np.percentile(y, [1, 50, 99.9])
    hounsfield = lo < -500
    report: dict[str, Any] = {
        "hounsfield": hounsfield,
        "input": {"min": lo, "max": hi, "p1": float(q_in[0]), "median": float(q_in[1]), "p99.9": float(q_in[2])},
        "output": {"min": float(y.min()), "max": float(y.max()), "p1": float(q_out[0]), "median": float(q_out[1]),
                   "p99.9": float(q_out[2])},
        "input_dtype": observed.meta.dtype,
    }
    median_ok = abs(float(q_out[1] - q_in[1])) <= 0.03 * span
    if hounsfield:
        air = y[y < -500]
        air_hu = float(np.median(air)) if air.size else float("nan")
        outside = float(np.mean((y < -1500) | (y > 4000)))
        ok = median_ok and abs(air_hu + 1000.0) <= 100.0 and outside <= 1e-3
        report.update({"air_hu": air_hu, "fraction_outside_band": outside, "band": [-1500.0, 4000.0]})
    else:
        band = [lo - 0.1 * span, hi + 0.1 * span]
        outside = float(np.mean((y < band[0]) | (y > band[1])))
        ok = median_ok and abs(float(q_out[0] - q_in[0])) <= 0.03 * span and outside <= 1e-3
        report.update({"fraction_outside_band": outside, "band": band})
    report["ok"] = bool(ok)
    return report


def real_scan_comparison(volume: Volume, name: str, settings: BenchSettings) -> tuple[RealScan, dict[str, Volume]]:
    """Up-scale a real thick-slice scan to isotropic voxels at its finest in-plane spacing with each
    of ``settings.real_methods``; returns the rows (no truth: PSNR/SSIM None) and the volumes
    (``"nearest"`` added for display)."""
    from medsr.infer import resolve_target
    from medsr.interpolate import zoom_array
    from medsr.selfsr.plan import default_target_spacing

    target = resolve_target(volume, spacing=default_target_spacing(volume.spacing))
    rows: list[MethodRow] = []
    units: dict[str, dict[str, Any]] = {}
    volumes: dict[str, Volume] = {}
    for method in settings.real_methods:
        out, info, wall, cpu = _timed_upscale(volume, target, method=method, settings=settings)
        if out.shape != tuple(target.shape) or not np.allclose(out.affine, target.affine, atol=1e-6):
            raise RuntimeError(f"{method}: output grid {out.shape} differs from the target {target.shape}")
        units[method] = units_check(volume, out)
        rows.append(MethodRow(name, method, None, None, None, float(info["consistency"]["psnr_db"]), wall, cpu,
                              note=_self_note(info) if method == "self" else ""))
        volumes[method] = out
    nearest = zoom_array(np.asarray(volume.data, dtype=np.float32), target.factors, "nearest")
    volumes["nearest"] = volume.with_data(nearest, target.affine.copy())
    scan = RealScan(
        name, volume.shape, tuple(float(s) for s in volume.spacing), tuple(target.shape),  # type: ignore[arg-type]
        tuple(float(s) for s in target.spacing), tuple(float(f) for f in target.factors),  # type: ignore[arg-type]
        rows, units, np.asarray(target.affine).tolist(),
    )
    return scan, volumes


# ---------------------------------------------------------------------- figure
def _busiest_window(img: np.ndarray, size: int, weight: np.ndarray | None = None) -> tuple[int, int]:
    """Top-left corner of the ``size`` x ``size`` window with the most vertical (through-plane)
    edge energy, counted where ``weight`` is set: where thick slices hurt and methods differ."""
    size = int(max(1, min(size, *img.shape)))
    energy = np.abs(np.diff(img, axis=0, append=img[-1:]))
    if weight is not None:
        energy = energy * weight
    sat = np.pad(np.cumsum(np.cumsum(energy, 0), 1), ((1, 0), (1, 0)))
    sums = sat[size:, size:] - sat[:-size, size:] - sat[size:, :-size] + sat[:-size, :-size]
    r, c = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(r), int(c)


def _interior(img: np.ndarray, level: float, margin: float) -> np.ndarray:
    """Pixels deeper than ``margin`` pixels inside the object (``img > level``, holes filled): the
    zoom then shows anatomy rather than the scalp/air edge, which dominates any edge measure."""
    from scipy import ndimage

    filled = ndimage.binary_fill_holes(img > level)
    inside = ndimage.distance_transform_edt(filled) > margin
    return inside.astype(np.float32) if inside.any() else filled.astype(np.float32)


def real_scans_figure(
    scans: Sequence[tuple[RealScan, dict[str, Volume]]], path: str | Path, *, window_mm: float = 32.0
) -> None:
    """Through-plane views (coronal and sagittal, in voxel space) of each real scan: input
    (nearest-neighbour, what a viewer shows), B-spline and self-SR side by side, then the same
    ``window_mm`` window of each magnified (marked by a rectangle on the full views; chosen where
    the B-spline image has the most through-plane edges inside the head). PNG, written atomically
    with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from medsr.io.atomic import atomic_path

    columns = [("nearest", "input (nearest)"), ("bspline", "cubic B-spline"), ("self", "self-SR")]
    rows = [(scan, vols, view, axis) for scan, vols in scans
            for view, axis in (("coronal", 1), ("sagittal", 0))]
    ncol = 2 * len(columns)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(2.5 * ncol, 2.75 * len(rows)), dpi=110, squeeze=False)
    for r, (scan, vols, view, fixed) in enumerate(rows):
        ref = vols["nearest"].data[0]
        lo, hi = (float(v) for v in np.percentile(ref, [0.5, 99.5]))
        centre = head_centre(vols["nearest"])
        consistency = {row.method: row.consistency_psnr for row in scan.rows}

        def cut(vol: np.ndarray, fixed: int = fixed, centre: list[int] = centre) -> np.ndarray:
            return np.rot90(np.take(vol, centre[fixed], axis=fixed))  # superior up

        base = cut(vols["bspline"].data[0]) if "bspline" in vols else cut(ref)
        pixel = float(min(scan.output_spacing))
        size = round(window_mm / pixel)
        r0, c0 = _busiest_window(base, size, _interior(base, lo + 0.1 * (hi - lo), 10.0 / pixel))
        for c, (key, label) in enumerate(columns):
            full, zoom = axes[r, c], axes[r, c + len(columns)]
            for ax in (full, zoom):
                ax.set_xticks([])
                ax.set_yticks([])
            if key not in vols:
                full.set_visible(False)
                zoom.set_visible(False)
                continue
            img = cut(vols[key].data[0])
            full.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            full.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), size, size, fill=False, ec="#00e5ff", lw=1.0))
            zoom.imshow(img[r0 : r0 + size, c0 : c0 + size], cmap="gray", vmin=lo, vmax=hi,
                        interpolation="nearest")
            for spine in zoom.spines.values():
                spine.set_edgecolor("#00e5ff")
                spine.set_linewidth(1.5)
            if key in consistency:
                full.text(0.02, 0.02, f"consistency {consistency[key]:.1f} dB", transform=full.transAxes,
                          color="white", fontsize=7, va="bottom",
                          bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.5, "lw": 0})
            if r == 0:
                full.set_title(label, fontsize=9)
                zoom.set_title(f"{label}, {window_mm:g} mm window", fontsize=9)
            if c == 0:
                sp = scan.input_spacing
                full.set_ylabel(f"{scan.name} {view}\n{sp[0]:.2f} x {sp[1]:.2f} x {sp[2]:.2f} mm\n"
                                f"-> {pixel:.2f} mm isotropic", fontsize=8)
    fig.suptitle("Real thick-slice scans up-scaled to isotropic voxels: through-plane views (voxel space, "
                 "superior at the top) and the marked window magnified", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


# ---------------------------------------------------------------------- report
def _f(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def markdown_report(result: BenchResult, *, title: str = "medsr medical comparison") -> str:
    """The tables of a run as Markdown (what ``results.md`` holds and the script prints)."""
    s = result.settings
    env = result.environment
    lines = [f"## {title}", ""]
    lines.append(
        f"Machine: {env.get('cpus')} CPUs, torch {env.get('torch')} with {env.get('torch_threads')} threads, "
        f"load average at start {env.get('load_average_1_5_15')}"
        + (f", at end {env['load_average_end']}" if "load_average_end" in env else "")
        + (f"; total {env['total_seconds']:.0f} s" if "total_seconds" in env else "") + "."
    )
    lines.append("")
    if result.simulated:
        lines += [
            f"### Simulated thick slices (truth available), slice axis {s.axis}",
            "",
            ("PSNR/SSIM/NRMSE inside the head mask against the isotropic truth; consistency = PSNR of "
             "A(output) against the thick-slice input (A: Gaussian slice profile, FWHM one slice). "
             "Seconds: wall-clock of the up-scaling (self-SR includes its own training); CPU: "
             "process CPU seconds; training: the supervised network's training on the MNI brain."),
            "",
            "| scale | method | PSNR (dB) | SSIM | NRMSE | consistency (dB) | seconds | CPU s | training s |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in result.simulated:
            lines.append(
                f"| {row.case} | {row.label} | {_f(row.psnr, 2)} | {_f(row.ssim, 4)} | {_f(row.nrmse, 4)} | "
                f"{row.consistency_psnr:.1f} | {row.seconds:.1f} | {row.cpu_seconds:.1f} | "
                f"{_f(row.train_seconds, 0)} |"
            )
        notes = [f"{r.case} {r.label}: {r.note}" for r in result.simulated if r.note]
        if notes:
            lines += [""] + [f"- {n}" for n in notes]
        lines.append("")
    if result.real:
        lines += [
            "### Real thick-slice scans (no truth)",
            "",
            ("| scan | input grid (mm) | output grid | method | consistency (dB) | seconds | CPU s | "
             "output min / max | units check |"),
            "| --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |",
        ]
        for scan in result.real:
            grid_in = f"{'x'.join(map(str, scan.input_shape))} @ " + "x".join(f"{v:.3g}" for v in scan.input_spacing)
            grid_out = f"{'x'.join(map(str, scan.output_shape))} @ " + "x".join(f"{v:.3g}" for v in scan.output_spacing)
            for row in scan.rows:
                u = scan.units[row.method]
                lines.append(
                    f"| {scan.name} | {grid_in} | {grid_out} | {row.label} | {row.consistency_psnr:.1f} | "
                    f"{row.seconds:.1f} | {row.cpu_seconds:.1f} | {u['output']['min']:.1f} / "
                    f"{u['output']['max']:.1f} | {'ok' if u['ok'] else 'FAILED'}"
                    f"{' (HU, air ' + format(u['air_hu'], '.0f') + ')' if u['hounsfield'] else ''} |"
                )
        notes = [f"{scan.name} {r.label}: {r.note}" for scan in result.real for r in scan.rows if r.note]
        for scan in result.real:
            u = next(iter(scan.units.values()))
            if not u["hounsfield"]:
                notes.append(
                    f"{scan.name}: input {u['input_dtype']} in [{u['input']['min']:g}, {u['input']['max']:g}] "
                    "(not Hounsfield units): the check asks for the median and the background (1st "
                    "percentile) kept within 3 % of the range and at most 0.1 % of the voxels outside the "
                    "input range +- 10 % (overshoot); outside: " + ", ".join(
                        f"{m} {v['fraction_outside_band']:.1e}" for m, v in scan.units.items())
                )
        if notes:
            lines += [""] + [f"- {n}" for n in notes]
        lines.append("")
    if result.supervised:
        lines.append("Supervised network: " + "; ".join(
            f"x{m.factor}: {m.steps} steps in {m.seconds:.0f} s ({m.cpu_seconds:.0f} CPU s)" for m in result.supervised
        ) + ".")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- everything
def run_medical_benchmark(
    truth_path: str | Path | None,
    real_paths: dict[str, str | Path],
    out_dir: str | Path,
    settings: BenchSettings | None = None,
    *,
    log: Any = None,
) -> BenchResult:
    """Run the simulated comparison on ``truth_path`` (None: skip) and the real-scan comparison on
    ``real_paths`` (``{name: path}``), writing ``results.json``, ``results.md`` and
    ``real_scans.png`` to ``out_dir``.

    Args:
        log: optional ``callable(str)`` for progress lines (the script prints them).
    """
    import torch

    from medsr.io import read
    from medsr.io.atomic import atomic_path

    settings = settings or BenchSettings()
    say = log or (lambda message: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    unknown = [m for m in settings.methods if m not in INTERPOLATIONS + ("self", SUPERVISED)]
    if unknown:
        raise MedsrError(f"unknown method(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(INTERPOLATIONS + ('self', SUPERVISED))}")
    old_threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    t_start = time.perf_counter()
    env = _environment()
    result = BenchResult(settings, [], [], [], env)
    try:
        if truth_path is not None:
            truth = read(truth_path)
            if settings.sim_crop is not None:
                truth = centre_crop(truth, settings.sim_crop, head_centre(truth))
            say(f"truth {Path(truth_path).name}: {truth.shape} at {np.round(truth.spacing, 3).tolist()} mm")
            for factor in settings.factors:
                model = None
                if SUPERVISED in settings.methods:
                    say(f"x{factor}: training {SUPERVISED} on the MNI brain "
                        f"({settings.supervised_steps} steps / {settings.supervised_seconds:g} s at most)")
                    model = train_supervised(int(factor), settings.axis, out, settings)
                    result.supervised.append(model)
                    say(f"x{factor}: {model.steps} steps in {model.seconds:.0f} s")
                rows = simulated_comparison(truth, int(factor), settings, supervised=model)
                result.simulated += rows
                for row in rows:
                    say(f"x{factor} {row.method}: {row.psnr:.2f} dB, SSIM {row.ssim:.4f}, {row.seconds:.1f} s")
        figure_input: list[tuple[RealScan, dict[str, Volume]]] = []
        for name, path in real_paths.items():
            volume = read(path)
            if settings.real_crop is not None:
                volume = centre_crop(volume, settings.real_crop, head_centre(volume))
            say(f"{name}: {volume.shape} at {np.round(volume.spacing, 3).tolist()} mm")
            scan, vols = real_scan_comparison(volume, name, settings)
            result.real.append(scan)
            figure_input.append((scan, vols))
            for row in scan.rows:
                say(f"{name} {row.method}: consistency {row.consistency_psnr:.1f} dB, {row.seconds:.1f} s")
        if figure_input:
            real_scans_figure(figure_input, out / "real_scans.png")
            result.files["figure"] = str(out / "real_scans.png")
    finally:
        torch.set_num_threads(old_threads)
    env["total_seconds"] = time.perf_counter() - t_start
    env["load_average_end"] = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    result.files["json"] = str(out / "results.json")
    result.files["markdown"] = str(out / "results.md")
    with atomic_path(out / "results.json") as tmp:
        Path(tmp).write_text(json.dumps(result.as_dict(), indent=2), encoding="utf-8")
    with atomic_path(out / "results.md") as tmp:
        Path(tmp).write_text(markdown_report(result), encoding="utf-8")
    return result
