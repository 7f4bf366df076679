"""A through-plane network (``configs/through_plane.yaml``) scored on a brain it never saw.

Supervised SR (review section 3, ``g = A f``: pairs made by a known operator) for thick slices:
the recipe trains a 2D network on planes of an isotropic volume thickened along one axis. This
module checks what it buys on *another* subject: the built-in MNI brain
(:func:`medsr.data.sample_path`, 1 mm isotropic, a skull-stripped average brain; the recipe trains
on chris_t1, a T1 with skull) is thickened along z with the recipe's operator
(:func:`medsr.bench.selfsr.simulate_thick_slices`, Gaussian profile, FWHM = the factor), then the
network (through :func:`medsr.infer.upscale`, the engine of ``medsr upscale --weights``, with its
default slicing) and the interpolations of review section 2.1 map it back onto the truth grid;
PSNR / SSIM are measured inside the head mask (:func:`medsr.bench.selfsr.score`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from medsr.volume import TargetGrid, Volume

__all__ = ["ThroughPlaneScore", "evaluate_through_plane"]

#: the interpolations the network is compared with (cubic B-spline is the usual baseline)
BASELINES = ("linear", "cubic", "bspline")


@dataclass
class ThroughPlaneScore:
    """The rows of one evaluation: ``{method: {psnr, ssim, seconds}}`` (network: ``"network"``),
    the factor, the grids and what the engine recorded about the network's run."""

    factor: int
    truth_shape: tuple[int, ...]
    lr_shape: tuple[int, ...]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    network_details: dict[str, object] = field(default_factory=dict)

    def gain_over(self, baseline: str = "bspline") -> float:
        """PSNR of the network minus that of ``baseline`` (dB)."""
        return self.rows["network"]["psnr"] - self.rows[baseline]["psnr"]


def evaluate_through_plane(
    weights: str | Path,
    *,
    factor: int | None = None,
    truth: Volume | None = None,
    axis: int = 2,
    threads: int | None = None,
) -> ThroughPlaneScore:
    """Thick slices (x``factor`` along ``axis``; default: the network's through-plane factor)
    simulated from ``truth`` (default: the built-in MNI brain), restored by the network and by
    :data:`BASELINES`, scored inside the head."""
    from medsr.bench.selfsr import run_method, score, simulate_thick_slices
    from medsr.data import sample
    from medsr.infer import UpscaleConfig, upscale
    from medsr.infer.predictor import Predictor
    from medsr.runtime import torch_threads

    predictor = Predictor.from_weights(weights)
    if factor is None:
        factor = int(max(float(s) for s in predictor.scale))
    case = simulate_thick_slices(truth if truth is not None else sample("brain"), axis, factor)
    out = ThroughPlaneScore(int(factor), tuple(case.truth.shape), tuple(case.lr.shape))
    for name in BASELINES:
        result = run_method(case, name)
        out.rows[name] = {**score(case, result.volume), "seconds": result.timings["upscale"]}
    target = TargetGrid.from_factors(case.lr, case.factors)
    with torch_threads(threads):
        t0 = time.perf_counter()
        result = upscale(case.lr, target, predictor=predictor, config=UpscaleConfig())
    out.rows["network"] = {**score(case, result.volume), "seconds": time.perf_counter() - t0}
    out.network_details = {
        k: v
        for k, v in result.details.items()
        if k in ("network_factors", "slicing", "network_fit")
    }
    return out
