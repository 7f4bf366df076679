"""2D networks on volumes: slice by slice along one axis, or fused over several orientations.

A 2D network with in-plane factors ``(a, b)`` up-samples the two axes of each slice. Run along the
slicing axis ``k``, it can only zoom the other two axes, so ``factors[k]`` must be 1: to restore
thick slices (say ``(1, 1, 4)``) one slices along x or y, so that every slice *contains* the
through-plane axis, and lets the network (trained with factors ``(1, 4)``) sharpen it.

Orientation fusion follows SMORE (Zhao et al., "SMORE: a self-supervised anti-aliasing and
super-resolution algorithm for MRI using deep learning", IEEE TMI 2021) and ECLARE (Remedios et al.
2023): the same 2D network is applied to the slices of every plane that contains the up-sampled
axis, and the results, which live on one output grid, are averaged. Averaging is done in place:
each plane adds ``1 / n_planes`` of its result to the output.

When a plane's in-plane factors are the network's in reverse order (``(4, 1)`` for a ``(1, 4)``
network) slices are transposed on the fly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.infer.sliding import Blend, plan_tiles, tiled_predict

__all__ = [
    "ForegroundCrop",
    "matching_axes",
    "plane_axes",
    "slicewise_predict",
    "windows_per_plane",
]

_AXIS_NAMES = "xyz"


def plane_axes(axis: int) -> tuple[int, int]:
    """The two array axes lying in a slice taken along ``axis``."""
    if axis not in (0, 1, 2):
        raise OptionError(f"{{axis}} must be 0, 1 or 2 (x, y, z), got {axis}")
    return tuple(a for a in range(3) if a != axis)  # type: ignore[return-value]


def _orientation(axis: int, net_scale: Sequence[int], factors: Sequence[int]) -> bool | None:
    """False: slices as they are; True: transpose them; None: this plane cannot be used."""
    if factors[axis] != 1:
        return None
    p, q = plane_axes(axis)
    want = (factors[p], factors[q])
    if tuple(net_scale) == want:
        return False
    if tuple(net_scale)[::-1] == want:
        return True
    return None


def matching_axes(net_scale: Sequence[int], factors: Sequence[int]) -> list[int]:
    """Slicing axes along which a 2D network with ``net_scale`` realises the 3D ``factors``."""
    return [a for a in range(3) if _orientation(a, net_scale, factors) is not None]


def check_axis(axis: int, net_scale: Sequence[int], factors: Sequence[int]) -> None:
    """Raise a MedsrError saying why a 2D network cannot run along ``axis``."""
    if _orientation(axis, net_scale, factors) is not None:
        return
    name = _AXIS_NAMES[axis]
    if factors[axis] != 1:
        raise OptionError(
            f"a 2D network cannot up-sample across its slices: factor {factors[axis]} along the "
            f"slicing axis {axis} ({name}); "
            "choose {axis} so the slices contain that axis, or {planes}"
        )
    p, q = plane_axes(axis)
    raise MedsrError(
        f"model scale mismatch: the 2D network up-samples by {tuple(net_scale)} but slices along "
        f"axis {axis} need {(factors[p], factors[q])}; use a model trained for these factors"
    )


def windows_per_plane(
    shape: Sequence[int],
    axis: int,
    net_scale: Sequence[int],
    factors: Sequence[int],
    tile: int | Sequence[int] | None,
    overlap: int,
    blend: Blend = "hann",
) -> int:
    """Number of network windows one plane needs (for progress bars)."""
    transpose = _orientation(axis, net_scale, factors)
    p, q = plane_axes(axis)
    size = (shape[q], shape[p]) if transpose else (shape[p], shape[q])
    return len(plan_tiles(size, net_scale, tile, overlap, blend=blend)) * int(shape[axis])


@dataclass(frozen=True)
class ForegroundCrop:
    """Run the network only on the foreground of each group of slices (restoration networks).

    A group of ``batch_size`` consecutive slices is cropped to the bounding box of its voxels above
    ``threshold`` (all channels), widened by ``margin`` voxels on each side (choose it wider than
    the network's receptive field reaches into air). Outside the box the output is the input itself,
    so this applies only to networks whose output grid equals their input grid (scale 1, as the
    self-SR network; SMORE, review section 4.2.2). A group with no foreground is copied unchanged.
    """

    threshold: float = 0.05
    margin: int = 16
    row_period: int = 1

    def box(self, stack: np.ndarray) -> tuple[slice, slice] | None:
        """Bounding box (rows, cols) of ``stack`` ``(..., R, W)`` above ``threshold``, widened.

        With ``row_period`` > 1 the box's rows start at a multiple of ``row_period`` and span a
        multiple of it (where the stack allows): a network trained on patches whose rows start on
        the period of the sampled slices then sees them at the same phase."""
        mask = stack > self.threshold
        lead = tuple(range(mask.ndim - 2))
        rows = np.flatnonzero(mask.any(axis=lead + (mask.ndim - 1,)))
        cols = np.flatnonzero(mask.any(axis=lead + (mask.ndim - 2,)))
        if rows.size == 0:
            return None
        r0, r1 = max(0, rows[0] - self.margin), min(stack.shape[-2], rows[-1] + 1 + self.margin)
        c0, c1 = max(0, cols[0] - self.margin), min(stack.shape[-1], cols[-1] + 1 + self.margin)
        if self.row_period > 1:
            period = int(self.row_period)
            r0 -= r0 % period
            r1 = min(stack.shape[-2], r0 + -(-(r1 - r0) // period) * period)
        return slice(int(r0), int(r1)), slice(int(c0), int(c1))


def slicewise_predict(
    x: np.ndarray,
    out: np.ndarray,
    predict: Callable[[np.ndarray], np.ndarray],
    net_scale: Sequence[int],
    factors: Sequence[int],
    axis: int,
    *,
    tile: int | Sequence[int] | None = None,
    overlap: int = 8,
    blend: Blend = "hann",
    batch_size: int = 8,
    weight: float = 1.0,
    rows_axis: int | None = None,
    foreground: ForegroundCrop | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Add ``weight`` times the slice-by-slice network output along ``axis`` into ``out``.

    Args:
        x: ``(C, X, Y, Z)`` float32 input.
        out: ``(C, X fx, Y fy, Z fz)`` writable output (added to, not overwritten).
        predict: 2D batch function ``(B, C, P, Q) -> (B, C, P a, Q b)``.
        net_scale: the network's in-plane integer factors ``(a, b)``.
        factors: integer 3D factors of ``out`` relative to ``x`` (``factors[axis] == 1``).
        axis: slicing axis.
        tile, overlap, blend: 2D tiling inside each slice (``tile=None``: whole slices).
        batch_size: slices (or in-slice windows) per forward pass.
        rows_axis: show the slices with this volume axis along their rows (a network trained with
            the thick axis along its rows, as self-SR's, must see it there); default: the
            orientation the factors require (array order unless the network's factors are reversed).
        foreground: compute only the foreground of each group of ``batch_size`` slices
            (:class:`ForegroundCrop`; networks with ``net_scale == (1, 1)`` only).
        progress: called with the number of windows (or, with ``foreground``, slices) done.
    """
    check_axis(axis, net_scale, factors)
    transpose = bool(_orientation(axis, net_scale, factors))
    if rows_axis is not None:
        p, _ = plane_axes(axis)
        if rows_axis not in plane_axes(axis):
            raise ValueError(f"rows_axis {rows_axis} does not lie in slices along axis {axis}")
        if rows_axis != p and tuple(net_scale) != tuple(net_scale)[::-1]:
            raise ValueError("rows_axis can reorient only networks with equal in-plane factors")
        transpose = rows_axis != p
    items = []
    for k in range(x.shape[axis + 1]):
        index = (slice(None),) * (axis + 1) + (k,)
        xs, os_ = x[index], out[index]
        if transpose:
            xs, os_ = xs.swapaxes(1, 2), os_.swapaxes(1, 2)
        items.append((xs, os_))
    if foreground is None:
        plan = plan_tiles(items[0][0].shape[1:], net_scale, tile, overlap, blend=blend)
        tiled_predict(items, predict, plan, batch_size=batch_size, weight=weight, progress=progress)
        return
    if tuple(int(s) for s in net_scale) != (1, 1):
        raise ValueError("a foreground crop needs a network whose output grid is its input grid")
    for start in range(0, len(items), batch_size):
        group = items[start : start + batch_size]
        for xs, os_ in group:  # outside the box: the input itself
            os_ += weight * np.asarray(xs, dtype=np.float32)
        box = foreground.box(np.stack([xs for xs, _ in group]))
        if box is not None:
            cropped = [(xs[:, box[0], box[1]], os_[:, box[0], box[1]]) for xs, os_ in group]
            for xs, os_ in cropped:
                os_ -= weight * np.asarray(xs, dtype=np.float32)
            plan = plan_tiles(cropped[0][0].shape[1:], net_scale, tile, overlap, blend=blend)
            tiled_predict(cropped, predict, plan, batch_size=batch_size, weight=weight)
        if progress is not None:
            progress(len(group))
