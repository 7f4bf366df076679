"""The slice profile of a thick-slice acquisition, and the 1D operators built from it.

Self-supervised SR (SMORE, Zhao et al., *IEEE TMI* 2021, ref. [83] of the review, section 4.2.2)
models the through-plane acquisition as a 1D blur by the slice profile ``h`` followed by sampling
every ``s`` fine voxels (review eq. 3 along one axis, ``g = D_s (h * f)``). The profile is a
Gaussian whose full width at half maximum (FWHM) is the slice thickness (the SMORE default), a
rectangle of that width (an ideal slab), or samples given by the user. When the thickness is
smaller than the slice spacing, the remainder is a *slice gap* and the samples alias (the case the
anti-aliasing stage of SAA, ref. [84], addresses).

Everything here works in *fine voxels* of the target grid: a 5 mm slice on a 1 mm target grid is a
profile of FWHM 5 voxels sampled every ``factor`` voxels.

The degradation itself is :class:`medsr.degrade.ThickSlice` (the operator ``A`` of the toolkit);
:func:`thick_slice_operator` builds it, so the training pairs of self-SR and the simulated
acquisitions of the benchmarks use one and the same operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from medsr.degrade import ThickSlice
from medsr.errors import MedsrError

__all__ = ["SliceProfile", "load_profile_file", "thick_slice_operator", "degrade_axis"]

ProfileKind = Literal["gaussian", "rect", "array"]


@dataclass(frozen=True)
class SliceProfile:
    """How one thick slice averages the fine voxels along the slice axis.

    Attributes:
        kind: ``"gaussian"`` (FWHM = thickness, SMORE's model), ``"rect"`` (a slab of width
            thickness) or ``"array"`` (user samples, see :func:`load_profile_file`).
        thickness: slice thickness in mm (the FWHM of the Gaussian, the width of the slab); None
            means "equal to the slice spacing" (contiguous slices, no gap).
        gap: slice gap in mm (spacing = thickness + gap); used when ``thickness`` is None to
            derive the thickness as ``spacing - gap``.
        samples: for ``kind="array"``: the profile sampled at the *target* spacing along the slice
            axis, centred on the slice (normalised to sum 1 when used).
    """

    kind: ProfileKind = "gaussian"
    thickness: float | None = None
    gap: float = 0.0
    samples: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("gaussian", "rect", "array"):
            raise MedsrError(f"slice profile must be gaussian, rect or a file, got {self.kind!r}")
        if self.kind == "array" and not self.samples:
            raise MedsrError("an array slice profile needs samples; give --profile FILE")
        if self.thickness is not None and not (np.isfinite(self.thickness) and self.thickness > 0):
            raise MedsrError(f"slice thickness must be positive (mm), got {self.thickness}")
        if not (np.isfinite(self.gap) and self.gap >= 0):
            raise MedsrError(f"slice gap must be >= 0 mm, got {self.gap}")

    def thickness_mm(self, slice_spacing: float) -> float:
        """The thickness in mm for slices ``slice_spacing`` mm apart."""
        if self.thickness is not None:
            return float(self.thickness)
        t = float(slice_spacing) - float(self.gap)
        if t <= 0:
            raise MedsrError(
                f"slice gap {self.gap} mm leaves no thickness for {slice_spacing:.3g} mm slices; "
                "give a smaller --slice-gap or an explicit --slice-thickness"
            )
        return t

    def describe(self, slice_spacing: float) -> dict[str, object]:
        """JSON-friendly summary (for the sidecar / method info)."""
        t = self.thickness_mm(slice_spacing)
        return {
            "kind": self.kind,
            "thickness_mm": round(t, 4),
            "gap_mm": round(max(0.0, float(slice_spacing) - t), 4),
            "slice_spacing_mm": round(float(slice_spacing), 4),
        }


def load_profile_file(path: str | Path) -> tuple[float, ...]:
    """Read a slice profile: numbers (whitespace/comma separated text, or ``.npy``).

    The numbers are the profile sampled at the target spacing along the slice axis, centred on the
    slice (an odd count is best; an even one is centred between two samples). They are normalised
    to sum to one.
    """
    p = Path(path)
    if not p.is_file():
        raise MedsrError(
            f"slice profile file {p} does not exist; give a text or .npy file of weights"
        )
    try:
        if p.suffix == ".npy":
            values = np.load(p, allow_pickle=False).astype(np.float64).ravel()
        else:
            values = np.array(p.read_text().replace(",", " ").split(), dtype=np.float64)
    except (ValueError, OSError) as exc:
        raise MedsrError(
            f"cannot read slice profile {p} ({exc}); write one number per line"
        ) from None
    if (
        values.size == 0
        or not np.all(np.isfinite(values))
        or np.any(values < 0)
        or values.sum() <= 0
    ):
        raise MedsrError(f"slice profile {p} must hold non-negative numbers with a positive sum")
    return tuple(float(v) for v in values / values.sum())


def thick_slice_operator(axis: int, factor: float, profile: SliceProfile, fwhm_voxels: float):
    """The thick-slice degradation along ``axis`` (a :class:`medsr.degrade.ThickSlice`).

    Args:
        axis: spatial axis (0, 1, 2) of ``(C, X, Y, Z)`` arrays that is sampled thickly.
        factor: slice spacing in fine voxels (the down-sampling factor, may be non-integer).
        profile: the profile model.
        fwhm_voxels: the thickness in fine voxels (FWHM for the Gaussian, width for the slab).
    """
    if profile.kind == "array":
        return ThickSlice(axis, float(factor), np.asarray(profile.samples, dtype=np.float64))
    return ThickSlice(axis, float(factor), profile.kind, fwhm=float(fwhm_voxels))


def degrade_axis(
    x: np.ndarray, axis: int, factor: float, profile: SliceProfile, fwhm_voxels: float
) -> np.ndarray:
    """Apply :func:`thick_slice_operator` to a ``(C, X, Y, Z)`` array (deterministic, no noise)."""
    op = thick_slice_operator(axis, factor, profile, fwhm_voxels)
    return np.asarray(op.apply_array(np.asarray(x, dtype=np.float32), None), dtype=np.float32)
