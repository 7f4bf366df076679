"""A quick look at an up-scaling (``medsr upscale --figure``): the scan as read beside the result.

People check a super-resolved scan by looking at it, not by reading its sidecar. The figure puts
the input and the result side by side in the three anatomical orientations (axial, coronal,
sagittal: the planes through the scan's centre, shown in RAS orientation at their physical size,
so a thick-slice input looks blocky along its slice axis and the result does not); a 2D picture
gets one pair. Input and result share one intensity window (0.5-99.5 percentiles of the input's
planes; a picture's full 8- or 16-bit range), so the result's overshoots show. Written as
``OUT.png`` beside ``OUT`` and ``OUT.json`` (:func:`figure_path`), in the same atomic group as
the scan.

Only the three central planes are copied into memory, so a memory-mapped volume larger than
memory costs three planes of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from medsr.plotting import agg_pyplot, save_figure
from medsr.volume import Volume, spacing_of

__all__ = ["VIEWS", "figure_path", "plane", "preview_figure"]

#: the orientations drawn for a volume: name, the RAS axis held fixed, and the RAS axes shown
#: horizontally and vertically (vertical increasing upwards)
VIEWS: tuple[tuple[str, int, int, int], ...] = (
    ("axial", 2, 0, 1),
    ("coronal", 1, 0, 2),
    ("sagittal", 0, 1, 2),
)


def figure_path(output: str | os.PathLike[str]) -> Path:
    """``OUT.png`` for ``OUT`` (``out.nii.gz`` -> ``out.nii.gz.png``), beside ``OUT.json``."""
    return Path(str(output) + ".png")


def _ras_axes(affine: np.ndarray) -> tuple[list[int], list[int]]:
    """For each array axis, the RAS axis it runs along and its direction (+1 or -1)."""
    from nibabel.orientations import io_orientation

    ornt = io_orientation(np.asarray(affine, dtype=float))
    return [int(a) for a in ornt[:, 0]], [int(s) for s in ornt[:, 1]]


def plane(
    volume: Volume, fixed: int, horizontal: int, vertical: int, index: int | None = None
) -> tuple[np.ndarray, float, float, int]:
    """The plane of ``volume`` across RAS axis ``fixed`` (array index ``index`` along it, default
    the centre) as ``(image, width mm, height mm, index)``: rows run along ``vertical`` (row 0 at
    the low end, for ``origin="lower"``), columns along ``horizontal``, each increasing in RAS;
    ``image`` is ``(rows, cols)`` or ``(rows, cols, C)`` for several channels."""
    ras, sign = _ras_axes(volume.affine)
    spacing = spacing_of(volume.affine)
    axis = ras.index(fixed)
    n = volume.shape[axis]
    index = n // 2 if index is None else int(np.clip(index, 0, n - 1))
    data = np.asarray(np.take(volume.data, index, axis=axis + 1), dtype=np.float32)  # (C, a, b)
    kept = [a for a in range(3) if a != axis]
    for k, a in enumerate(kept):  # each kept array axis increasing in RAS
        if sign[a] < 0:
            data = np.flip(data, axis=k + 1)
    rows, cols = kept.index(ras.index(vertical)), kept.index(ras.index(horizontal))
    image = np.moveaxis(data, (rows + 1, cols + 1, 0), (0, 1, 2))
    a_row, a_col = kept[rows], kept[cols]
    width = float(volume.shape[a_col] * spacing[a_col])
    height = float(volume.shape[a_row] * spacing[a_row])
    return (image[..., 0] if image.shape[2] == 1 else image), width, height, index


def _matching_index(index: int, n_source: int, n_result: int) -> int:
    """The result's plane nearest (in world position) to plane ``index`` of the source: the grid
    change keeps the world centre and the field of view (:func:`medsr.volume.zoom_grid`)."""
    return round((index + 0.5) * n_result / n_source - 0.5)


def _picture(volume: Volume) -> tuple[np.ndarray, float, float, int]:
    """A 2D picture's pixels, row 0 at the top (shown with the rows flipped for ``origin="lower"``),
    with its size in pixels as its physical size."""
    data = np.asarray(volume.data[..., 0], dtype=np.float32)  # (C, H, W)
    image = np.moveaxis(data, 0, -1)[::-1]
    height, width = image.shape[:2]
    return (image[..., 0] if image.shape[2] == 1 else image), float(width), float(height), 0


def _display(image: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Grey images with the window ``lo, hi``; colour ones scaled into [0, 1] by it."""
    if image.ndim == 3:
        rgb = np.clip((image[..., :3] - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
        return rgb, {}
    return image, {"cmap": "gray", "vmin": lo, "vmax": hi}


def _grid(volume: Volume) -> str:
    if volume.meta.is_2d:
        return f"{volume.shape[1]}x{volume.shape[0]} pixels"
    shape = "x".join(str(n) for n in volume.shape)
    spacing = "x".join(f"{v:.3g}" for v in spacing_of(volume.affine))
    return f"{shape} at {spacing} mm"


def preview_figure(
    source: Volume,
    result: Volume,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    atomic: bool = True,
) -> None:
    """Draw ``source`` (the scan as read) beside ``result`` (on its finer grid) and write a PNG at
    ``path``: rows = orientations (one for a 2D picture), columns = input and result, each plane
    at its physical size. ``atomic=False`` when ``path`` is already a staged temporary."""
    plt = agg_pyplot()
    if source.meta.is_2d:  # a picture, (C, H, W, 1): shown as any picture viewer shows it
        pairs = [("picture", _picture(source), _picture(result))]
    else:
        ras = _ras_axes(source.affine)[0]
        views = list(VIEWS)
        if 1 in source.shape:  # one slice: its own plane only
            views = [v for v in VIEWS if v[1] == ras[source.shape.index(1)]]
        pairs = []
        for name, fixed, horizontal, vertical in views:
            src = plane(source, fixed, horizontal, vertical)
            axis = ras.index(fixed)
            index = _matching_index(src[3], source.shape[axis], result.shape[axis])
            pairs.append((name, src, plane(result, fixed, horizontal, vertical, index)))
    stored = np.dtype(source.meta.dtype)
    if source.meta.is_2d and stored.kind in "ui":  # a picture: its full 8- or 16-bit range
        lo, hi = 0.0, float(np.iinfo(stored).max)
    else:
        values = np.concatenate([p[1][0].ravel() for p in pairs])
        lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
        hi = hi if hi > lo else lo + 1.0
    width_in = 4.0  # each column; every row as tall as its planes at that width (plus a title)
    heights = [
        min(6.0, max(0.5, width_in * max(src[2] / src[1], res[2] / res[1])))
        for _, src, res in pairs
    ]
    fig, axes = plt.subplots(
        len(pairs), 2, figsize=(2 * width_in, sum(heights) + 0.35 * len(pairs) + 0.4), dpi=100,
        squeeze=False, gridspec_kw={"height_ratios": heights},
    )
    for row, (name, src, res) in enumerate(pairs):
        for col, (label, (image, width, height, _), vol) in enumerate(
            (("input", src, source), ("result", res, result))
        ):
            ax = axes[row][col]
            shown, style = _display(image, lo, hi)
            ax.imshow(
                shown, origin="lower", extent=(0.0, width, 0.0, height),
                interpolation="nearest", **style,
            )
            ax.set_title(f"{label} ({name}), {_grid(vol)}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    save_figure(fig, path, atomic=atomic)
