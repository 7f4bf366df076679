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
   (:func:`medsr.bench.supervised.train_supervised`). Scores: PSNR, SSIM (3D Gaussian window) and
   NRMSE inside the head (:func:`medsr.bench.selfsr.head_mask`), the data-consistency PSNR ``A x``
   vs ``g`` of the upscale report, wall and CPU time.
2. **Real thick-slice scans, no truth** (:func:`real_scan_comparison`): up-scaled to isotropic
   voxels at the finest in-plane spacing (the SMORE target,
   :func:`medsr.selfsr.plan.default_target_spacing`) with B-spline and self-SR; the data-consistency
   PSNR, the time and an intensity-units check (:func:`units_check`: CT must stay in its units) are
   reported, and :func:`medsr.bench.figures.real_scans_figure` shows through-plane views side by
   side.

:func:`run_medical_benchmark` runs everything and writes ``results.json``, ``results.md``
(:func:`medsr.bench.report.write_results`) and ``real_scans.png`` (all atomically);
``medsr benchmark medical`` is its command line (:mod:`medsr.bench.medical_report` puts the result
into the common report format; ``benchmarks/medical_comparison.py`` forwards to the command).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medsr.bench.report import BenchResult, MethodRow, RealScan, self_sr_note
from medsr.bench.supervised import SUPERVISED, SupervisedModel
from medsr.errors import MedsrError
from medsr.infer.methods import INTERPOLATION_METHODS
from medsr.volume import Volume, crop_affine

if TYPE_CHECKING:
    from medsr.infer import UpscaleResult

__all__ = [
    "INTERPOLATIONS",
    "BenchSettings",
    "centre_crop",
    "real_scan_comparison",
    "run_medical_benchmark",
    "simulated_comparison",
    "units_check",
]

#: the interpolation rows (review section 2.1), in the order of the table
INTERPOLATIONS: tuple[str, ...] = INTERPOLATION_METHODS


# ---------------------------------------------------------------------- settings
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


# ---------------------------------------------------------------------- helpers
def centre_crop(
    volume: Volume, shape: Sequence[int], centre: Sequence[int] | None = None
) -> Volume:
    """A sub-volume of ``shape`` voxels centred on ``centre`` (default: the grid centre), clamped
    inside the volume; its affine comes from :func:`medsr.volume.crop_affine`."""
    size = [min(int(n), s) for n, s in zip(shape, volume.shape)]
    if any(n < 1 for n in size):
        raise MedsrError(f"crop shape {tuple(shape)} must be positive; give sizes of at least 1")
    mid = [s // 2 for s in volume.shape] if centre is None else [int(c) for c in centre]
    start = [int(np.clip(c - n // 2, 0, s - n)) for c, n, s in zip(mid, size, volume.shape)]
    index = (slice(None),) + tuple(slice(b, b + n) for b, n in zip(start, size))
    data = np.ascontiguousarray(volume.data[index])
    return volume.with_data(data, crop_affine(volume.affine, start))


def _timed_upscale(
    volume: Volume,
    target: Any,
    *,
    method: str | None = None,
    predictor: Any = None,
    settings: BenchSettings,
    planes: str | None = None,
) -> tuple[UpscaleResult, float, float]:
    """:func:`medsr.infer.upscale` with wall and CPU (all threads of this process) seconds."""
    from medsr.infer import MethodOptions, UpscaleConfig, upscale

    options = MethodOptions(seed=settings.seed)
    if method == "self":
        options = MethodOptions(
            seed=settings.seed, budget=settings.self_budget, extra=dict(settings.self_options)
        )
    config = UpscaleConfig(method_options=options, planes=planes)
    t0, c0 = time.perf_counter(), time.process_time()
    result = upscale(volume, target, method=method, predictor=predictor, config=config)
    return result, time.perf_counter() - t0, time.process_time() - c0


def _check_grid(method: str, out: Volume, shape: Sequence[int], affine: np.ndarray) -> None:
    """The output lies on the expected grid (same shape, same world coordinates)."""
    if out.shape != tuple(shape) or not np.allclose(out.affine, affine, atol=1e-6):
        raise RuntimeError(f"{method}: output grid {out.shape} is not the target {tuple(shape)}")


# ---------------------------------------------------------------------- 1. simulated, with truth
def simulated_comparison(
    truth: Volume,
    factor: int,
    settings: BenchSettings,
    *,
    supervised: SupervisedModel | None = None,
    volumes: dict[str, Volume] | None = None,
) -> list[MethodRow]:
    """Thick slices of ``truth`` at ``factor`` back onto the truth grid by every method; scored
    inside the head (PSNR, SSIM with the truth's range as peak; NRMSE = ||e|| / ||truth||).
    With ``volumes``, each method's output is kept there by method name, beside ``"truth"`` and
    ``"input"`` (the thick-slice volume), for figures."""
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.infer import Predictor
    from medsr.metrics import nrmse, psnr, ssim
    from medsr.volume import TargetGrid

    case = simulate_thick_slices(truth, settings.axis, float(factor), profile="gaussian")
    target = TargetGrid.from_factors(case.lr, case.factors)
    ref, mask, r = case.truth.data[0], case.mask, case.data_range
    name = f"x{factor}"
    rows: list[MethodRow] = []
    for method in settings.methods:
        if method == SUPERVISED:
            if supervised is None:
                raise MedsrError(
                    f"the {SUPERVISED} row needs a trained network; "
                    "train one with train_supervised first"
                )
            predictor = Predictor.from_weights(supervised.weights)
            result, wall, cpu = _timed_upscale(
                case.lr, target, predictor=predictor, settings=settings, planes="all"
            )
            note = (
                f"{supervised.steps} training steps on MNI; slices fused over "
                f"{result.details['slicing']['axes']}"
            )
            train_s: float | None = supervised.seconds
        else:
            result, wall, cpu = _timed_upscale(case.lr, target, method=method, settings=settings)
            note, train_s = (self_sr_note(result.details), None)
        _check_grid(method, result.volume, case.truth.shape, case.truth.affine)
        if volumes is not None:
            volumes.update({"truth": case.truth, "input": case.lr, method: result.volume})
        test = np.asarray(result.volume.data[0], dtype=np.float32)
        rows.append(
            MethodRow(
                case=name,
                method=method,
                psnr=float(psnr(ref, test, data_range=r, mask=mask)),
                ssim=float(ssim(ref, test, data_range=r, mask=mask)),
                nrmse=float(nrmse(ref, test, mask=mask)),
                consistency_psnr=float(result.consistency["psnr_db"]),
                seconds=wall,
                cpu_seconds=cpu,
                train_seconds=train_s,
                note=note,
            )
        )
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
    percentile) must move by at most 5 % of the range and the band is the input range +- 10 %.
    The 1st percentile gets more room than the median: a restoration sharper than the thick
    slices it starts from deepens thin dark structures (self-SR's phase-aligned default moved it
    by 3.1 % of the range on the quick benchmark's real PD crop, its median by 0.02 %), while a
    lost rescale slope or intercept moves both by far more.
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
        "input": {
            "min": lo,
            "max": hi,
            "p1": float(q_in[0]),
            "median": float(q_in[1]),
            "p99.9": float(q_in[2]),
        },
        "output": {
            "min": float(y.min()),
            "max": float(y.max()),
            "p1": float(q_out[0]),
            "median": float(q_out[1]),
            "p99.9": float(q_out[2]),
        },
        "input_dtype": observed.meta.dtype,
    }
    median_ok = abs(float(q_out[1] - q_in[1])) <= 0.03 * span
    if hounsfield:
        air = y[y < -500]
        air_hu = float(np.median(air)) if air.size else float("nan")
        outside = float(np.mean((y < -1500) | (y > 4000)))
        ok = median_ok and abs(air_hu + 1000.0) <= 100.0 and outside <= 1e-3
        report.update(
            {"air_hu": air_hu, "fraction_outside_band": outside, "band": [-1500.0, 4000.0]}
        )
    else:
        band = [lo - 0.1 * span, hi + 0.1 * span]
        outside = float(np.mean((y < band[0]) | (y > band[1])))
        ok = median_ok and abs(float(q_out[0] - q_in[0])) <= 0.05 * span and outside <= 1e-3
        report.update({"fraction_outside_band": outside, "band": band})
    report["ok"] = bool(ok)
    return report


def real_scan_comparison(
    volume: Volume, name: str, settings: BenchSettings
) -> tuple[RealScan, dict[str, Volume]]:
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
        result, wall, cpu = _timed_upscale(volume, target, method=method, settings=settings)
        _check_grid(method, result.volume, target.shape, target.affine)
        units[method] = units_check(volume, result.volume)
        rows.append(
            MethodRow(
                name,
                method,
                None,
                None,
                None,
                float(result.consistency["psnr_db"]),
                wall,
                cpu,
                note=self_sr_note(result.details) if method == "self" else "",
            )
        )
        volumes[method] = result.volume
    nearest = zoom_array(np.asarray(volume.data, dtype=np.float32), target.factors, "nearest")
    volumes["nearest"] = volume.with_data(nearest, target.affine.copy())
    scan = RealScan(
        name,
        volume.shape,
        tuple(float(s) for s in volume.spacing),  # type: ignore[arg-type]
        tuple(target.shape),  # type: ignore[arg-type]
        tuple(float(s) for s in target.spacing),  # type: ignore[arg-type]
        tuple(float(f) for f in target.factors),  # type: ignore[arg-type]
        rows,
        units,
        np.asarray(target.affine).tolist(),
    )
    return scan, volumes


# ---------------------------------------------------------------------- everything
def _simulated(
    truth_path: str | Path,
    out: Path,
    settings: BenchSettings,
    result: BenchResult,
    say: Any,
    volumes: dict[int, dict[str, Volume]] | None = None,
) -> None:
    """The simulated table at every factor (training the supervised network first if asked)."""
    from medsr.bench.selfsr import head_centre
    from medsr.bench.supervised import train_supervised
    from medsr.io import read

    truth = read(truth_path)
    if settings.sim_crop is not None:
        truth = centre_crop(truth, settings.sim_crop, head_centre(truth))
    say(f"truth {Path(truth_path).name}: {truth.shape} at {np.round(truth.spacing, 3).tolist()} mm")
    for factor in settings.factors:
        model = None
        if SUPERVISED in settings.methods:
            say(
                f"x{factor}: training {SUPERVISED} on the MNI brain "
                f"({settings.supervised_steps} steps / {settings.supervised_seconds:g} s at most)"
            )
            model = train_supervised(int(factor), settings.axis, out, settings)
            result.supervised.append(model)
            say(f"x{factor}: {model.steps} steps in {model.seconds:.0f} s")
        kept = None if volumes is None else volumes.setdefault(int(factor), {})
        rows = simulated_comparison(
            truth, int(factor), settings, supervised=model, volumes=kept
        )
        result.simulated += rows
        for row in rows:
            say(
                f"x{factor} {row.method}: {row.psnr:.2f} dB, SSIM {row.ssim:.4f}, "
                f"{row.seconds:.1f} s"
            )


def _real(
    real_paths: dict[str, str | Path],
    out: Path,
    settings: BenchSettings,
    result: BenchResult,
    say: Any,
) -> None:
    """The real-scan table and its figure ``real_scans.png``."""
    from medsr.bench.figures import real_scans_figure
    from medsr.bench.selfsr import head_centre
    from medsr.io import read

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
            say(
                f"{name} {row.method}: consistency {row.consistency_psnr:.1f} dB, "
                f"{row.seconds:.1f} s"
            )
    if figure_input:
        real_scans_figure(figure_input, out / "real_scans.png")
        result.files["figure"] = str(out / "real_scans.png")


def run_medical_benchmark(
    truth_path: str | Path | None,
    real_paths: dict[str, str | Path],
    out_dir: str | Path,
    settings: BenchSettings | None = None,
    *,
    log: Any = None,
    volumes: dict[int, dict[str, Volume]] | None = None,
) -> BenchResult:
    """Run the simulated comparison on ``truth_path`` (None: skip) and the real-scan comparison on
    ``real_paths`` (``{name: path}``), writing ``results.json``, ``results.md`` and
    ``real_scans.png`` to ``out_dir``.

    Torch runs with ``settings.threads`` threads (:func:`medsr.runtime.torch_threads`: the old
    number is restored on exit); the machine and its load go into ``results.json``
    (:func:`medsr.bench.report.environment`).

    Args:
        log: optional ``callable(str)`` for progress lines (the script prints them).
        volumes: optional ``{}`` that receives, per simulated factor, the truth, the thick-slice
            input and every method's output (``{factor: {name: Volume}}``), for figures.
    """
    from medsr.bench.report import environment, finish_environment, write_results
    from medsr.runtime import torch_threads

    settings = settings or BenchSettings()
    say = log or (lambda message: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    known = INTERPOLATIONS + ("self", SUPERVISED)
    unknown = [m for m in settings.methods if m not in known]
    if unknown:
        raise MedsrError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    t_start = time.perf_counter()
    with torch_threads(settings.threads):
        env = environment()
        result = BenchResult(settings, [], [], [], env)
        if truth_path is not None:
            _simulated(truth_path, out, settings, result, say, volumes)
        _real(real_paths, out, settings, result, say)
    finish_environment(env, t_start)
    write_results(result, out)
    return result
