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
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from medsr.errors import MedsrError

__all__ = [
    "TargetGrid",
    "Volume",
    "VolumeMeta",
    "zoom_grid",
    "grid_for_spacing",
    "index_coordinates",
    "spacing_of",
    "factors_for_spacing",
    "parse_triple",
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
    """

    modality: str | None = None
    dtype: str = "float32"
    source: str | None = None
    is_2d: bool = False
    slope: float = 1.0
    intercept: float = 0.0
    header: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def copy(self, **changes: Any) -> "VolumeMeta":
        """A shallow copy with some fields changed."""
        new = dataclasses.replace(self, **changes)
        new.extra = dict(new.extra)
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
    def with_data(self, data: np.ndarray, affine: np.ndarray | None = None, **meta: Any) -> "Volume":
        """A new volume with other samples (and optionally another affine), same metadata."""
        return Volume(data, self.affine.copy() if affine is None else affine, self.meta.copy(**meta))

    def check_finite(self) -> None:
        """Raise :class:`MedsrError` if the samples hold NaN or Inf."""
        if np.issubdtype(self.data.dtype, np.floating) and not np.isfinite(self.data).all():
            bad = int((~np.isfinite(self.data)).sum())
            raise MedsrError(
                f"{self.meta.source or 'the volume'} holds {bad} NaN/Inf voxels; "
                "replace them (e.g. with 0) before super-resolution"
            )


# ---------------------------------------------------------------------- grid arithmetic
def spacing_of(affine: np.ndarray) -> np.ndarray:
    """Voxel size along each array axis: the lengths of the affine's first three columns."""
    return np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))


def parse_triple(value: float | Sequence[float] | str, ndim: int = 3, name: str = "value") -> tuple[float, ...]:
    """Turn ``2``, ``"1,1,4"`` or ``(1, 1, 4)`` into a per-axis tuple of positive floats."""
    if isinstance(value, str):
        try:
            items = [float(v) for v in value.replace("x", ",").split(",") if v.strip()]
        except ValueError:
            raise MedsrError(f"{name} must be numbers like 1,1,4; got {value!r}") from None
    elif np.isscalar(value):
        items = [float(value)]  # type: ignore[arg-type]
    else:
        items = [float(v) for v in value]  # type: ignore[union-attr]
    if len(items) == 1:
        items = items * ndim
    if len(items) != ndim:
        raise MedsrError(
            f"{name} needs 1 or {ndim} numbers, got {len(items)} ({value!r}); give one number for all "
            "axes or one per axis"
        )
    if not all(np.isfinite(v) and v > 0 for v in items):
        raise MedsrError(f"{name} must be positive and finite, got {value!r}; use numbers > 0 like 2 or 1,1,4")
    return tuple(items)


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


def factors_for_spacing(spacing_old: Sequence[float], spacing_new: Sequence[float]) -> tuple[float, ...]:
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
        f = parse_triple(factors, 3, "factors")
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
