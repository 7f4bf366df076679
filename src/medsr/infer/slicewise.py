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

import numpy as np

from medsr.errors import MedsrError
from medsr.infer.sliding import Blend, plan_tiles, tiled_predict

__all__ = ["matching_axes", "plane_axes", "slicewise_predict", "windows_per_plane"]

_AXIS_NAMES = "xyz"


def plane_axes(axis: int) -> tuple[int, int]:
    """The two array axes lying in a slice taken along ``axis``."""
    if axis not in (0, 1, 2):
        raise MedsrError(f"--axis must be 0, 1 or 2 (x, y, z), got {axis}")
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
        raise MedsrError(
            f"a 2D network cannot up-sample across its slices: factor {factors[axis]} along the "
            f"slicing axis {axis} ({name}); choose --axis so the slices contain that axis, or --planes"
        )
    p, q = plane_axes(axis)
    raise MedsrError(
        f"model scale mismatch: the 2D network up-samples by {tuple(net_scale)} but slices along "
        f"axis {axis} need {(factors[p], factors[q])}; use a model trained for these factors"
    )


def windows_per_plane(shape: Sequence[int], axis: int, net_scale: Sequence[int], factors: Sequence[int],
                      tile: int | Sequence[int] | None, overlap: int, blend: Blend = "hann") -> int:
    """Number of network windows one plane needs (for progress bars)."""
    transpose = _orientation(axis, net_scale, factors)
    p, q = plane_axes(axis)
    size = (shape[q], shape[p]) if transpose else (shape[p], shape[q])
    return len(plan_tiles(size, net_scale, tile, overlap, blend=blend)) * int(shape[axis])


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
    """
    check_axis(axis, net_scale, factors)
    transpose = bool(_orientation(axis, net_scale, factors))
    items = []
    for k in range(x.shape[axis + 1]):
        index = (slice(None),) * (axis + 1) + (k,)
        xs, os_ = x[index], out[index]
        if transpose:
            xs, os_ = xs.swapaxes(1, 2), os_.swapaxes(1, 2)
        items.append((xs, os_))
    plan = plan_tiles(items[0][0].shape[1:], net_scale, tile, overlap, blend=blend)
    tiled_predict(items, predict, plan, batch_size=batch_size, weight=weight, progress=progress)
