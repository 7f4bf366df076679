"""Figures of the medical benchmarks: through-plane views, magnified windows and error maps.

Thick slices (review eq. 3 along one axis) lose detail across the slices, so both figures show
sections that contain the slice axis and magnify the window where that loss shows most:

* :func:`comparison_figure` (the demo; simulated thick slices of :mod:`medsr.bench.selfsr`):
  three orientations x (thick-slice input, B-spline, self-SR, truth, |error| maps), each with an
  inset of the window where B-spline errs most;
* :func:`real_scans_figure` (:mod:`medsr.bench.medical`, real scans without truth): input,
  B-spline and self-SR side by side with the window of most through-plane edges magnified.

PNG files, written atomically with matplotlib's Agg backend (:mod:`medsr.plotting`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medsr.bench.selfsr import head_centre
from medsr.plotting import agg_pyplot, save_figure

if TYPE_CHECKING:
    from medsr.bench.report import RealScan
    from medsr.bench.selfsr import ThickSliceCase
    from medsr.volume import Volume

__all__ = [
    "VIEWS",
    "busiest_window",
    "comparison_figure",
    "far_corner",
    "magnified_inset",
    "real_scans_figure",
    "restoring_views",
    "worst_window",
]

_FRAME = "#00e5ff"  # colour of the magnified window's outline


# ---------------------------------------------------------------------- windows
def _max_window(score: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` x ``size`` window of ``score`` with the largest sum
    (summed-area table; ``size`` clamped to the image)."""
    size = int(max(1, min(size, *score.shape)))
    sat = np.pad(np.cumsum(np.cumsum(score, 0), 1), ((1, 0), (1, 0)))
    sums = sat[size:, size:] - sat[:-size, size:] - sat[size:, :-size] + sat[:-size, :-size]
    r, c = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(r), int(c)


def worst_window(err: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` x ``size`` window with the largest summed error."""
    return _max_window(err, size)


def busiest_window(img: np.ndarray, size: int, weight: np.ndarray | None = None) -> tuple[int, int]:
    """Top-left corner of the ``size`` x ``size`` window with the most vertical (through-plane)
    edge energy, counted where ``weight`` is set: where thick slices hurt and methods differ."""
    energy = np.abs(np.diff(img, axis=0, append=img[-1:]))
    if weight is not None:
        energy = energy * weight
    return _max_window(energy, size)


def _interior(img: np.ndarray, level: float, margin: float) -> np.ndarray:
    """Pixels deeper than ``margin`` pixels inside the object (``img > level``, holes filled): the
    zoom then shows anatomy rather than the scalp/air edge, which dominates any edge measure."""
    from scipy import ndimage

    filled = ndimage.binary_fill_holes(img > level)
    inside = ndimage.distance_transform_edt(filled) > margin
    return inside.astype(np.float32) if inside.any() else filled.astype(np.float32)


def _section(vol: np.ndarray, centre: Sequence[int], axis: int) -> np.ndarray:
    """The plane of ``vol`` through ``centre`` across ``axis``, rotated for display."""
    return np.rot90(np.take(vol, centre[axis], axis=axis))


# ---------------------------------------------------------------------- files
def far_corner(window: tuple[int, int, int], shape: tuple[int, ...], share: float) -> list[float]:
    """Inset bounds ``[x0, y0, w, h]`` (axes fractions, ``share`` wide and high) in the corner of
    an image of ``shape`` farthest from ``window = (row, col, size)``."""
    r0, c0, size = window
    h, w = shape[:2]
    bottom, right = r0 + size / 2 < h / 2, c0 + size / 2 < w / 2
    rest = round(1.0 - share, 6)
    return [rest if right else 0.0, 0.0 if bottom else rest, share, share]


def magnified_inset(
    ax: Any,
    img: np.ndarray,
    window: tuple[int, int, int],
    corner: Sequence[float],
    *,
    cmap: str,
    vmin: float,
    vmax: float,
) -> Any:
    """Mark ``window = (row, col, size)`` of ``img`` (already shown on ``ax``) by a rectangle and
    show it magnified in an inset of ``ax`` at ``corner`` (framed in the same colour)."""
    from matplotlib.patches import Rectangle

    r0, c0, size = window
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), size, size, fill=False, ec=_FRAME, lw=0.8))
    zoom = ax.inset_axes(list(corner))
    zoom.imshow(
        img[r0 : r0 + size, c0 : c0 + size],
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    zoom.set_xticks([])
    zoom.set_yticks([])
    for spine in zoom.spines.values():
        spine.set_edgecolor(_FRAME)
    return zoom


# ---------------------------------------------------------------------- simulated thick slices
#: the orientations of :func:`comparison_figure`: a name and the array axis held fixed
VIEWS: tuple[tuple[str, int], ...] = (("axial", 2), ("coronal", 1), ("sagittal", 0))


def restoring_views(case: ThickSliceCase, min_side: int = 48) -> list[tuple[str, int]]:
    """The :data:`VIEWS` whose planes contain the thick axis (the others show no restoration) and
    are at least ``min_side`` voxels along both sides (a 24-slice scan's thin planes read as a
    line); all of them when none qualifies."""
    shape = case.truth.shape
    chosen = [
        (name, fixed)
        for name, fixed in VIEWS
        if fixed != case.axis and min(n for a, n in enumerate(shape) if a != fixed) >= min_side
    ]
    return chosen or list(VIEWS)


def comparison_figure(
    case: ThickSliceCase,
    volumes: dict[str, Volume],
    path: Any,
    *,
    metrics: dict[str, dict[str, float]] | None = None,
    inset: int = 40,
    views: Sequence[tuple[str, int]] = VIEWS,
) -> None:
    """The demo figure: orientations (rows; ``views``: name and the array axis held fixed, by
    default :data:`VIEWS`) x (thick-slice input, B-spline, self-SR, truth, errors).

    The thick-slice input is shown with nearest-neighbour replication onto the fine grid (what a
    viewer shows). Each image gets a magnified inset of the window where B-spline errs most, marked
    by a rectangle. Written atomically (matplotlib's Agg backend; no display needed).
    """

    plt = agg_pyplot()
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
        centre = [round(float(c)) for c in np.argwhere(mask).mean(axis=0)]
    ncols = len(panels) + 2
    rows = len(views)
    fig, axes = plt.subplots(
        rows, ncols, figsize=(2.6 * ncols, 2.9 * rows + 0.6), dpi=110, squeeze=False
    )
    for row, (view, fixed) in enumerate(views):

        def cut(vol: np.ndarray, fixed: int = fixed) -> np.ndarray:
            return _section(vol, centre, fixed)

        err_b = np.abs(cut(data["bspline"]) - cut(truth))
        r0, c0 = worst_window(err_b, inset)
        corner = far_corner((r0, c0, inset), err_b.shape, 0.42)
        images = [(cut(data[k]), label, "gray", lo, hi) for k, label in panels]
        images += [
            (np.abs(cut(data["bspline"]) - cut(truth)), "|error| B-spline", "magma", 0, err_max),
            (np.abs(cut(data["self"]) - cut(truth)), "|error| self-SR", "magma", 0, err_max),
        ]
        for col, (img, label, cmap, vmin, vmax) in enumerate(images):
            ax = axes[row, col]
            ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            magnified_inset(ax, img, (r0, c0, inset), corner, cmap=cmap, vmin=vmin, vmax=vmax)
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
    save_figure(fig, path)


# ---------------------------------------------------------------------- real scans
def real_scans_figure(
    scans: Sequence[tuple[RealScan, dict[str, Volume]]],
    path: str | Path,
    *,
    window_mm: float = 32.0,
) -> None:
    """Through-plane views (coronal and sagittal, in voxel space) of each real scan: input
    (nearest-neighbour, what a viewer shows), B-spline and self-SR side by side, then the same
    ``window_mm`` window of each magnified (marked by a rectangle on the full views; chosen where
    the B-spline image has the most through-plane edges inside the head). PNG, written atomically
    with matplotlib's Agg backend."""
    from matplotlib.patches import Rectangle

    plt = agg_pyplot()
    columns = [("nearest", "input (nearest)"), ("bspline", "cubic B-spline"), ("self", "self-SR")]
    rows = [
        (scan, vols, view, axis)
        for scan, vols in scans
        for view, axis in (("coronal", 1), ("sagittal", 0))
    ]
    ncol = 2 * len(columns)
    fig, axes = plt.subplots(
        len(rows), ncol, figsize=(2.5 * ncol, 2.75 * len(rows)), dpi=110, squeeze=False
    )
    for r, (scan, vols, view, fixed) in enumerate(rows):
        ref = vols["nearest"].data[0]
        lo, hi = (float(v) for v in np.percentile(ref, [0.5, 99.5]))
        centre = head_centre(vols["nearest"])
        consistency = {row.method: row.consistency_psnr for row in scan.rows}

        def cut(vol: np.ndarray, fixed: int = fixed, centre: list[int] = centre) -> np.ndarray:
            return _section(vol, centre, fixed)  # superior up

        base = cut(vols["bspline"].data[0]) if "bspline" in vols else cut(ref)
        pixel = float(min(scan.output_spacing))
        size = round(window_mm / pixel)
        r0, c0 = busiest_window(base, size, _interior(base, lo + 0.1 * (hi - lo), 10.0 / pixel))
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
            full.add_patch(
                Rectangle((c0 - 0.5, r0 - 0.5), size, size, fill=False, ec=_FRAME, lw=1.0)
            )
            zoom.imshow(
                img[r0 : r0 + size, c0 : c0 + size],
                cmap="gray",
                vmin=lo,
                vmax=hi,
                interpolation="nearest",
            )
            for spine in zoom.spines.values():
                spine.set_edgecolor(_FRAME)
                spine.set_linewidth(1.5)
            if key in consistency:
                full.text(
                    0.02,
                    0.02,
                    f"consistency {consistency[key]:.1f} dB",
                    transform=full.transAxes,
                    color="white",
                    fontsize=7,
                    va="bottom",
                    bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.5, "lw": 0},
                )
            if r == 0:
                full.set_title(label, fontsize=9)
                zoom.set_title(f"{label}, {window_mm:g} mm window", fontsize=9)
            if c == 0:
                sp = scan.input_spacing
                full.set_ylabel(
                    f"{scan.name} {view}\n{sp[0]:.2f} x {sp[1]:.2f} x {sp[2]:.2f} mm\n"
                    f"-> {pixel:.2f} mm isotropic",
                    fontsize=8,
                )
    fig.suptitle(
        "Real thick-slice scans up-scaled to isotropic voxels: through-plane views (voxel "
        "space, superior at the top) and the marked window magnified",
        fontsize=10,
    )
    save_figure(fig, path)
