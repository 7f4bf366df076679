"""Simulated thick-slice experiments: the benchmark of self-supervised SR (and the demo's core).

An isotropic scan is the truth. A thick-slice acquisition is simulated exactly as a scanner makes
one (review eq. 3 along one axis; :class:`medsr.degrade.ThickSlice`, the grid from
:func:`medsr.volume.zoom_grid`): the LR volume has its own affine, as a real file would. Every
method then goes back to the target grid ``zoom_grid(lr, factors)``, which coincides with the
truth's grid voxel for voxel (checked, in world coordinates), and is scored inside the head.

Cropping: when the slice-axis length of the truth does not tile with the factor, the truth is
cropped centrally to the largest length that does (:func:`medsr.selfsr.pairs.compatible_length`),
so LR and truth describe the same field of view. The crop is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from medsr.errors import MedsrError
from medsr.volume import Volume, crop_affine, zoom_grid

__all__ = [
    "BASELINES",
    "ThickSliceCase",
    "compare",
    "comparison_figure",
    "head_mask",
    "metrics_markdown",
    "run_baselines",
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
    from medsr.selfsr.pairs import compatible_length

    n = truth.shape[axis]
    keep = compatible_length(n, factor)
    start = (n - keep) // 2
    index = [slice(None)] * 4
    index[axis + 1] = slice(start, start + keep)
    begin = [0, 0, 0]
    begin[axis] = start
    cropped = truth.with_data(
        np.ascontiguousarray(truth.data[tuple(index)], dtype=np.float32),
        crop_affine(truth.affine, begin),
    )
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


def run_baselines(
    case: ThickSliceCase, methods: tuple[str, ...] = BASELINES
) -> dict[str, tuple[Volume, float]]:
    """Interpolate the thick-slice volume onto the truth grid with each baseline: ``{name:
    (volume, seconds)}``."""
    from medsr.interpolate import zoom_array

    out: dict[str, tuple[Volume, float]] = {}
    for name in methods:
        t = time.perf_counter()
        data = zoom_array(np.asarray(case.lr.data, dtype=np.float32), case.factors, name)
        out[name] = (case.lr.with_data(data, case.truth.affine.copy()), time.perf_counter() - t)
    return out


def compare(
    case: ThickSliceCase,
    self_sr: Callable[[Volume, tuple[float, float, float]], tuple[Volume, dict[str, Any]]]
    | None = None,
    methods: tuple[str, ...] = BASELINES,
) -> tuple[dict[str, dict[str, float]], dict[str, Volume], dict[str, Any]]:
    """Score the baselines and (optionally) self-SR: ``(metrics, volumes, self-SR info)``."""
    metrics: dict[str, dict[str, float]] = {}
    volumes: dict[str, Volume] = {}
    for name, (vol, seconds) in run_baselines(case, methods).items():
        metrics[name] = {**score(case, vol), "seconds": seconds}
        volumes[name] = vol
    info: dict[str, Any] = {}
    if self_sr is not None:
        t = time.perf_counter()
        vol, info = self_sr(case.lr, case.factors)
        metrics["self"] = {**score(case, vol), "seconds": time.perf_counter() - t}
        volumes["self"] = vol
    return metrics, volumes, info


# ---------------------------------------------------------------------- reporting
_LABELS = {
    "nearest": "nearest",
    "linear": "linear",
    "cubic": "cubic (MATLAB bicubic)",
    "bspline": "cubic B-spline",
    "self": "self-SR (SMORE-like)",
}


def metrics_markdown(
    metrics: dict[str, dict[str, float]], title: str, notes: list[str] | None = None
) -> str:
    """A Markdown table: method, PSNR, SSIM (inside the head), gain over B-spline, seconds."""
    ref = metrics.get("bspline", {}).get("psnr")
    lines = [
        f"# {title}",
        "",
        "| method | PSNR (dB) | SSIM | vs B-spline (dB) | seconds |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, m in metrics.items():
        gain = "" if ref is None else f"{m['psnr'] - ref:+.2f}"
        lines.append(
            f"| {_LABELS.get(name, name)} | {m['psnr']:.2f} | {m['ssim']:.4f} | {gain} | "
            f"{m.get('seconds', float('nan')):.1f} |"
        )
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _worst_window(err: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` x ``size`` window with the largest summed error."""
    size = int(min(size, *err.shape))
    sat = np.pad(np.cumsum(np.cumsum(err, 0), 1), ((1, 0), (1, 0)))
    sums = sat[size:, size:] - sat[:-size, size:] - sat[size:, :-size] + sat[:-size, :-size]
    r, c = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(r), int(c)


def comparison_figure(
    case: ThickSliceCase,
    volumes: dict[str, Volume],
    path: Any,
    *,
    metrics: dict[str, dict[str, float]] | None = None,
    inset: int = 40,
) -> None:
    """The demo figure: three orientations x (thick-slice input, B-spline, self-SR, truth, errors).

    The thick-slice input is shown with nearest-neighbour replication onto the fine grid (what a
    viewer shows). Each image gets a magnified inset of the window where B-spline errs most, marked
    by a rectangle. Written atomically (matplotlib's Agg backend; no display needed).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from medsr.io.atomic import atomic_path

    truth = case.truth.data[0]
    lo, hi = float(np.percentile(truth, 0.5)), float(np.percentile(truth, 99.8))
    err_max = 0.25 * (hi - lo)
    panels = [
        ("nearest", "thick-slice input"),
        ("bspline", "cubic B-spline"),
        ("self", "self-SR"),
        ("truth", "truth"),
    ]
    data = {k: (truth if k == "truth" else volumes[k].data[0]) for k, _ in panels}
    centre = [n // 2 for n in truth.shape]
    # a slice through the brain's centre of mass reads better than the geometric centre
    mask = case.mask if case.mask.shape == truth.shape else truth > lo
    if mask.any():
        centre = [int(round(c)) for c in np.argwhere(mask).mean(axis=0)]
    views = [("axial", 2), ("coronal", 1), ("sagittal", 0)]
    ncols = len(panels) + 2
    fig, axes = plt.subplots(3, ncols, figsize=(2.6 * ncols, 2.9 * 3), dpi=110)
    for row, (view, fixed) in enumerate(views):

        def cut(vol: np.ndarray, fixed: int = fixed) -> np.ndarray:
            return np.rot90(np.take(vol, centre[fixed], axis=fixed))

        err_b = np.abs(cut(data["bspline"]) - cut(truth))
        r0, c0 = _worst_window(err_b, inset)
        # the inset goes to the corner farthest from the magnified window
        h, w = err_b.shape
        bottom, right = r0 + inset / 2 < h / 2, c0 + inset / 2 < w / 2
        corner = [0.58 if right else 0.0, 0.0 if bottom else 0.58, 0.42, 0.42]
        images = [(cut(data[k]), label, "gray", lo, hi) for k, label in panels]
        images += [
            (np.abs(cut(data["bspline"]) - cut(truth)), "|error| B-spline", "magma", 0, err_max),
            (np.abs(cut(data["self"]) - cut(truth)), "|error| self-SR", "magma", 0, err_max),
        ]
        for col, (img, label, cmap, vmin, vmax) in enumerate(images):
            ax = axes[row, col]
            ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.add_patch(
                Rectangle((c0 - 0.5, r0 - 0.5), inset, inset, fill=False, ec="#00e5ff", lw=0.8)
            )
            zoom = ax.inset_axes(corner)
            zoom.imshow(
                img[r0 : r0 + inset, c0 : c0 + inset],
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                interpolation="nearest",
            )
            zoom.set_xticks([])
            zoom.set_yticks([])
            for spine in zoom.spines.values():
                spine.set_edgecolor("#00e5ff")
            ax.set_xticks([])
            ax.set_yticks([])
            title = label
            key = {"cubic B-spline": "bspline", "self-SR": "self"}.get(label)
            if metrics and key in metrics and row == 0:
                title += f"\n{metrics[key]['psnr']:.2f} dB / {metrics[key]['ssim']:.3f}"
            if row == 0:
                ax.set_title(title, fontsize=9)
            if col == 0:
                ax.set_ylabel(view, fontsize=10)
    spacing = case.lr.spacing[case.axis]
    fig.suptitle(
        f"Self-supervised SR of {spacing:.3g} mm thick slices (Gaussian profile) back to "
        f"{case.truth.spacing[case.axis]:.3g} mm; PSNR/SSIM inside the head",
        fontsize=11,
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
