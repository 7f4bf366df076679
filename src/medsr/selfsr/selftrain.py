"""Self-training on the first pass's output, for anisotropic in-plane grids (not in SMORE).

SMORE (Zhao et al., IEEE TMI 2021; review section 4.2.2) trains on the in-plane planes, degraded
along an in-plane axis, and restores the through-plane planes. That assumes an isotropic in-plane
grid at the target spacing. When one in-plane axis ``y`` is at the target spacing and the other,
``z``, is much coarser (a 2D acquisition given thick slices along ``x``, the held-out protocol of
issue 13; a scan thick along two axes), the through-plane planes of the fine axis (``x-y``: fine
along both axes once restored) look like no plane of the scan. SMORE's pairs (``y-z`` planes, ``z``
coarse) match the other view (``x-z``), and the cross-scale pairs
(:func:`medsr.selfsr.trainsets.coarse_scale`) only stand in for ``x-y`` one scale up.

After the first pass the restored volume's ``x-y`` planes are fine along both axes: along ``y``
they hold the scan's own measured rows, along ``x`` the first pass's estimate. Degraded along
``y`` by the slice factor (:func:`pseudo_pairs`), they make pairs whose *targets are measured
data* and whose context (``x``) is at the target spacing -- the geometry of the ``x-y`` planes the
network restores, and the pseudo-labels of self-training (a teacher's outputs as the student's
inputs; Xie et al., "Self-training with Noisy Student", CVPR 2020). Degrading ``x`` instead would
teach the first pass's own errors, so it is never done. A second network per member, started as
the first (``init``), trains on these pairs alone; it restores the ``x-y`` view, the ``x-z`` view
stays the first pass's (:func:`combine_views`), and the two views are fused as before.

Opt-in (``self_training="auto"``; default ``"none"``). Development (chris_t1 crops,
``benchmarks/selfsr_heldout.py --dev``): +0.14 to +0.43 dB on all four 24-slice cases, +0.005 dB
on the 63-slice one; held-out: -0.07 dB (T1 DICOM series), -0.08 dB (chris_PD), -0.53 dB
(CT_pitch), so it is not the default. Numbers and the variants measured:
``docs/benchmarks/selfsr_heldout.md``.
"""

from __future__ import annotations

import numpy as np

from medsr.degrade import SliceProfile
from medsr.selfsr.pairs import TrainingPairs, make_training_pairs

__all__ = ["SELF_TRAINING", "combine_views", "fine_orientation", "pseudo_pairs"]

#: values of :attr:`medsr.selfsr.config.SelfSRConfig.self_training` (default "none")
SELF_TRAINING = ("auto", "none")


def fine_orientation(slice_axis: int, fine_axis: int) -> int:
    """The orientation (0, 1: as in :func:`medsr.selfsr.apply.slicing_axes`, the planes that hold
    the slice axis and in-plane axis 0 or 1) of the planes through the fine in-plane axis."""
    in_plane = [a for a in range(3) if a != slice_axis]
    return in_plane.index(fine_axis)


def pseudo_pairs(
    restored: np.ndarray,
    slice_axis: int,
    fine_axis: int,
    factor: float,
    profile: SliceProfile,
    fwhm_voxels: float,
    *,
    interpolation: str = "bspline",
    phases: int = 1,
    min_length: int = 0,
) -> TrainingPairs:
    """Pairs from the first pass's output: its planes through ``slice_axis`` and ``fine_axis``,
    degraded along ``fine_axis`` (measured rows) only, as the scan was along the slice axis.

    Args:
        restored: ``(C, X, Y, Z)`` first-pass output on the target grid (normalised).
        slice_axis: the thick axis (restored by the first pass).
        fine_axis: the in-plane axis at the target spacing.
        factor, profile, fwhm_voxels: the slice spacing, profile and width (target voxels).
        interpolation, phases, min_length: as :func:`medsr.selfsr.pairs.make_training_pairs`
            (each plane at one lattice position: the planes are many and near copies).
    """
    stack = next(a for a in range(3) if a not in (slice_axis, fine_axis))
    return make_training_pairs(
        restored,
        stack,
        factor,
        profile,
        fwhm_voxels,
        interpolation=interpolation,
        axes=[fine_axis],
        phases=phases,
        min_length=min_length,
        interleave=True,
    )


def combine_views(
    first: list[np.ndarray], second: list[np.ndarray], orientation: int
) -> list[np.ndarray]:
    """The views to fuse: the second pass's for ``orientation`` (the fine axis's planes), the
    first pass's for the others."""
    pairs = enumerate(zip(first, second, strict=True))
    return [s if o == orientation else f for o, (f, s) in pairs]
