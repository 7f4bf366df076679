"""``ThickSlice``: thick slices with a slice profile, optionally with a gap, along one axis.

Clinical MR and CT volumes are often stacks of thick slices: every slice integrates the object over
its slice-sensitivity profile, and slices are ``s`` times further apart than the in-plane voxels.
Greenspan, "Super-resolution in medical imaging" (The Computer Journal, 2009) describes this
acquisition model; Zhao et al., "SMORE: a self-supervised anti-aliasing and super-resolution
algorithm for MRI using deep learning" (IEEE TMI 2021; review ref. [84]) simulate it from
isotropic volumes with a Gaussian or rectangular profile of a given thickness and a slice
spacing, a gap appearing when the thickness is smaller than the spacing. It is the ``A`` of the
review's eq. 3 for through-plane super-resolution.

Model (units: HR voxels along ``axis``): the HR volume is piecewise constant over its voxels; LR
slice ``j`` is centred at ``u_j`` (:func:`medsr.volume.index_coordinates`, the centre of its
block of ``s`` HR slices; between two HR slices when ``s`` is even) and takes the mean of the
object weighted by the profile ``p(t - u_j)``::

    w[j, i] = integral over [i - 1/2, i + 1/2] of p(t - u_j) dt,   rows normalised to 1.

* ``"rect"``: a box of width = thickness: for ``thickness = s`` (default) the LR slice is the
  average of its ``s`` adjacent HR slices (partial-volume weights at non-integer edges);
* ``"gaussian"``: FWHM = thickness (``sigma = FWHM / (2 sqrt(2 ln 2))``), cut at 4 sigma;
* a 1D array: the profile sampled at HR voxel spacing, centred on its middle element (between two
  elements for an even length), linearly interpolated at non-integer offsets, used as weights.

Thickness: ``fwhm`` if given, else ``factor - gap`` (the gap is the uncovered distance between
consecutive slices). Thickness larger than the spacing (overlapping slices) is allowed.
Borders: half-sample symmetric (the object is mirrored at the face of the field of view).

:class:`SliceProfile` is the same model in millimetres (kind, thickness, gap, samples), the form in
which users and self-supervised SR (SMORE) give it; :func:`medsr.degrade.acquisition_operator`
turns it into fine-voxel thicknesses on a grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.special import erf

from medsr.degrade.base import resolve_factors
from medsr.degrade.separable import Boundary, Matrix, SeparableLinear, kernel_matrix
from medsr.errors import MedsrError
from medsr.volume import index_coordinates

__all__ = [
    "FWHM_TO_SIGMA",
    "ProfileKind",
    "SliceProfile",
    "ThickSlice",
    "load_profile_file",
    "slice_profile",
    "voxel_weights",
]

ProfileKind = Literal["gaussian", "rect", "array"]

#: sigma = FWHM * FWHM_TO_SIGMA for a Gaussian.
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def slice_profile(profile: str, thickness: float) -> Callable[[np.ndarray], np.ndarray]:
    """The continuous profile ``p(t)`` (peak 1 at ``t = 0``) of a named slice profile.

    "gaussian" has FWHM = ``thickness``; "rect" is 1 on ``|t| < thickness / 2`` (1/2 at the edges).
    """
    if profile == "gaussian":
        sigma = thickness * FWHM_TO_SIGMA
        return lambda t: np.exp(-0.5 * (np.asarray(t, dtype=np.float64) / sigma) ** 2)
    if profile == "rect":
        half = thickness / 2.0
        return lambda t: np.where(np.abs(t) < half, 1.0, np.where(np.abs(t) == half, 0.5, 0.0))
    raise MedsrError(f"unknown slice profile {profile!r}; choose gaussian, rect or give an array")


def voxel_weights(
    profile: str | np.ndarray, thickness: float
) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """``(w, support)``: the weight ``w(d)`` of an HR voxel at offset ``d`` from the slice centre
    (the profile integrated over the voxel, or the sampled array interpolated) and its support."""
    if isinstance(profile, np.ndarray):
        p = np.asarray(profile, dtype=np.float64)
        centre = (len(p) - 1) / 2.0
        grid = np.arange(len(p), dtype=np.float64) - centre
        return (lambda d: np.interp(d, grid, p, left=0.0, right=0.0)), float(len(p) + 1)
    if profile == "gaussian":
        scale = thickness * FWHM_TO_SIGMA * np.sqrt(2.0)
        cut = 4.0 * thickness * FWHM_TO_SIGMA  # the profile is cut at 4 sigma, symmetrically

        def gauss(d: np.ndarray) -> np.ndarray:
            hi = np.clip(d + 0.5, -cut, cut)
            lo = np.clip(d - 0.5, -cut, cut)
            return 0.5 * (erf(hi / scale) - erf(lo / scale))

        return gauss, 2.0 * (cut + 0.5)
    if profile == "rect":
        half = thickness / 2.0

        def overlap(d: np.ndarray) -> np.ndarray:  # length of [d-1/2, d+1/2] inside [-T/2, T/2]
            return np.clip(np.minimum(d + 0.5, half) - np.maximum(d - 0.5, -half), 0.0, None)

        return overlap, thickness + 1.0
    raise MedsrError(f"unknown slice profile {profile!r}; choose gaussian, rect or give an array")


def _check_profile_array(profile: object) -> np.ndarray:
    p = np.asarray(profile, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise MedsrError(f"a slice profile array must be 1D and non-empty, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise MedsrError("a slice profile must hold finite non-negative numbers, not all zero")
    return p


class ThickSlice(SeparableLinear):
    """Thick slices along one axis: profile, thickness and gap (slice spacing ``factor``).

    Args:
        axis: the slice axis (0, 1 or 2 of ``(X, Y, Z)``; 2 for axial NIfTI stacks).
        factor: slice spacing in HR voxels (real >= 1): LR spacing = HR spacing x factor.
        profile: "gaussian" (default), "rect", or a 1D array sampled at HR voxel spacing.
        fwhm: slice thickness (FWHM for a Gaussian, width for rect) in HR voxels; default
            ``factor - gap``. Not used with an array profile.
        gap: distance between consecutive slices not covered by either, in HR voxels
            (``0 <= gap < factor``); give ``fwhm`` or ``gap``, not both.
        boundary: border rule of the profile ("reflect" default, "mirror", "nearest").
    """

    def __init__(
        self,
        axis: int,
        factor: float,
        profile: str | np.ndarray | Sequence[float] = "gaussian",
        *,
        fwhm: float | None = None,
        gap: float = 0.0,
        boundary: Boundary = "reflect",
    ) -> None:
        if axis not in (0, 1, 2):
            raise MedsrError(f"the slice axis must be 0, 1 or 2, got {axis}")
        factor = float(factor)
        if not np.isfinite(factor) or factor < 1:
            raise MedsrError(f"the slice spacing factor must be a number >= 1, got {factor}")
        gap = float(gap)
        if not np.isfinite(gap) or gap < 0 or gap >= factor:
            raise MedsrError(
                f"the slice gap must be in [0, factor={factor:g}) HR voxels, got {gap:g}"
            )
        if fwhm is not None and gap != 0:
            raise MedsrError("give either the slice thickness (fwhm) or the gap, not both")
        if isinstance(profile, str):
            if profile not in ("gaussian", "rect"):
                raise MedsrError(
                    f"unknown slice profile {profile!r}; choose gaussian, rect or give an array"
                )
            thickness = float(fwhm) if fwhm is not None else factor - gap
            if not np.isfinite(thickness) or thickness <= 0:
                raise MedsrError(f"the slice thickness must be > 0 HR voxels, got {thickness:g}")
            self.profile: str | np.ndarray = profile
        else:
            if fwhm is not None or gap != 0:
                raise MedsrError("an array slice profile sets its own thickness: drop fwhm / gap")
            self.profile = _check_profile_array(profile)
            thickness = float("nan")
        self.axis = int(axis)
        self.factor = factor
        self.fwhm = fwhm
        self.gap = gap
        self.thickness = thickness
        self.boundary = boundary

    def factors_for(self, shape: Sequence[int]) -> tuple[float, ...]:
        factors = [1.0, 1.0, 1.0][: len(tuple(shape))]
        factors[self.axis] = self.factor
        return resolve_factors(tuple(factors), shape, name="slice spacing factor")

    def axis_matrices(self, shape: Sequence[int]) -> dict[int, Matrix]:
        shape = tuple(int(n) for n in shape)
        self.factors_for(shape)  # checks the factor against the axis
        n = shape[self.axis]
        m = self.output_shape(shape)[self.axis]
        weight, support = voxel_weights(self.profile, self.thickness)
        positions = index_coordinates(n, m, 1.0 / self.factor)
        return {self.axis: kernel_matrix(positions, n, weight, support, boundary=self.boundary)}

    def _params(self) -> dict[str, object]:
        profile = self.profile if isinstance(self.profile, str) else f"array[{len(self.profile)}]"
        return {
            "axis": self.axis,
            "factor": self.factor,
            "profile": profile,
            "fwhm": self.fwhm,
            "gap": self.gap,
        }


@dataclass(frozen=True)
class SliceProfile:
    """How one thick slice averages the fine voxels along the slice axis, in millimetres.

    Greenspan (2009) and SMORE (Zhao et al., IEEE TMI 2021, review ref. [84]) model a thick slice
    as the object blurred by the slice profile and sampled every slice spacing (review eq. 3 along
    one axis). :func:`medsr.degrade.acquisition_operator` converts it to a :class:`ThickSlice` on
    a given grid.

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
            raise MedsrError("an array slice profile needs samples; give a profile file")
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
                "give a smaller slice gap or an explicit slice thickness"
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

    def thick_slice(self, axis: int, factor: float, fwhm_voxels: float) -> ThickSlice:
        """This profile as a :class:`ThickSlice` along ``axis``: slices ``factor`` fine voxels
        apart, ``fwhm_voxels`` fine voxels thick (not used by an array profile)."""
        if self.kind == "array":
            return ThickSlice(axis, float(factor), np.asarray(self.samples, dtype=np.float64))
        return ThickSlice(axis, float(factor), self.kind, fwhm=float(fwhm_voxels))


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
