"""Applying self-SR's 2D restoration network to the through-plane planes of a volume.

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [84]; review section 4.2.2) applies its network to the
planes that contain the thick axis, in two orthogonal orientations, and fuses the two estimates
by Fourier burst accumulation. :func:`restore_views` gives the estimate of each view,
:func:`fuse_views` fuses them (:mod:`medsr.selfsr.fusion`), :func:`restore_through_plane` does
both. Kept apart from the pipeline (:mod:`medsr.selfsr.smore`) so that the networks trained side
by side (:mod:`medsr.selfsr.members`) average their views before the fusion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from medsr.infer.slicewise import ForegroundCrop
from medsr.runtime import autocast
from medsr.selfsr.fusion import fuse

__all__ = [
    "fuse_views",
    "plane_names",
    "restore_through_plane",
    "restore_views",
    "slicing_axes",
]

Progress = Callable[[float, str], None]


def restore_views(
    net: torch.nn.Module,
    volume: np.ndarray,
    slice_axis: int,
    *,
    orientations: int = 2,
    orientation: int | None = None,
    batch: int = 8,
    device: str = "cpu",
    foreground: ForegroundCrop | None = None,
    progress: Progress | None = None,
    label: str = "applying",
    ensemble: bool = False,
    diagonals: bool = False,
    precision: str = "fp32",
) -> list[np.ndarray]:
    """Run a 2D restoration network on the planes that contain ``slice_axis``, one estimate of the
    whole volume per view (orientation or diagonal), not yet fused (:func:`restore_through_plane`
    fuses them; :mod:`medsr.selfsr.members` first averages the views of several networks).

    Each plane is shown with the slice axis along its rows (as in training), through the engine's
    :func:`medsr.infer.slicewise.slicewise_predict`. Only the foreground
    box of each group of ``batch`` planes is computed (:class:`ForegroundCrop`, default threshold
    0.05 of the normalised range, margin 16 voxels); the air around the head keeps its input values.

    Args:
        net: restoration network (grid in = grid out), one channel.
        volume: ``(C, X, Y, Z)`` interpolated volume, normalised.
        orientation: only the planes of this one orientation (0: the planes that contain the
            first in-plane axis and the slice axis; 1: those of the second in-plane axis), as
            SAA applies its two networks; None: the first ``orientations`` orientations.
        ensemble: average the network over the flips of each plane (rows, columns, both:
            :class:`medsr.models.ensemble.SelfEnsemble` without transposes, EDSR+'s
            self-ensemble restricted to the flips, since the slice axis must stay along the rows).
        diagonals: with both orientations, also restore the planes along the two in-plane voxel
            diagonals (cut and put back exactly, :mod:`medsr.selfsr.views`) and fuse the four.

    Returns:
        One restored ``(C, X, Y, Z)`` float32 volume per view: the orientations (in the order of
        :func:`slicing_axes`), then the two diagonals.
    """
    from medsr.infer.slicewise import slicewise_predict

    net.to(device).eval()
    layout = torch.channels_last if str(device).startswith("cpu") else torch.contiguous_format
    net.to(memory_format=layout)  # oneDNN's fastest layout on a CPU (about 1.2x; 2x in bf16)
    if ensemble:
        from medsr.models.ensemble import SelfEnsemble

        net = SelfEnsemble(net, 2, transpose=False)
    slicing = slicing_axes(slice_axis, orientation, orientations)
    shears = []
    if diagonals and orientation is None and orientations == 2:
        from medsr.selfsr.views import shear

        shears = [shear(volume.shape, slice_axis, sign) for sign in (1, -1)]
    total = sum(volume.shape[0] * volume.shape[1 + a] for a in slicing) + sum(
        volume.shape[0] * (volume.shape[1 + sh.shift_axis] + volume.shape[1 + sh.by_axis] - 1)
        for sh in shears
    )
    crop = foreground or ForegroundCrop()
    done = [0]

    def predict(x: np.ndarray) -> np.ndarray:  # (B, C, R, W): channels share the network
        b, c = x.shape[:2]
        with torch.inference_mode(), autocast(precision, device):
            t = torch.from_numpy(np.ascontiguousarray(x).reshape(b * c, 1, *x.shape[2:]))
            t = t.to(device).contiguous(memory_format=layout)
            y = net(t).float().contiguous().cpu().numpy()
        return y.reshape(b, c, *y.shape[2:])

    def advance(n: int) -> None:
        done[0] += n * volume.shape[0]
        if progress is not None:
            progress(done[0] / total, f"{label}: plane {done[0]}/{total}")

    def restore(vol: np.ndarray, cut_axis: int) -> np.ndarray:  # the planes across cut_axis
        out = np.zeros(vol.shape, dtype=np.float32)
        slicewise_predict(
            vol,
            out,
            predict,
            (1, 1),
            (1, 1, 1),
            cut_axis,
            batch_size=batch,
            rows_axis=slice_axis,
            foreground=crop,
            progress=advance,
        )
        return out

    outs = [restore(volume, axis) for axis in slicing]
    # the diagonal planes: the grid planes of the sheared volume, sheared back
    outs += [sh.back(restore(sh.apply(volume), sh.shift_axis)) for sh in shears]
    return outs


def fuse_views(views: Sequence[np.ndarray], fusion: str = "mean", power: float = 8.0) -> np.ndarray:
    """Fuse the ``(C, X, Y, Z)`` estimates of several views channel by channel
    (:func:`medsr.selfsr.fusion.fuse`: ``"mean"``, or ``"fba"``, Fourier burst accumulation of
    power ``power``, as Zhao et al. fuse them in SMORE); one view comes back as it is."""
    if len(views) == 1:
        return views[0]
    return np.stack([fuse([v[c] for v in views], fusion, power) for c in range(views[0].shape[0])])


def restore_through_plane(
    net: torch.nn.Module,
    volume: np.ndarray,
    slice_axis: int,
    *,
    fusion: str = "mean",
    fusion_power: float = 8.0,
    **kwargs: object,
) -> np.ndarray:
    """:func:`restore_views` (``kwargs``: its options) fused by :func:`fuse_views`: the restored
    ``(C, X, Y, Z)`` float32 volume."""
    views = restore_views(net, volume, slice_axis, **kwargs)  # type: ignore[arg-type]
    return fuse_views(views, fusion, fusion_power)


def slicing_axes(slice_axis: int, orientation: int | None, orientations: int) -> list[int]:
    """The axes the through-plane planes are cut across: orientation ``o`` holds the planes that
    contain in-plane axis ``o`` and the slice axis (cut across the other in-plane axis)."""
    in_plane = [a for a in range(3) if a != slice_axis]
    chosen = in_plane[:orientations] if orientation is None else [in_plane[orientation]]
    return [next(b for b in in_plane if b != c) for c in chosen]


def plane_names(slice_axis: int, orientation: int | None, orientations: int) -> list[str]:
    """The planes a stage ran on, as array axes ("x-z" = the planes containing x and z)."""
    names = "xyz"
    return [
        "-".join(names[a] for a in sorted({c for c in range(3) if c != cut}))
        for cut in slicing_axes(slice_axis, orientation, orientations)
    ]
