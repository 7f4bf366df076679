"""The image type of medsr and all grid arithmetic.

A :class:`Volume` is a channel-first array ``(C, X, Y, Z)`` of intensities in physical units (CT in
Hounsfield units, scale slope/intercept already applied), a 4x4 affine that maps voxel indices
``(i, j, k, 1)`` to world millimetres (RAS+, as NIfTI), and :class:`VolumeMeta`.

Convention for 2D images: they are volumes with ``Z == 1`` (shape ``(C, X, Y, 1)``) and
``meta.is_2d = True``. For a PNG/JPEG/TIFF, ``X`` is the image row (height) and ``Y`` the column
(width), spacing 1 mm. Every function therefore handles one kind of object.

Grid rule (used by every resampling in medsr, see :func:`zoom_grid`): scaling axis ``i`` by factor
``s`` divides the spacing by ``s`` exactly and keeps the world position of the grid's centre. When
``n * s`` is an integer (``m = n s`` new voxels) the new voxel centres tile the old voxels exactly:
new voxel ``j`` sits at old index coordinate ``x = (j + 0.5) / s - 0.5``. When ``n * s`` is not an
integer, ``m = round(n s)`` and the field of view changes by less than one new voxel, centred.
Only this module does affine arithmetic; everything else asks it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError

__all__ = [
    "MAX_FACTOR",
    "SNAP_TOLERANCE",
    "TargetGrid",
    "Volume",
    "VolumeMeta",
    "count_nonfinite",
    "factors_for_spacing",
    "finite_range",
    "grid_for_spacing",
    "index_coordinates",
    "parse_numbers",
    "parse_triple",
    "plane_spacing",
    "snap_factors",
    "spacing_of",
    "zoom_grid",
]


@dataclass
class VolumeMeta:
    """What a volume knows besides its samples.

    Attributes:
        modality: "CT", "MR", "natural" (photographs), or None when unknown.
        dtype: the storage dtype of the source file (output follows it by default).
        source: path the volume was read from, if any.
        is_2d: True for 2D images (stored with Z == 1).
        slope, intercept: the source file's intensity scaling (already applied to ``data``).
        header: format-specific header carried to the writer (e.g. a nibabel header), opaque.
        extra: anything else worth keeping (series UID, description, orientation strings).
        notes: what the reader changed or assumed (alpha dropped, bit depth reduced, gantry tilt,
            spacing override ...), one sentence each; shown by ``medsr info``, printed by
            ``medsr upscale`` and recorded in its sidecar.
    """

    modality: str | None = None
    dtype: str = "float32"
    source: str | None = None
    is_2d: bool = False
    slope: float = 1.0
    intercept: float = 0.0
    header: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def copy(self, **changes: Any) -> VolumeMeta:
        """A shallow copy with some fields changed."""
        new = dataclasses.replace(self, **changes)
        new.extra = dict(new.extra)
        new.notes = list(new.notes)
        return new


@dataclass
class Volume:
    """A channel-first array with the affine that places it in the world.

    Args:
        data: ``(C, X, Y, Z)`` array (a ``(X, Y, Z)`` array is taken as one channel).
        affine: 4x4 voxel-index -> world-mm matrix (RAS+).
        meta: see :class:`VolumeMeta`.
    """

    data: np.ndarray
    affine: np.ndarray
    meta: VolumeMeta = field(default_factory=VolumeMeta)

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim == 3:
            data = data[None]
        if data.ndim != 4:
            raise MedsrError(
                f"a volume needs a (C, X, Y, Z) array, got shape {data.shape}; "
                "give 2D images a Z axis of size 1"
            )
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise MedsrError(f"the affine must be 4x4, got {affine.shape}")
        if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
            raise MedsrError("the affine is singular (zero voxel size?); fix the file's header")
        self.data = data
        self.affine = affine

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, int, int]:
        """Spatial shape ``(X, Y, Z)``."""
        return tuple(int(n) for n in self.data.shape[1:])  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size in mm along each array axis (norms of the affine's columns)."""
        return spacing_of(self.affine)

    @property
    def centre_world(self) -> np.ndarray:
        """World position (mm) of the grid's centre."""
        centre = (np.asarray(self.shape, dtype=np.float64) - 1.0) / 2.0
        return (self.affine @ np.append(centre, 1.0))[:3]

    def world_coordinates(self, axis: int) -> np.ndarray:
        """World coordinates of the voxel centres along one array axis, others at index 0.

        Returns an ``(n, 3)`` array; handy to check that grids tile as they should.
        """
        n = self.shape[axis]
        idx = np.zeros((n, 4))
        idx[:, axis] = np.arange(n)
        idx[:, 3] = 1.0
        return (idx @ self.affine.T)[:, :3]

    def orientation(self) -> str:
        """Axis codes such as "RAS" or "LPI" (nibabel's aff2axcodes)."""
        import nibabel as nib

        return "".join(nib.aff2axcodes(self.affine))

    # ------------------------------------------------------------------ derived objects
    def with_data(self, data: np.ndarray, affine: np.ndarray | None = None, **meta: Any) -> Volume:
        """A new volume with other samples (and optionally another affine), same metadata."""
        return Volume(
            data, self.affine.copy() if affine is None else affine, self.meta.copy(**meta)
        )

    def check_finite(self) -> None:
        """Raise :class:`MedsrError` if the samples hold NaN or Inf."""
        if not np.issubdtype(self.data.dtype, np.floating):
            return
        bad = count_nonfinite(self.data)
        if bad:
            raise MedsrError(
                f"{self.meta.source or 'the volume'} holds {bad} NaN/Inf voxels; "
                "replace them (e.g. with 0) before super-resolution"
            )


#: Voxels per block of :func:`count_nonfinite` (16 M: a 16 MiB mask, whatever the array's size).
NONFINITE_BLOCK = 2**24


def count_nonfinite(data: np.ndarray, block: int = NONFINITE_BLOCK) -> int:
    """How many samples of ``data`` are NaN or +-Inf, counted in blocks of about ``block`` voxels.

    ``np.isfinite`` of a whole array allocates a boolean mask one byte per voxel: for the x4
    output of a 512 x 512 x 480 CT (Li, Sixou & Peyrin, IRBM 2021, section 4: through-plane SR of
    thick slices) that is 0.47 GiB of anonymous memory, as much as the float32 input, even when
    the output itself is a memory-mapped file. Here the array is walked along its leading axes in
    slabs of at most ``block`` voxels (one row of the last axis at least), so the extra memory is
    bounded and pages of a memory-mapped array are visited once, in file order. Integer arrays
    hold no NaN: 0 without reading them.
    """
    if not np.issubdtype(data.dtype, np.inexact):
        return 0
    if data.ndim == 0:
        return int(not np.isfinite(data))
    bad = 0
    for index in _blocks(tuple(int(n) for n in data.shape), max(1, int(block))):
        chunk = data[index]
        bad += int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
    return bad


def finite_range(data: np.ndarray, block: int = NONFINITE_BLOCK) -> tuple[float, float] | None:
    """``(min, max)`` of the finite samples of ``data`` (None when it has none), read in the blocks
    of :func:`count_nonfinite` so that a large or memory-mapped array needs no whole-array mask."""
    lo, hi = np.inf, -np.inf
    shape = tuple(int(n) for n in data.shape)
    for index in _blocks(shape, max(1, int(block))) if data.ndim else [()]:
        chunk = np.asarray(data[index])
        if np.issubdtype(chunk.dtype, np.inexact):
            chunk = chunk[np.isfinite(chunk)]
        if chunk.size:
            lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    return None if lo > hi else (lo, hi)


def _blocks(shape: tuple[int, ...], block: int) -> list[tuple[slice, ...]]:
    """Index tuples that split a C-ordered array of ``shape`` into contiguous runs of at most
    ``block`` elements (whole trailing sub-arrays where they fit, else slices of the first axis
    that does not fit, split further)."""
    if len(shape) <= 1 or int(np.prod(shape, dtype=np.int64)) <= block:
        if len(shape) == 1 and shape[0] > block:
            return [(slice(i, min(i + block, shape[0])),) for i in range(0, shape[0], block)]
        return [tuple(slice(None) for _ in shape)]
    inner = int(np.prod(shape[1:], dtype=np.int64))
    if inner <= block:
        step = max(1, block // inner)
        return [(slice(i, min(i + step, shape[0])),) for i in range(0, shape[0], step)]
    return [
        (slice(i, i + 1),) + rest for i in range(shape[0]) for rest in _blocks(shape[1:], block)
    ]


# ---------------------------------------------------------------------- grid arithmetic
def spacing_of(affine: np.ndarray) -> np.ndarray:
    """Voxel size along each array axis: the lengths of the affine's first three columns."""
    return np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))


def plane_spacing(affine: np.ndarray) -> np.ndarray:
    """Distance in mm between consecutive index planes along each array axis.

    For an orthogonal affine this equals :func:`spacing_of`. For a sheared grid (a CT acquired
    with gantry tilt: the slice vector is not along the slice normal) the distance between slices
    is ``1 / |row k of A^-1|``, shorter than the length of the slice vector.
    """
    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    return 1.0 / np.sqrt((np.linalg.inv(linear) ** 2).sum(axis=1))


#: The largest up-sampling factor per axis medsr accepts: beyond it a grid's voxel count overflows
#: (``1e308`` would give an infinite shape) and no super-resolution method of the review
#: (section 3: x2 to x8 in natural images, section 4: x2 to x6 through-plane) makes sense.
MAX_FACTOR = 64.0

#: Factors within this relative distance of a whole number are that number (see
#: :func:`snap_factors`).
SNAP_TOLERANCE = 1e-4

Numbers = float | Sequence[float] | str


def _option_error(name: str, problem: str) -> MedsrError:
    """An :class:`OptionError` for a parameter name (the CLI shows its flag), else a MedsrError."""
    if name.isidentifier():
        return OptionError("{" + name + "} " + problem.replace("{", "{{").replace("}", "}}"))
    return MedsrError(f"{name} {problem}")


def parse_numbers(
    value: Numbers, name: str = "value", *, integer: bool = False, maximum: float | None = None
) -> tuple[Any, ...]:
    """The numbers in ``2``, ``"1,1,4"``, ``"1x1x4"`` or ``(1, 1, 4)``, each checked; any count.

    The one parser of per-axis factors, spacings, scales and window sizes in medsr (the grids of
    review section 2.1: factors are the ratios of the LR to the HR voxel sizes).

    Args:
        value: a number, a sequence of numbers, or text with numbers separated by ``,`` or ``x``.
        name: what the numbers are, used in error messages: a parameter name ("factors",
            "spacing", "tile") gives an :class:`~medsr.errors.OptionError`, which the CLI shows
            with the flag (``--factors``); any other text a plain MedsrError.
        integer: the numbers must be whole (within 1e-6); they are returned as ``int``.
        maximum: the largest value allowed (e.g. :data:`MAX_FACTOR` for up-sampling factors).

    Raises:
        OptionError: (a MedsrError) text that is not numbers, no number, NaN, inf, a value <= 0,
            above ``maximum``, or not whole with ``integer``.
    """
    kind = "whole numbers like 64 or 64,64,32" if integer else "numbers like 1,1,4"
    if isinstance(value, str):
        try:
            items = [float(v) for v in value.lower().replace("x", ",").split(",") if v.strip()]
        except ValueError:
            raise _option_error(name, f"must be {kind}; got {value!r}") from None
    else:
        try:
            items = [float(v) for v in (value if np.ndim(value) else [value])]  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise _option_error(name, f"must be {kind}; got {value!r}") from None
    if not items:
        raise _option_error(name, f"must be {kind}; got {value!r}")
    if not all(math.isfinite(v) and v > 0 for v in items):
        raise _option_error(
            name, f"must be positive and finite, got {value!r}; use numbers > 0 like 2 or 1,1,4"
        )
    if maximum is not None and max(items) > maximum:
        raise _option_error(
            name,
            f"{max(items):g} is above {maximum:g}, the largest medsr accepts per axis (the "
            f"grid would hold too many voxels); use smaller factors, at most {maximum:g}",
        )
    if integer:
        if any(abs(v - round(v)) > 1e-6 or round(v) < 1 for v in items):
            raise _option_error(name, f"must be {kind}; got {value!r}")
        return tuple(round(v) for v in items)
    return tuple(items)


def parse_triple(
    value: Numbers,
    ndim: int = 3,
    name: str = "value",
    *,
    fill: float | None = None,
    integer: bool = False,
    maximum: float | None = None,
) -> tuple[Any, ...]:
    """Turn ``2``, ``"1,1,4"`` or ``(1, 1, 4)`` into ``ndim`` checked numbers, one per axis.

    One number applies to every axis. With ``fill``, ``ndim - 1`` numbers are also accepted and the
    last axis gets ``fill`` (a 2-D image takes X,Y factors; its Z axis stays as it is). The
    numbers are checked by :func:`parse_numbers` (``integer``, ``maximum``).

    Raises:
        MedsrError: see :func:`parse_numbers`; or a count other than 1 or ``ndim``.
    """
    items = list(parse_numbers(value, name, integer=integer, maximum=maximum))
    if len(items) == 1:
        items = items * ndim
    elif fill is not None and len(items) == ndim - 1:
        items.append(int(fill) if integer else float(fill))
    if len(items) != ndim:
        raise _option_error(
            name,
            f"needs 1 or {ndim} numbers, got {len(items)} ({value!r}); give one number for "
            "all axes or one per axis",
        )
    return tuple(items)


def snap_factors(values: Sequence[float], tol: float = SNAP_TOLERANCE) -> tuple[float, ...]:
    """Factors within a relative ``tol`` of a whole number, set to it.

    Headers store spacings as float32 and users type rounded values (2.4 for 2.3999972), which
    should not turn x2 into x2.000001 (a network would then run at x3).
    """
    return tuple(
        float(round(v)) if abs(v - round(v)) < tol * max(1.0, abs(v)) else float(v) for v in values
    )


def zoom_grid(
    shape: Sequence[int], affine: np.ndarray, factors: Sequence[float]
) -> tuple[tuple[int, ...], np.ndarray]:
    """The grid after scaling each axis by ``factors`` (> 1 up-samples).

    New spacing is ``spacing / s`` exactly; the world centre of the grid is kept. With ``m`` new
    voxels along an axis of ``n``, new index ``j`` maps to old index coordinate
    ``x = (j - (m - 1) / 2) / s + (n - 1) / 2`` (see :func:`index_coordinates`), which for
    ``m = n s`` is ``(j + 0.5) / s - 0.5``: the new voxels tile the old ones.

    Returns:
        ``(new_shape, new_affine)``.
    """
    factors = np.asarray(factors, dtype=np.float64)
    shape_arr = np.asarray(shape, dtype=np.float64)
    if factors.shape != shape_arr.shape:
        raise MedsrError(f"need one factor per axis ({len(shape)}), got {len(factors)}")
    if not np.all(np.isfinite(factors)) or np.any(factors <= 0):
        raise MedsrError(f"factors must be positive, got {tuple(factors)}")
    if np.any(factors > MAX_FACTOR):
        a = int(np.argmax(factors))
        raise MedsrError(
            f"factor {factors[a]:g} along axis {a} is above {MAX_FACTOR:g}, the largest medsr "
            "accepts (the grid would hold too many voxels); ask for smaller factors or a coarser "
            "spacing"
        )
    new_shape = np.maximum(1, np.round(shape_arr * factors)).astype(int)
    # index map x_old = M x_new + t  (diagonal M = 1/s)
    scale = 1.0 / factors
    offset = (shape_arr - 1) / 2.0 - (new_shape - 1) / 2.0 * scale
    index_map = np.eye(4)
    index_map[:3, :3] = np.diag(scale)
    index_map[:3, 3] = offset
    return tuple(int(n) for n in new_shape), np.asarray(affine, dtype=np.float64) @ index_map


def index_coordinates(n_old: int, n_new: int, factor: float) -> np.ndarray:
    """Old-grid index coordinate of each new voxel centre along one axis (see :func:`zoom_grid`)."""
    j = np.arange(n_new, dtype=np.float64)
    return (j - (n_new - 1) / 2.0) / factor + (n_old - 1) / 2.0


def factors_for_spacing(
    spacing_old: Sequence[float], spacing_new: Sequence[float]
) -> tuple[float, ...]:
    """Per-axis factors that take ``spacing_old`` to ``spacing_new`` (``s = old / new``)."""
    return tuple(float(o) / float(n) for o, n in zip(spacing_old, spacing_new))


def grid_for_spacing(
    shape: Sequence[int], affine: np.ndarray, spacing: Sequence[float]
) -> tuple[tuple[int, ...], np.ndarray, tuple[float, ...]]:
    """The grid with the requested spacing (same centre); returns shape, affine and the factors."""
    factors = factors_for_spacing(spacing_of(affine), spacing)
    new_shape, new_affine = zoom_grid(shape, affine, factors)
    return new_shape, new_affine, factors


def crop_affine(affine: np.ndarray, start: Sequence[int]) -> np.ndarray:
    """The affine of a sub-grid that begins at voxel ``start`` (a crop keeps the spacing)."""
    shift = np.eye(4)
    shift[:3, 3] = np.asarray(start, dtype=np.float64)
    return np.asarray(affine, dtype=np.float64) @ shift


@dataclass(frozen=True)
class TargetGrid:
    """The output grid of an up-scaling: shape, affine and the per-axis factors that made it.

    Build it with :meth:`from_factors` or :meth:`from_spacing`; both go through
    :func:`medsr.volume.zoom_grid`, the one grid rule of medsr.
    """

    shape: tuple[int, int, int]
    affine: np.ndarray
    factors: tuple[float, float, float]

    @classmethod
    def from_factors(cls, volume: Volume, factors: float | Sequence[float] | str) -> TargetGrid:
        f = parse_triple(factors, 3, "factors", maximum=MAX_FACTOR)
        shape, affine = zoom_grid(volume.shape, volume.affine, f)
        return cls(tuple(shape), affine, f)  # type: ignore[arg-type]

    @classmethod
    def from_spacing(cls, volume: Volume, spacing: float | Sequence[float] | str) -> TargetGrid:
        s = parse_triple(spacing, 3, "spacing")
        shape, affine, f = grid_for_spacing(volume.shape, volume.affine, s)
        return cls(tuple(shape), affine, tuple(float(v) for v in f))  # type: ignore[arg-type]

    @property
    def spacing(self) -> np.ndarray:
        return spacing_of(self.affine)
