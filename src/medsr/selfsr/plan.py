"""Which axis is thick, by how much, and with what slice profile: the geometry of self-SR.

Self-supervised SR (SMORE, ref. [84]) applies to scans with one thick-slice axis: the axis of the
largest spacing. The factor is that spacing over the target spacing (any positive number, not only
integers); the slice thickness comes from ``--slice-thickness``, else the header (DICOM
SliceThickness, kept by :mod:`medsr.io` in ``meta.extra``; only when the thick axis is the one
the file stacks its slices along), else equals the spacing (contiguous
slices). Grids come from :mod:`medsr.volume` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from medsr.degrade import SliceProfile
from medsr.errors import MedsrError, OptionError
from medsr.volume import Volume, spacing_of

__all__ = [
    "STACK_AXIS",
    "SelfSRPlan",
    "default_target_spacing",
    "find_slice_axis",
    "header_thickness",
    "plan_self_sr",
]

#: factors below this along the thick axis leave nothing for self-SR to learn
MIN_FACTOR = 1.2
#: keys of ``meta.extra`` that may hold the DICOM SliceThickness (mm)
_THICKNESS_KEYS = ("slice_thickness", "SliceThickness", "slice_thickness_mm")


def find_slice_axis(spacing: Sequence[float], factors: Sequence[float] | None = None) -> int:
    """The thick-slice axis: the one up-sampled most, ties broken by the largest spacing.

    With the default target (isotropic at the finest in-plane spacing) this is simply the axis of
    the largest spacing.
    """
    sp = np.asarray(spacing, dtype=np.float64)
    if factors is None:
        return int(np.argmax(sp))
    f = np.asarray(factors, dtype=np.float64)
    best = f.max()
    tied = np.flatnonzero(f >= best * (1 - 1e-6))
    return int(tied[np.argmax(sp[tied])])


def default_target_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    """Isotropic at the finest in-plane spacing (the SMORE target)."""
    sp = np.asarray(spacing, dtype=np.float64)
    axis = int(np.argmax(sp))
    fine = float(np.min(np.delete(sp, axis)))
    return (fine, fine, fine)


#: The axis along which medsr's readers stack a series' slices (DICOM: the slice index is the
#: last axis); a thickness stated in the header (``SliceThickness``) is measured along it.
STACK_AXIS = 2


def header_thickness(volume: Volume, axis: int = STACK_AXIS) -> float | None:
    """The slice thickness the file states (mm) along ``axis``, if any.

    A header's thickness describes the slices the file stacks (:data:`STACK_AXIS`), never
    another axis: for thick slices along an in-plane axis (a simulation, a reformatted scan) it
    is ``None``. (The T1 DICOM series of ``docs/benchmarks/selfsr_heldout.md``, made thick along
    x, was given the series' 1.5 mm z thickness until 2026-12-02.)"""
    if int(axis) != STACK_AXIS:
        return None
    for key in _THICKNESS_KEYS:
        value = volume.meta.extra.get(key)
        if value is None:
            continue
        try:
            t = float(value)
        except (TypeError, ValueError):
            continue
        if np.isfinite(t) and t > 0:
            return t
    return None


@dataclass(frozen=True)
class SelfSRPlan:
    """The geometry of one self-SR run.

    Attributes:
        slice_axis: the thick axis (0, 1, 2 of ``(X, Y, Z)``).
        factor: slice spacing in target voxels (the up-sampling factor along ``slice_axis``).
        factors: all per-axis factors of the target grid.
        slice_spacing: source spacing along ``slice_axis`` (mm).
        target_spacing: target spacing along ``slice_axis`` (mm).
        thickness: slice thickness (mm) and where it came from (``thickness_source``).
        fwhm_voxels: the thickness in target voxels (Gaussian FWHM / slab width).
        profile: the profile model (with the resolved thickness).
    """

    slice_axis: int
    factor: float
    factors: tuple[float, float, float]
    slice_spacing: float
    target_spacing: float
    thickness: float
    thickness_source: str
    fwhm_voxels: float
    profile: SliceProfile

    @property
    def gap_voxels(self) -> float:
        return max(0.0, self.factor - self.fwhm_voxels)

    @property
    def has_gap(self) -> bool:
        """Thickness clearly below the spacing: the slices alias (SAA's case)."""
        return self.gap_voxels > 0.05 * self.factor

    def as_dict(self) -> dict[str, Any]:
        return {
            "slice_axis": self.slice_axis,
            "factor": round(self.factor, 6),
            "factors": [round(f, 6) for f in self.factors],
            "slice_spacing_mm": round(self.slice_spacing, 5),
            "target_spacing_mm": round(self.target_spacing, 5),
            "thickness_mm": round(self.thickness, 5),
            "thickness_source": self.thickness_source,
            "fwhm_voxels": round(self.fwhm_voxels, 5),
            "profile": self.profile.kind,
            "gap_voxels": round(self.gap_voxels, 5),
        }


def plan_self_sr(
    volume: Volume,
    factors: Sequence[float],
    profile: SliceProfile | None = None,
    *,
    slice_axis: int | None = None,
) -> SelfSRPlan:
    """Resolve the axis, factor and slice profile of a self-SR run onto the grid of ``factors``.

    Args:
        volume: the thick-slice scan.
        factors: per-axis factors of the target grid (from :func:`medsr.volume.zoom_grid`).
        profile: profile model; its ``thickness`` (mm) overrides the header.
        slice_axis: force the thick axis (otherwise :func:`find_slice_axis`).

    Raises:
        MedsrError: 2D images, no axis up-sampled enough, or an axis out of range.
    """
    profile = profile or SliceProfile()
    if volume.meta.is_2d or min(volume.shape) < 2:
        raise OptionError(
            "self-SR needs a 3D scan with a thick-slice axis; use {method} bspline for 2D images"
        )
    factors = tuple(float(f) for f in factors)
    if len(factors) != 3:
        raise MedsrError(f"need 3 factors, got {factors}")
    spacing = spacing_of(volume.affine)
    axis = find_slice_axis(spacing, factors) if slice_axis is None else int(slice_axis)
    if axis not in (0, 1, 2):
        raise MedsrError(f"slice axis must be 0, 1 or 2, got {slice_axis}")
    factor = factors[axis]
    if factor < MIN_FACTOR:
        raise OptionError(
            f"the target grid up-samples the thick axis {axis} by only {factor:.3g}; self-SR "
            "needs a "
            f"factor of at least {MIN_FACTOR} "
            "(ask for a finer {spacing}, or use {method} bspline)"
        )
    slice_spacing = float(spacing[axis])
    target_spacing = slice_spacing / factor
    if profile.thickness is not None:
        thickness, source = float(profile.thickness), "option"
    elif (t := header_thickness(volume, axis)) is not None and profile.gap == 0:
        thickness, source = t, "header"
    else:
        thickness, source = (
            profile.thickness_mm(slice_spacing),
            "spacing" if profile.gap == 0 else "spacing-gap",
        )
    return SelfSRPlan(
        slice_axis=axis,
        factor=factor,
        factors=factors,  # type: ignore[arg-type]
        slice_spacing=slice_spacing,
        target_spacing=target_spacing,
        thickness=thickness,
        thickness_source=source,
        fwhm_voxels=thickness / target_spacing,
        profile=SliceProfile(
            profile.kind, thickness, max(0.0, slice_spacing - thickness), profile.samples
        ),
    )
