"""The pre-trained prior on the through-plane planes that no training pair resembles.

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [84]; review section 4.2.2) learns from the in-plane
planes, degraded along one in-plane axis: a pair degraded along axis ``d`` has its rows along
``d`` and its columns along the other in-plane axis ``c``. It restores the planes that contain the
slice axis ``s``, shown with ``s`` along the rows: those of orientation ``c`` have their columns
along ``c``. Such a plane looks like the pairs degraded along ``d`` only when ``d``'s spacing is
near the target spacing of ``s`` (the rows then have the same sampling and blur). When the
in-plane grid is anisotropic (one fine, one coarse axis: a scan thick along two axes, or thick
slices simulated along an in-plane axis of a 2D acquisition), the planes of the fine in-plane axis
``c`` have their columns on the fine grid, and the only pairs with such columns are degraded along
the coarse axis ``d``, whose rows are far coarser than the target: no training pair resembles them.

On those planes medsr averages the fine-tuned networks' estimate with that of the network
pre-trained on isotropic data (:mod:`medsr.selfsr.prior`: the built-in brain and natural images,
whose planes are fine along both axes). Not in SMORE; opt-in (``blend_prior="auto"``). On the
four development crops of chris_t1 (2.64 mm slices, x4 along x) it gained -0.01 to +0.41 dB, but
on the held-out scans +0.02 dB (T1 DICOM), -0.30 dB (PD MRI) and -1.92 dB (CT): the prior,
pre-trained on a T1 brain and natural images, misleads on other contrasts
(``docs/benchmarks/selfsr_heldout.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from medsr.infer.slicewise import ForegroundCrop
from medsr.runtime import torch_threads
from medsr.selfsr.apply import restore_views

if TYPE_CHECKING:
    from medsr.selfsr.config import SelfSRConfig

__all__ = ["BLENDS", "blend_prior_views", "unmatched_orientations"]

#: values of :attr:`medsr.selfsr.config.SelfSRConfig.blend_prior`
BLENDS = ("auto", "none")


def unmatched_orientations(
    ratios: dict[int, float],
    slice_axis: int,
    pair_axes: Sequence[int] | None,
    match_ratio: float,
) -> list[int]:
    """The orientations (0, 1: the planes that contain in-plane axis 0 or 1 of
    :func:`medsr.selfsr.apply.slicing_axes` and the slice axis) whose planes no training pair
    resembles.

    Args:
        ratios: for each in-plane axis, its spacing (on the grid the pairs are made from) over the
            target spacing of the slice axis.
        slice_axis: the thick axis.
        pair_axes: the in-plane axes the pairs are degraded along (None: both).
        match_ratio: spacings within this factor of each other count as the same.
    """
    in_plane = [a for a in range(3) if a != slice_axis]
    degraded = in_plane if pair_axes is None else [int(a) for a in pair_axes]
    out = []
    for o, columns in enumerate(in_plane):
        rows_axis = next(a for a in in_plane if a != columns)  # the pairs with these columns
        matched = rows_axis in degraded and 1 / match_ratio <= ratios[rows_axis] <= match_ratio
        if not matched:
            out.append(o)
    return out


def blend_prior_views(
    views: list[np.ndarray],
    prior: torch.nn.Module,
    volume: np.ndarray,
    slice_axis: int,
    orientations: Sequence[int],
    config: SelfSRConfig,
    *,
    precision: str,
    row_period: int,
) -> list[np.ndarray]:
    """``views`` with the view of each orientation in ``orientations`` replaced by the mean of
    itself and the ``prior`` network's estimate of it (the same inference: flips, crop, precision).

    Args:
        views: the fused-to-be estimates, one per orientation (then the diagonals, untouched).
        prior: the pre-trained network, not fine-tuned.
        volume: the ``(C, X, Y, Z)`` interpolated, normalised volume the views restored.
    """
    out = list(views)
    with torch_threads(config.threads or 1):
        for o in orientations:
            (estimate,) = restore_views(
                prior,
                volume,
                slice_axis,
                orientation=o,
                batch=config.infer_batch,
                device=config.device,
                ensemble=config.ensemble,
                foreground=ForegroundCrop(row_period=row_period),
                precision=precision,
            )
            out[o] = 0.5 * (np.asarray(out[o], dtype=np.float32) + estimate)
    return out
