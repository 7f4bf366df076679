"""The training-pair sets of self-SR for one scan's grid (review section 4.2.2).

Which in-plane planes make pairs and how (SMORE, ref. [84]; SAA, ref. [83]): the spacings of the
in-plane axes against the slice axis's target spacing (:func:`spacing_ratios`), the axes the
planes are degraded along (:func:`pair_axes`), the coarse scale of an anisotropic in-plane grid
(:func:`coarse_scale`, the cross-scale pairs of ``pair_scales="auto"``) and SAA's two pair sets
(:func:`blur_pairs`). The pairs themselves are made by :mod:`medsr.selfsr.pairs`; the method that
uses them is :func:`medsr.selfsr.smore.self_super_resolve`.
"""

from __future__ import annotations

import numpy as np

from medsr.degrade import thick_slice_operator
from medsr.selfsr.pairs import TrainingPairs, make_training_pairs
from medsr.selfsr.plan import SelfSRPlan
from medsr.volume import Volume, spacing_of

__all__ = ["MATCH_RATIO", "blur_pairs", "coarse_scale", "pair_axes", "spacing_ratios"]

#: ``pair_axes="matched"``: an in-plane axis makes training pairs when its spacing is within this
#: factor of the slice axis's target spacing
MATCH_RATIO = 1.5


def spacing_ratios(volume: Volume, plan: SelfSRPlan) -> dict[int, float]:
    """Each in-plane axis's spacing after the in-plane resampling of step 1, over the target
    spacing of the slice axis."""
    spacing = spacing_of(volume.affine)
    in_plane = [a for a in range(3) if a != plan.slice_axis]
    return {a: float(spacing[a] / plan.factors[a]) / plan.target_spacing for a in in_plane}


def coarse_scale(volume: Volume, plan: SelfSRPlan) -> tuple[int, float] | None:
    """For an anisotropic in-plane grid (one axis at the target spacing of the slice axis, the
    other coarser by more than :data:`MATCH_RATIO`): the fine in-plane axis and the factor that
    brings it to the coarse one's spacing (``pair_scales="auto"``); None otherwise."""
    ratios = spacing_ratios(volume, plan)
    fine = [a for a, r in ratios.items() if 1 / MATCH_RATIO <= r <= MATCH_RATIO]
    coarse = [a for a, r in ratios.items() if r > MATCH_RATIO]
    if len(fine) != 1 or len(coarse) != 1:
        return None
    return fine[0], ratios[coarse[0]] / ratios[fine[0]]


def pair_axes(
    volume: Volume, plan: SelfSRPlan, mode: str = "all"
) -> list[int] | None:
    """The in-plane axes the training planes are degraded along (None: both).

    SMORE (ref. [84]) degrades the in-plane planes along both in-plane axes, which assumes an
    isotropic in-plane grid at the target spacing. When an in-plane axis is much coarser (a volume
    thick along two axes, e.g. thick slices simulated along an in-plane axis of a 2D acquisition),
    its degraded planes have rows of another spacing than the through-plane planes the network
    restores (rows along the slice axis at the target spacing); ``mode="matched"`` keeps only the
    in-plane axes whose spacing (after the in-plane resampling of step 1) is within
    :data:`MATCH_RATIO` of the target spacing, and both when none or both are.
    """
    if mode == "all":
        return None
    ratios = spacing_ratios(volume, plan)
    chosen = [a for a in ratios if 1 / MATCH_RATIO <= ratios[a] <= MATCH_RATIO]
    return chosen if len(chosen) == 1 else None


def blur_pairs(
    hr: np.ndarray, plan: SelfSRPlan, interpolation: str, axes: list[int] | None = None
) -> tuple[TrainingPairs, TrainingPairs]:
    """SAA's two pair sets: (aliased -> blurred) for anti-aliasing, (blurred -> sharp) for SR.

    "Blurred" is the in-plane plane convolved with the slice profile but sampled on the fine grid
    (factor 1: no aliasing), Zhao et al. 2018, section 2.
    """
    aliased = make_training_pairs(
        hr,
        plan.slice_axis,
        plan.factor,
        plan.profile,
        plan.fwhm_voxels,
        interpolation=interpolation,
        axes=axes,
    )
    blurred_in, sharp = [], []
    # the same crops as make_training_pairs (it centres the crop on each in-plane axis)
    for k in range(len(aliased.targets)):
        target = aliased.targets[k]  # (N, rows = a, cols)
        # (N, R, W) seen as one channel (C=1, X=N, Y=R, Z=W): blur along R, sample every voxel
        blur = thick_slice_operator(target[None].shape[1:], 1, 1.0, plan.profile, plan.fwhm_voxels)
        blurred = blur.apply(target[None])[0]
        blurred_in.append(np.ascontiguousarray(blurred))
        sharp.append(target)
    anti_alias = TrainingPairs(aliased.inputs, blurred_in)
    deblur = TrainingPairs(blurred_in, sharp)
    return anti_alias, deblur
