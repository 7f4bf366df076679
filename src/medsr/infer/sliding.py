"""Sliding-window inference with anisotropic zoom and a separable blending normaliser.

A network rarely fits a whole scan in memory, so it runs on overlapping windows. In SR the output
window is the input window times the per-axis factors ``s`` (``(1, 1, 4)`` for thick slices), so
window ``[p, p + t)`` of the input lands on ``[p s, (p + t) s)`` of the output grid — the grid of
:func:`medsr.volume.zoom_grid` with integer factors, whose voxels tile the input voxels exactly.

We write our own tiling rather than use MONAI's ``sliding_window_inference``: that routine assumes
the output grid is the input grid (or one isotropic zoom), and keeps an importance map and a weight
accumulator at output resolution, which doubles the memory of the largest array. Here:

* windows along each axis start at ``0, t - o, 2 (t - o), ...`` and the last one is clamped to
  ``n - t``; the set of windows is the Cartesian product of the per-axis start lists;
* each window's weight is a product of 1D profiles ``w(x) = w_0(x_0) w_1(x_1) w_2(x_2)``, so the
  sum of the weights of all windows at a voxel factorises: ``N(x) = prod_a sum_k w_a,k(x_a)``.
  Dividing each 1D profile by its 1D sum before accumulating makes the weights of the windows
  covering any voxel add up to one. No accumulator at output resolution is ever needed: tiles are
  added straight into the preallocated output;
* a profile is flat (1) inside the window and near the volume's borders, zero in a ``halo`` of
  ``overlap // 4`` input voxels at each interior edge (where zero padding makes a network's output
  wrong), and rises across the rest of the overlap as a raised cosine ("hann", a Tukey window) or a
  Gaussian bump ("gaussian", sigma = window/8 as in nnU-Net, Isensee et al. 2021). Hence for a
  network whose receptive-field radius is at most the halo the tiled result equals the untiled one
  up to float rounding, and elsewhere seams are blended smoothly.

The same machinery serves 2D networks on slices (:mod:`medsr.infer.slicewise`): a 2D plan applied
to a stack of slices.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from medsr.errors import MedsrError, OptionError

__all__ = [
    "AxisPlan",
    "Blend",
    "TilePlan",
    "plan_axis",
    "plan_tiles",
    "tiled_predict",
    "window_starts",
]

Blend = Literal["hann", "gaussian"]
PredictFn = Callable[[np.ndarray], np.ndarray]
ProgressFn = Callable[[int], None]


def window_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start indices of windows of length ``tile`` covering ``[0, n)`` with at least ``overlap``.

    The stride is ``tile - overlap``; the last window is clamped to end at ``n``.
    """
    if tile >= n:
        return [0]
    if not 0 <= overlap < tile:
        raise OptionError(f"{{overlap}} ({overlap}) must be smaller than {{tile}} ({tile})")
    stride = tile - overlap
    starts = list(range(0, n - tile, stride))
    starts.append(n - tile)
    return sorted(set(starts))


def _ramp(u: np.ndarray, blend: Blend) -> np.ndarray:
    """Rising edge on ``u`` in [0, 1]: 0 at 0, 1 at 1."""
    u = np.clip(u, 0.0, 1.0)
    if blend == "hann":
        return 0.5 - 0.5 * np.cos(np.pi * u)
    raise ValueError(blend)


def _profile(
    tile: int, scale: int, overlap: int, halo: int, blend: Blend, left: bool, right: bool
) -> np.ndarray:
    """1D weight of one window at output resolution (``tile * scale`` samples).

    ``left``/``right`` say whether that edge of the window is interior (another window overlaps it)
    rather than the volume's border. Samples sit at input-unit coordinates ``u = (j + 0.5) / s``.
    """
    u = (np.arange(tile * scale, dtype=np.float64) + 0.5) / scale
    w = np.ones_like(u)
    width = max(overlap - 2 * halo, 1e-9)
    if blend == "gaussian":
        sigma = tile / 8.0
        bump = np.exp(-0.5 * ((u - tile / 2.0) / sigma) ** 2)
        # flat towards borders of the volume: only interior sides fall off
        if left:
            w = np.where(u < tile / 2.0, bump, w)
        if right:
            w = np.where(u >= tile / 2.0, bump, w)
    else:
        if left:
            w = w * _ramp((u - halo) / width, blend)
        if right:
            w = w * _ramp((tile - u - halo) / width, blend)
    if left:
        w = np.where(u < halo, 0.0, w)
    if right:
        w = np.where(tile - u < halo, 0.0, w)
    return w


@dataclass(frozen=True)
class AxisPlan:
    """Windows along one axis.

    Attributes:
        n: input length; tile: window length (input voxels); overlap; halo; scale: integer factor.
        starts: window starts (input voxels).
        weights: per window, the 1D weights at output resolution already divided by the 1D sum of
            all windows' weights (so they add up to one at every output position).
    """

    n: int
    tile: int
    overlap: int
    halo: int
    scale: int
    starts: tuple[int, ...]
    weights: tuple[np.ndarray, ...]


def plan_axis(
    n: int, tile: int, overlap: int, scale: int, *, halo: int | None = None, blend: Blend = "hann"
) -> AxisPlan:
    """Plan the windows of one axis and their normalised blending profiles."""
    if n < 1 or tile < 1 or scale < 1:
        raise MedsrError(f"invalid tiling: length {n}, tile {tile}, scale {scale}")
    if blend not in ("hann", "gaussian"):
        raise MedsrError(f"unknown blend {blend!r}; use hann or gaussian")
    tile = min(tile, n)
    overlap = min(max(0, overlap), tile - 1) if tile < n else 0
    halo = overlap // 4 if halo is None else int(halo)
    if overlap and 2 * halo >= overlap:
        raise MedsrError(f"the halo ({halo}) must be less than half the overlap ({overlap})")
    starts = window_starts(n, tile, overlap)
    raw = [
        _profile(tile, scale, overlap, halo, blend, left=(k > 0), right=(k < len(starts) - 1))
        for k in range(len(starts))
    ]
    total = np.zeros(n * scale, dtype=np.float64)
    for p, w in zip(starts, raw):
        total[p * scale : (p + tile) * scale] += w
    if np.any(total <= 0):  # cannot happen with overlap > 2 halo; guard against future edits
        raise RuntimeError("tiling leaves output voxels without weight")
    weights = tuple(
        (w / total[p * scale : (p + tile) * scale]).astype(np.float32) for p, w in zip(starts, raw)
    )
    return AxisPlan(n, tile, overlap, halo, scale, tuple(starts), weights)


@dataclass(frozen=True)
class TilePlan:
    """The Cartesian product of per-axis plans (one window per combination of starts)."""

    axes: tuple[AxisPlan, ...]

    def __len__(self) -> int:
        return int(np.prod([len(a.starts) for a in self.axes]))

    @property
    def tile(self) -> tuple[int, ...]:
        return tuple(a.tile for a in self.axes)

    @property
    def scale(self) -> tuple[int, ...]:
        return tuple(a.scale for a in self.axes)

    def windows(self) -> Iterator[tuple[int, ...]]:
        """Per-axis window indices of every window."""
        return itertools.product(*(range(len(a.starts)) for a in self.axes))

    def input_slices(self, index: Sequence[int]) -> tuple[slice, ...]:
        return tuple(slice(a.starts[k], a.starts[k] + a.tile) for a, k in zip(self.axes, index))

    def output_slices(self, index: Sequence[int]) -> tuple[slice, ...]:
        return tuple(
            slice(a.starts[k] * a.scale, (a.starts[k] + a.tile) * a.scale)
            for a, k in zip(self.axes, index)
        )

    def weight(self, index: Sequence[int]) -> np.ndarray:
        """The window's normalised weight at output resolution (outer product of 1D profiles)."""
        w = np.ones((), dtype=np.float32)
        for a, k in zip(self.axes, index):
            w = np.multiply.outer(w, a.weights[k])
        return w


def plan_tiles(
    shape: Sequence[int],
    scale: Sequence[int],
    tile: int | Sequence[int] | None,
    overlap: int | Sequence[int],
    *,
    halo: int | Sequence[int] | None = None,
    blend: Blend = "hann",
) -> TilePlan:
    """A :class:`TilePlan` for an input of spatial ``shape`` (``tile=None``: one window)."""
    nd = len(shape)

    def per_axis(v: int | Sequence[int] | None, default: Sequence[int | None]) -> list:
        if v is None:
            return list(default)
        if isinstance(v, (int, np.integer)):
            return [int(v)] * nd
        v = list(v)
        if len(v) != nd:
            raise MedsrError(f"need 1 or {nd} values per axis, got {v}")
        return [int(x) for x in v]

    tiles = per_axis(tile, shape)
    overlaps = per_axis(overlap, [0] * nd)
    halos = per_axis(halo, [None] * nd)
    if any(t < 1 for t in tiles):
        raise OptionError(f"{{tile}} must be positive, got {tile}")
    if any(o < 0 for o in overlaps):
        raise OptionError(f"{{overlap}} must be >= 0, got {overlap}")
    return TilePlan(
        tuple(
            plan_axis(int(n), t, o, int(s), halo=h, blend=blend)
            for n, t, o, s, h in zip(shape, tiles, overlaps, scale, halos)
        )
    )


def tiled_predict(
    items: Sequence[tuple[np.ndarray, np.ndarray]],
    predict: PredictFn,
    plan: TilePlan,
    *,
    batch_size: int = 1,
    weight: float = 1.0,
    progress: ProgressFn | None = None,
) -> None:
    """Run ``predict`` on every window of every item and add the blended result into its output.

    Args:
        items: pairs ``(x, out)``: ``x`` of shape ``(C, *spatial)`` and ``out`` (a writable array or
            view, e.g. one slice of the output volume or a memmap) of shape
            ``(C_out, *spatial * scale)``. All items share ``plan``'s spatial shape. ``out`` is
            added to (``out += weight * stitched prediction``), so planes can be fused by several
            calls with ``weight = 1 / n_planes``.
        predict: maps a float32 batch ``(B, C, *tile)`` to ``(B, C_out, *tile * scale)``.
        plan: from :func:`plan_tiles`.
        batch_size: windows per forward pass.
        weight: multiplies the stitched prediction.
        progress: called with the number of windows just finished.
    """
    if batch_size < 1:
        raise OptionError(f"{{batch_size}} must be >= 1, got {batch_size}")
    jobs = ((item, w) for item in range(len(items)) for w in plan.windows())
    expected = tuple(t * s for t, s in zip(plan.tile, plan.scale))
    while True:
        chunk = list(itertools.islice(jobs, batch_size))
        if not chunk:
            break
        batch = np.stack(
            [
                np.asarray(items[i][0][(slice(None),) + plan.input_slices(w)], dtype=np.float32)
                for i, w in chunk
            ]
        )
        pred = np.asarray(predict(batch))
        if (
            pred.ndim != batch.ndim
            or pred.shape[0] != len(chunk)
            or tuple(pred.shape[2:]) != expected
        ):
            raise OptionError(
                f"model scale mismatch: the network turned a window {tuple(batch.shape[1:])} into "
                f"{tuple(pred.shape[1:])}, expected spatial {expected} (x{plan.scale}); check the "
                "model's scale in model.json against {factors}/{spacing}"
            )
        for (i, w), p in zip(chunk, pred):
            out = items[i][1]
            scale = weight * plan.weight(w)
            region = (slice(None),) + plan.output_slices(w)
            out[region] += p * scale
        if progress is not None:
            progress(len(chunk))
