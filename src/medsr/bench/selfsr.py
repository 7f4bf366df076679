"""Simulated thick-slice experiments: the benchmark of self-supervised SR (and the demo's core).

An isotropic scan is the truth. A thick-slice acquisition is simulated exactly as a scanner makes
one (review eq. 3 along one axis; :class:`medsr.degrade.ThickSlice`, the grid from
:func:`medsr.volume.zoom_grid`): the LR volume has its own affine, as a real file would. Every
method then goes back to the target grid ``zoom_grid(lr, factors)``, which coincides with the
truth's grid voxel for voxel (checked, in world coordinates), and is scored inside the head.
Every method, the interpolations and self-supervised SR (``self``, SMORE, review section 4.2.2)
alike, runs through the one engine of ``medsr upscale``, :func:`medsr.infer.upscale` with
``method=NAME``. Tables and figures of these results: :func:`medsr.bench.report.metrics_markdown`,
:func:`medsr.bench.figures.comparison_figure`.

Cropping: when the slice-axis length of the truth does not tile with the factor, the truth is
cropped centrally to the largest length that does (:func:`medsr.selfsr.pairs.compatible_length`),
so LR and truth describe the same field of view. The crop is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from medsr.errors import MedsrError
from medsr.volume import TargetGrid, Volume, crop_affine, zoom_grid

if TYPE_CHECKING:
    from medsr.infer import MethodOptions, UpscaleResult

__all__ = [
    "BASELINES",
    "ThickSliceCase",
    "compare",
    "head_centre",
    "head_mask",
    "run_baselines",
    "run_method",
    "score",
    "simulate_thick_slices",
]

#: the interpolation rows of the comparison (nearest, linear, cubic B-spline; MATLAB cubic too)
BASELINES: tuple[str, ...] = ("nearest", "linear", "cubic", "bspline")


@dataclass
class ThickSliceCase:
    """A simulated acquisition: the (cropped) truth, the thick-slice volume and the geometry."""

    truth: Volume
    lr: Volume
    axis: int
    factor: float
    fwhm: float
    profile: str
    crop: tuple[int, int] = (0, 0)
    mask: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), bool))

    @property
    def factors(self) -> tuple[float, float, float]:
        f = [1.0, 1.0, 1.0]
        f[self.axis] = self.factor
        return (f[0], f[1], f[2])

    @property
    def data_range(self) -> float:
        t = self.truth.data
        return float(t.max() - t.min()) or 1.0


def head_mask(truth: np.ndarray, fraction: float = 0.08, dilate: int = 3) -> np.ndarray:
    """Voxels of the head: truth above ``fraction`` of its 99.9th percentile, dilated, holes filled
    slice by slice along every axis (so ventricles and sulci count, air around the head does
    not)."""
    t = np.asarray(truth, dtype=np.float32)
    level = fraction * float(np.percentile(t, 99.9))
    mask = ndimage.binary_dilation(t > level, iterations=dilate) if dilate else t > level
    mask = ndimage.binary_fill_holes(mask)
    for axis in range(mask.ndim):
        filled = np.stack([ndimage.binary_fill_holes(s) for s in np.moveaxis(mask, axis, 0)])
        mask = np.moveaxis(filled, 0, axis)
    return mask


def head_centre(volume: Volume) -> list[int]:
    """Centre of mass of the voxels above 10 % of the 99th percentile (a crop on the head)."""
    d = volume.data[0]
    fg = np.argwhere(d > 0.1 * float(np.percentile(d, 99)))
    return [int(v) for v in fg.mean(axis=0)] if len(fg) else [s // 2 for s in volume.shape]


def simulate_thick_slices(
    truth: Volume, axis: int, factor: float, *, profile: str = "gaussian", fwhm: float | None = None
) -> ThickSliceCase:
    """Crop ``truth`` so that ``factor`` tiles its ``axis``, then acquire thick slices along it.

    Args:
        truth: isotropic (or at least fine) volume, one channel.
        axis: slice axis (0, 1, 2).
        factor: slice spacing in truth voxels.
        profile: "gaussian" or "rect".
        fwhm: slice thickness in truth voxels (default ``factor``: contiguous slices).
    """
    from medsr.degrade import ThickSlice
    from medsr.selfsr.pairs import crop_compatible

    n = truth.shape[axis]
    data, start = crop_compatible(np.asarray(truth.data), axis, factor)
    keep = data.shape[axis + 1]
    begin = [0, 0, 0]
    begin[axis] = start
    cropped = truth.with_data(data, crop_affine(truth.affine, begin))
    fwhm = float(factor if fwhm is None else fwhm)
    lr = ThickSlice(axis, factor, profile, fwhm=fwhm)(cropped)
    case = ThickSliceCase(
        cropped, lr, axis, float(factor), fwhm, profile, (start, n - keep - start)
    )
    shape, affine = zoom_grid(lr.shape, lr.affine, case.factors)
    if tuple(shape) != cropped.shape or not np.allclose(affine, cropped.affine, atol=1e-6):
        raise MedsrError(
            f"the target grid {shape} does not coincide with the truth {cropped.shape}"
        )
    case.mask = head_mask(cropped.data[0])
    return case


def score(case: ThickSliceCase, output: Volume) -> dict[str, float]:
    """PSNR and SSIM (3D, Gaussian window) of ``output`` against the truth, inside the head.

    The output must lie on the truth's grid (same shape, same affine: same world coordinates).
    """
    from medsr.metrics import psnr, ssim

    if output.shape != case.truth.shape or not np.allclose(
        output.affine, case.truth.affine, atol=1e-6
    ):
        raise MedsrError(
            f"output grid {output.shape} differs from the truth grid {case.truth.shape}"
        )
    ref, test = case.truth.data[0], np.asarray(output.data[0], dtype=np.float32)
    r = case.data_range
    return {
        "psnr": float(psnr(ref, test, data_range=r, mask=case.mask)),
        "ssim": float(ssim(ref, test, data_range=r, mask=case.mask)),
    }


def run_method(
    case: ThickSliceCase, method: str, options: MethodOptions | None = None
) -> UpscaleResult:
    """The thick-slice volume up-scaled onto the truth grid by the registered ``method`` with
    :func:`medsr.infer.upscale`, the engine of ``medsr upscale`` (``result.volume``; seconds of
    the method in ``result.timings["upscale"]``, its own record in
    ``result.details["method_info"]``)."""
    from medsr.infer import MethodOptions, UpscaleConfig, upscale

    target = TargetGrid.from_factors(case.lr, case.factors)
    config = UpscaleConfig(method_options=options or MethodOptions())
    return upscale(case.lr, target, method=method, config=config)


def run_baselines(
    case: ThickSliceCase, methods: tuple[str, ...] = BASELINES
) -> dict[str, tuple[Volume, float]]:
    """Interpolate the thick-slice volume onto the truth grid with each baseline (review section
    2.1, through :func:`run_method`): ``{name: (volume, seconds)}``."""
    out: dict[str, tuple[Volume, float]] = {}
    for name in methods:
        result = run_method(case, name)
        out[name] = (result.volume, float(result.timings["upscale"]))
    return out


def compare(
    case: ThickSliceCase,
    self_sr: MethodOptions | None = None,
    methods: tuple[str, ...] = BASELINES,
) -> tuple[dict[str, dict[str, float]], dict[str, Volume], dict[str, Any]]:
    """Score the baselines and, when ``self_sr`` options are given, self-supervised SR (the
    ``self`` method; its options: seed, budget, progress and ``extra`` keys such as ``threads``,
    ``profile``, ``slice_thickness``, ``anti_alias``): ``(metrics, volumes, self-SR info)``, the
    info being the method's own record (stages, budget, seconds)."""
    metrics: dict[str, dict[str, float]] = {}
    volumes: dict[str, Volume] = {}
    for name, (vol, seconds) in run_baselines(case, methods).items():
        metrics[name] = {**score(case, vol), "seconds": seconds}
        volumes[name] = vol
    info: dict[str, Any] = {}
    if self_sr is not None:
        result = run_method(case, "self", self_sr)
        info = result.details.get("method_info") or {}
        metrics["self"] = {**score(case, result.volume), "seconds": result.timings["upscale"]}
        volumes["self"] = result.volume
    return metrics, volumes, info
