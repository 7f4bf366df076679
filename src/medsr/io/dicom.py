"""DICOM reading with pydicom: a series folder, one slice, or one multi-frame file.

Array axes (the dcm2niix / nibabel convention): ``data[c, x, y, z]`` where ``x`` runs along the
image columns (the first vector of ImageOrientationPatient, the row direction), ``y`` along the
rows (the second vector), and ``z`` over the slices sorted by their position along the slice
normal ``n = row_dir x col_dir`` (ascending). The affine maps these indices to RAS+ millimetres:
DICOM's patient frame is LPS, so the first two rows of the LPS affine are negated.

Geometry is kept exactly or refused: an ImageOrientationPatient whose two vectors are not
perpendicular (beyond 0.06 degree) is refused; a gantry tilt (slices offset along the rows, so the
slice vector is not the normal) is kept as a sheared affine, with a note in ``meta.notes`` (NIfTI
output then carries the sform only, see :mod:`medsr.io.nifti`).

Intensities: RescaleSlope/RescaleIntercept are applied (CT in Hounsfield units); the stored dtype
and scaling stay in ``meta`` so a NIfTI written with the source dtype stores the same integers.

Compressed transfer syntaxes are decoded by the pylibjpeg family (dependencies); damaged headers
and pixel blocks give one line naming the file and the element (:mod:`medsr.io.dicom_checks`).
Folders: non-image objects (SR, RT plans, waveforms, DICOMDIR) are skipped with a count in
``meta.notes``. An enhanced multi-frame object holding several stacks (StackID, orientation or
temporal position) is refused with the list of its stacks unless ``stack`` picks one. Writing a
derived series: :mod:`medsr.io.dicom_write`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.volume import Volume, VolumeMeta

__all__ = [
    "LPS_TO_RAS",
    "SeriesInfo",
    "is_dicom_file",
    "list_series",
    "read_dicom",
    "scan_folder",
    "skipped_note",
    "stack_geometry",
    "tilt_notes",
]

#: Flips DICOM/ITK LPS world coordinates to RAS (negate x and y).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

_DICOMDIR_UID = "1.2.840.10008.1.3.10"
#: |cos| of the angle between the ImageOrientationPatient vectors accepted as perpendicular.
_ORTHOGONAL_TOL = 1e-3
#: Gantry tilts below this (degrees) are rounding, not a tilt.
_TILT_TOL_DEG = 0.01


def tilt_notes(affine: np.ndarray) -> list[str]:
    """A note when the slice vector is not along the slice normal (gantry tilt), else nothing.

    The slice distance is then the distance between slice planes along the normal (what
    :func:`medsr.volume.plane_spacing` reports), shorter than the step between slice positions.
    """
    from medsr.volume import plane_spacing, spacing_of

    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    normal = np.cross(linear[:, 0], linear[:, 1])
    step = linear[:, 2]
    cosine = abs(float(normal @ step)) / (np.linalg.norm(normal) * np.linalg.norm(step))
    angle = float(np.degrees(np.arccos(min(1.0, cosine))))
    if angle < _TILT_TOL_DEG:
        return []
    note = (
        f"gantry tilt of {angle:.2f} degrees: the slices are sheared, kept exactly in the affine "
        f"(slice spacing {plane_spacing(affine)[2]:.4g} mm along the normal, step "
        f"{spacing_of(affine)[2]:.4g} mm between slice positions)"
    )
    return [note]


@dataclass(frozen=True)
class SeriesInfo:
    """One series found in a folder: its UID, description, modality and file count."""

    uid: str
    description: str
    modality: str
    files: tuple[Path, ...]

    def summary(self) -> str:
        desc = self.description or "no description"
        return f"{self.uid} ('{desc}', {self.modality or '?'}, {len(self.files)} files)"


def is_dicom_file(path: Path) -> bool:
    """True when the file carries the DICOM ``DICM`` marker after its 128-byte preamble."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


# ---------------------------------------------------------------------------------- scanning
def _dcmread(path: Path, **kw: Any) -> Any:
    """pydicom.dcmread without its warnings (damaged files raise MedsrError in the callers)."""
    import pydicom

    from medsr.io.dicom_checks import pydicom_muted

    with warnings.catch_warnings(), pydicom_muted():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(str(path), **kw)


def _read_header(path: Path) -> tuple[Any | None, str | None]:
    """``(header, None)`` for a DICOM image file (no pixels read), ``(None, kind)`` for a DICOM
    object without an image (kind: "SR", "RTPLAN", "DICOMDIR", "damaged" ...), ``(None, None)``
    for a file that is not DICOM."""
    from medsr.io.dicom_checks import object_kind

    if not is_dicom_file(path):
        return None, None
    try:
        ds = _dcmread(path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - damaged: skipped (and counted) while scanning a folder
        return None, "damaged"
    media = str(getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", ""))
    if media == _DICOMDIR_UID or "Rows" not in ds:
        return None, object_kind(ds)
    return ds, None


def scan_folder(folder: Path) -> tuple[list[SeriesInfo], dict[str, int]]:
    """The image series under ``folder`` and the count of skipped non-image DICOM objects by kind.

    Searched recursively; files that are not DICOM are ignored, DICOM objects without an image
    (structured reports, RT plans and structures, waveforms, DICOMDIR, damaged files) are counted.
    """
    groups: dict[str, list[tuple[Path, Any]]] = {}
    skipped: dict[str, int] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        ds, kind = _read_header(path)
        if ds is None:
            if kind is not None:
                skipped[kind] = skipped.get(kind, 0) + 1
            continue
        groups.setdefault(str(ds.get("SeriesInstanceUID", "unknown")), []).append((path, ds))
    series = []
    for uid, items in groups.items():
        first = items[0][1]
        series.append(
            SeriesInfo(
                uid=uid,
                description=str(first.get("SeriesDescription", "")).strip(),
                modality=str(first.get("Modality", "")).strip(),
                files=tuple(p for p, _ in items),
            )
        )
    return sorted(series, key=lambda s: (s.description, s.uid)), skipped


def list_series(folder: Path) -> list[SeriesInfo]:
    """All image series under ``folder`` (searched recursively; non-DICOM files are ignored)."""
    return scan_folder(folder)[0]


def skipped_note(skipped: dict[str, int]) -> str | None:
    """``"3 non-image DICOM objects skipped (1 SR, 2 RTPLAN)"``, or None when none was."""
    total = sum(skipped.values())
    if not total:
        return None
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
    return f"{total} non-image DICOM object{'s' if total != 1 else ''} skipped ({kinds})"


def _choose_series(folder: Path, series: str | None) -> tuple[SeriesInfo, dict[str, int]]:
    found, skipped = scan_folder(folder)
    if not found:
        extra = skipped_note(skipped)
        raise MedsrError(
            f"no DICOM image files in {folder}{f' ({extra})' if extra else ''}; point to a "
            "folder holding one DICOM series (files with the DICM marker) or to a "
            ".nii.gz/.nrrd/.mha file"
        )
    if series is None:
        if len(found) == 1:
            return found[0], skipped
        listing = "; ".join(s.summary() for s in found)
        raise OptionError(
            f"{folder} holds {len(found)} DICOM series: {listing}; choose one with {{series}} UID"
        )
    matches = [s for s in found if s.uid == series] or [
        s for s in found if s.uid.startswith(series)
    ]
    if len(matches) != 1:
        listing = "; ".join(s.summary() for s in found)
        what = "matches no" if not matches else "matches more than one"
        raise OptionError(
            f"{{series}} {series} {what} series in {folder}: {listing}; pass a full UID"
        )
    return matches[0], skipped


# ---------------------------------------------------------------------------------- geometry
def _floats(value: Any, n: int, what: str, where: str) -> np.ndarray:
    try:
        arr = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        raise MedsrError(
            f"{where}: {what} is not numeric ({value!r}); the header is damaged"
        ) from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise MedsrError(
            f"{where}: {what} should hold {n} numbers, got {value!r}; the header is damaged"
        )
    return arr


def _per_slice_floats(
    datasets: Sequence[Any], labels: Sequence[str], keyword: str, n: int
) -> np.ndarray:
    """``(slices, n)``: the ``n`` numbers of element ``keyword`` of each slice's dataset, checked
    as :func:`_floats` does (an error names the slice by its label)."""
    return np.stack(
        [_floats(getattr(ds, keyword), n, keyword, lab) for lab, ds in zip(labels, datasets)]
    )


def _slice_step_fallback(ds: Any) -> float:
    """Slice distance without positions: SpacingBetweenSlices, else SliceThickness, else 1."""
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        value = ds.get(key) if ds is not None else None
        try:
            if value is not None and float(value) > 0:
                return abs(float(value))
        except (TypeError, ValueError):
            continue
    return 1.0


def stack_geometry(
    orientation: np.ndarray,
    positions: np.ndarray,
    pixel_spacing: Sequence[float],
    labels: Sequence[str],
    fallback_step: float,
    where: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Sort slices along the normal, check even spacing, build the RAS affine.

    Args:
        orientation: ImageOrientationPatient (6 numbers: row direction, column direction).
        positions: ``(n, 3)`` ImagePositionPatient of each slice (LPS mm).
        pixel_spacing: PixelSpacing ``(between rows, between columns)``.
        labels: a name per slice (file name or frame number) for error messages.
        fallback_step: slice distance for a single slice.
        where: the file or folder, for error messages.

    Returns:
        ``(order, affine)``: the slice order (indices into ``positions``) and the 4x4 RAS affine
        of ``data[x=column, y=row, z=sorted slice]``.
    """
    norms = np.linalg.norm(orientation[:3]), np.linalg.norm(orientation[3:])
    if min(norms) < 1e-6:
        raise MedsrError(
            f"{where}: ImageOrientationPatient {list(orientation)} has a zero vector; the header "
            "is damaged: fix it or re-export the series"
        )
    row_dir = orientation[:3] / norms[0]
    col_dir = orientation[3:] / norms[1]
    cosine = float(np.dot(row_dir, col_dir))
    if abs(cosine) > _ORTHOGONAL_TOL:
        angle = float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
        raise MedsrError(
            f"{where}: the row and column directions of ImageOrientationPatient are "
            f"{angle:.3f} degrees apart, not 90; the header is damaged: fix it or re-export the "
            "series"
        )
    normal = np.cross(row_dir, col_dir)
    depth = positions @ normal
    order = np.argsort(depth, kind="stable")
    depth = depth[order]
    n = len(order)
    if n > 1:
        gaps = np.diff(depth)
        first_dup = np.flatnonzero(gaps < 1e-3)
        if first_dup.size:
            i = int(first_dup[0])
            raise MedsrError(
                f"{where}: {labels[order[i]]} and {labels[order[i + 1]]} lie at the same position "
                f"({depth[i]:.3f} mm along the slice normal): the series holds several volumes "
                "(echoes, time points, or a localizer); split it first (e.g. with dcm2niix)"
            )
        step = float(np.median(gaps))
        bad = np.flatnonzero(np.abs(gaps - step) > max(0.01, 0.01 * step))
        if bad.size:
            i = int(bad[0])
            raise MedsrError(
                f"{where}: uneven slice spacing, a gap of {gaps[i]:.4g} mm between "
                f"{labels[order[i]]} and {labels[order[i + 1]]} (at {depth[i]:.2f} mm along the "
                f"slice normal) where {step:.4g} mm is expected; a slice is missing or extra, "
                "re-export the complete series"
            )
        # The actual step vector (not normal * step): keeps gantry tilt as a shear.
        slice_vec = (positions[order[-1]] - positions[order[0]]) / (n - 1)
    else:
        slice_vec = normal * fallback_step
    lps = np.eye(4)
    lps[:3, 0] = row_dir * float(pixel_spacing[1])
    lps[:3, 1] = col_dir * float(pixel_spacing[0])
    lps[:3, 2] = slice_vec
    lps[:3, 3] = positions[order[0]]
    return order, LPS_TO_RAS @ lps


# ---------------------------------------------------------------------------------- pixels
def _pixels(ds: Any, where: Path, notes: list[str]) -> np.ndarray:
    """Decoded pixels (:func:`medsr.io.dicom_checks.decode_pixels`); its notes go to ``notes``."""
    from medsr.io.dicom_checks import decode_pixels

    pixels, found = decode_pixels(ds, str(where))
    notes.extend(n for n in found if n not in notes)
    return pixels


def _to_xy(frame: np.ndarray, samples: int) -> np.ndarray:
    """One frame ``(rows, cols[, samples])`` -> ``(C, x=cols, y=rows)``."""
    if samples > 1:
        return np.transpose(frame, (2, 1, 0))
    return frame.T[None]


def _rescale(ds_or_item: Any, fallback: Any = None) -> tuple[float, float]:
    def get(key: str, default: float) -> float:
        for src in (ds_or_item, fallback):
            if src is not None and src.get(key) is not None:
                return float(src.get(key))
        return default

    return get("RescaleSlope", 1.0), get("RescaleIntercept", 0.0)


def _assemble(
    frames: list[np.ndarray], scalings: list[tuple[float, float]], samples: int
) -> tuple[np.ndarray, str, float, float]:
    """Stack frames along z, apply the rescale; returns data, storage dtype, slope, intercept."""
    storage = np.dtype(frames[0].dtype)
    data = np.stack([_to_xy(f, samples) for f in frames], axis=-1).astype(np.float32)
    if len(set(scalings)) == 1:
        slope, inter = scalings[0]
        if slope != 1.0 or inter != 0.0:
            data = data * np.float32(slope) + np.float32(inter)
        return data, storage.name, slope, inter
    # per-slice scaling (PET, some MR): physical values only make sense as floats
    for k, (slope, inter) in enumerate(scalings):
        data[..., k] = data[..., k] * np.float32(slope) + np.float32(inter)
    return data, "float32", 1.0, 0.0


def _meta(
    ds: Any, path: Path, storage: str, slope: float, inter: float, nz: int, extra: dict
) -> VolumeMeta:
    modality = str(ds.get("Modality", "")).strip() or None
    notes = list(extra.pop("notes", []))
    info = {
        "format": "dicom",
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "series_description": str(ds.get("SeriesDescription", "")).strip(),
        "slices": nz,
        "photometric": str(ds.get("PhotometricInterpretation", "")),
    }
    thickness = ds.get("SliceThickness", None)
    try:
        if thickness is not None and float(thickness) > 0:
            info["slice_thickness"] = float(
                thickness
            )  # mm; self-SR's default slice profile uses it
    except (TypeError, ValueError):
        pass
    info.update(extra)
    return VolumeMeta(
        modality=modality,
        dtype=storage,
        source=str(path),
        is_2d=nz == 1,
        slope=slope,
        intercept=inter,
        header=None,
        extra=info,
        notes=notes,
    )


def _pixel_spacing(ds: Any, where: str) -> tuple[np.ndarray, bool]:
    for key in ("PixelSpacing", "ImagerPixelSpacing"):
        if ds is not None and ds.get(key) is not None:
            return _floats(ds.get(key), 2, key, where), True
    return np.ones(2), False


# ---------------------------------------------------------------------------------- readers
def _read_slices(files: Sequence[Path], where: Path) -> Volume:
    """A series of single-frame files: sort, check spacing, stack."""
    from medsr.io.dicom_checks import check_elements

    datasets = []
    notes: list[str] = []
    for f in files:
        try:
            datasets.append(_dcmread(f))
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds for damaged files
            raise MedsrError(f"cannot read {f} as DICOM ({exc}); remove the damaged file") from None
        notes.extend(n for n in check_elements(datasets[-1], str(f)) if n not in notes)
    if any(int(ds.get("NumberOfFrames", 1) or 1) > 1 for ds in datasets):
        raise MedsrError(
            f"{where}: the series mixes several multi-frame files; read one file at a time"
        )
    first = datasets[0]
    labels = [f.name for f in files]
    shapes = {(int(ds.Rows), int(ds.Columns)) for ds in datasets}
    if len(shapes) > 1:
        raise MedsrError(f"{where}: the slices differ in size {sorted(shapes)}; split the series")
    missing = [
        lab
        for lab, ds in zip(labels, datasets)
        if ds.get("ImagePositionPatient") is None or ds.get("ImageOrientationPatient") is None
    ]
    if missing:
        raise MedsrError(
            f"{where}: {missing[0]} has no ImagePositionPatient/ImageOrientationPatient, so the "
            "slices cannot be placed; read the files one by one or convert with dcm2niix"
        )
    iops = _per_slice_floats(datasets, labels, "ImageOrientationPatient", 6)
    if np.abs(iops - iops[0]).max() > 1e-4:
        raise MedsrError(
            f"{where}: the slices have different orientations (a localizer or several stacks); "
            "split the series first (e.g. with dcm2niix)"
        )
    positions = _per_slice_floats(datasets, labels, "ImagePositionPatient", 3)
    spacing, has_spacing = _pixel_spacing(first, str(where))
    order, affine = stack_geometry(
        iops[0], positions, spacing, labels, _slice_step_fallback(first), str(where)
    )
    samples = int(first.get("SamplesPerPixel", 1) or 1)
    frames = [_pixels(datasets[i], files[i], notes) for i in order]
    scalings = [_rescale(datasets[i]) for i in order]
    data, storage, slope, inter = _assemble(frames, scalings, samples)
    extra: dict[str, Any] = {
        "files": len(files),
        "notes": tilt_notes(affine) + notes,
        "reference_file": str(files[order[0]]),
    }
    if not has_spacing:
        extra["notes"].append("no PixelSpacing in the files: 1 mm assumed")
    return Volume(data, affine, _meta(first, where, storage, slope, inter, data.shape[-1], extra))


def _group_item(item: Any, shared: Any, sequence: str) -> Any | None:
    """The first item of a functional-group sequence, per-frame first, then shared."""
    for src in (item, shared):
        if src is not None and src.get(sequence):
            return src.get(sequence)[0]
    return None


def _orientation_name(orientation: tuple[float, ...]) -> str:
    normal = np.abs(np.cross(orientation[:3], orientation[3:]))
    axis = int(np.argmax(normal))
    if normal[axis] < 0.999:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _frame_stacks(
    items: list[Any], shared: Any, where: str
) -> list[tuple[tuple[Any, ...], list[int]]]:
    """Frames grouped by (StackID, orientation, TemporalPositionIndex), in order of appearance.

    The functional groups of an enhanced MR/CT object (PS3.3 C.7.6.16) give each frame its stack
    (FrameContentSequence) and orientation (PlaneOrientationSequence); one volume is one group.
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k, item in enumerate(items):
        content = _group_item(item, None, "FrameContentSequence")
        stack_id = str(content.get("StackID", "") or "") if content is not None else ""
        temporal = content.get("TemporalPositionIndex") if content is not None else None
        plane_ori = _group_item(item, shared, "PlaneOrientationSequence")
        ori: tuple[float, ...] = ()
        if plane_ori is not None and plane_ori.get("ImageOrientationPatient"):
            iop = _floats(plane_ori.ImageOrientationPatient, 6, "ImageOrientationPatient", where)
            ori = tuple(np.round(iop, 3) + 0.0)
        key = (stack_id, ori, None if temporal is None else int(temporal))
        groups.setdefault(key, []).append(k)
    return list(groups.items())


def _stack_summary(index: int, key: tuple[Any, ...], frames: list[int]) -> str:
    stack_id, ori, temporal = key
    parts = [f"{len(frames)} frames"]
    if stack_id:
        parts.append(f"StackID {stack_id}")
    if ori:
        parts.append(_orientation_name(ori))
    if temporal is not None:
        parts.append(f"time {temporal}")
    return f"{index}: {', '.join(parts)}"


def _choose_stack(
    groups: list[tuple[tuple[Any, ...], list[int]]], stack: str | None, where: str
) -> list[int]:
    """The frames of the chosen stack (``stack``: its number in the listing, or its StackID)."""
    if stack is None:
        if len(groups) == 1:
            return groups[0][1]
        listing = "; ".join(_stack_summary(i + 1, *g) for i, g in enumerate(groups))
        raise OptionError(
            f"{where} holds {len(groups)} stacks of frames ({listing}); choose one with "
            "{stack} N"
        )
    text = str(stack).strip()
    for i, (key, frames) in enumerate(groups):
        if text == str(i + 1) or (key[0] and text == key[0] and len(groups) > 1):
            return frames
    listing = "; ".join(_stack_summary(i + 1, *g) for i, g in enumerate(groups))
    raise OptionError(f"{{stack}} {stack} is not one of the stacks of {where} ({listing})")


def _read_file(path: Path, stack: str | None = None) -> Volume:
    """One file: a 2-D slice or a multi-frame (enhanced) image, one stack of it."""
    from medsr.io.dicom_checks import check_elements

    try:
        ds = _dcmread(path)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds for damaged files
        raise MedsrError(
            f"cannot read {path} as DICOM ({exc}); the file is damaged or not DICOM"
        ) from None
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        from medsr.io.dicom_checks import object_kind

        raise MedsrError(
            f"{path} is a DICOM file without an image ({object_kind(ds)}: e.g. a report, a plan "
            "or a DICOMDIR); point to an image file or a series folder"
        )
    where = str(path)
    notes = check_elements(ds, where)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    nframes = int(ds.get("NumberOfFrames", 1) or 1)
    pixels = _pixels(ds, path, notes)
    frames = list(pixels) if nframes > 1 else [pixels]
    if len(frames) != nframes:
        raise MedsrError(
            f"{where}: NumberOfFrames says {nframes} but the pixel data holds {len(frames)}; the "
            "header is damaged: re-export the file"
        )

    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    items = list(per_frame) if per_frame and len(per_frame) == nframes else [None] * nframes
    groups = _frame_stacks(items, shared, where)
    if stack is not None and nframes == 1:
        raise OptionError(f"{{stack}} applies to multi-frame files; {where} holds one frame")
    chosen = _choose_stack(groups, stack, where)
    if len(groups) > 1:
        index = next(i for i, g in enumerate(groups) if g[1] is chosen)
        notes.append(f"stack {_stack_summary(index + 1, *groups[index])} of {len(groups)} read")

    measures = _group_item(items[chosen[0]], shared, "PixelMeasuresSequence")
    spacing, has_spacing = _pixel_spacing(measures, where)
    if not has_spacing:
        spacing, has_spacing = _pixel_spacing(ds, where)
    for k in chosen[1:]:
        other = _group_item(items[k], shared, "PixelMeasuresSequence")
        if (
            other is not measures
            and other is not None
            and other.get("PixelSpacing") is not None
            and np.abs(_floats(other.PixelSpacing, 2, "PixelSpacing", where) - spacing).max() > 1e-6
        ):
            raise MedsrError(
                f"{where}: frame {k + 1} has PixelSpacing {list(other.PixelSpacing)}, frame "
                f"{chosen[0] + 1} {list(spacing)}; frames of different sizes are not one "
                "volume: split the object first"
            )
    step = _slice_step_fallback(measures if measures is not None else ds)

    positions, orientation = [], None
    for k in chosen:
        plane_pos = _group_item(items[k], shared, "PlanePositionSequence")
        plane_ori = _group_item(items[k], shared, "PlaneOrientationSequence")
        if plane_pos is not None and plane_pos.get("ImagePositionPatient") is not None:
            positions.append(
                _floats(plane_pos.ImagePositionPatient, 3, "ImagePositionPatient", where)
            )
        if (
            orientation is None
            and plane_ori is not None
            and plane_ori.get("ImageOrientationPatient")
        ):
            orientation = _floats(
                plane_ori.ImageOrientationPatient, 6, "ImageOrientationPatient", where
            )
    if orientation is None and ds.get("ImageOrientationPatient") is not None:
        orientation = _floats(ds.ImageOrientationPatient, 6, "ImageOrientationPatient", where)
    if orientation is None:
        orientation = np.array([1.0, 0, 0, 0, 1.0, 0])
        notes.append("no ImageOrientationPatient: axial orientation assumed")
    if len(positions) != len(chosen):
        # No per-frame positions: frames in file order, evenly spaced along the normal.
        origin = (
            _floats(ds.ImagePositionPatient, 3, "ImagePositionPatient", where)
            if ds.get("ImagePositionPatient") is not None
            else np.zeros(3)
        )
        if ds.get("ImagePositionPatient") is None:
            notes.append("no ImagePositionPatient: origin at 0")
        normal = np.cross(orientation[:3], orientation[3:])
        normal /= np.linalg.norm(normal)
        positions = [origin + k * step * normal for k in range(len(chosen))]
    labels = [f"frame {k + 1}" for k in chosen]
    order, affine = stack_geometry(orientation, np.stack(positions), spacing, labels, step, where)

    scalings = []
    for j in order:
        transform = _group_item(items[chosen[j]], shared, "PixelValueTransformationSequence")
        scalings.append(_rescale(transform, ds))
    data, storage, slope, inter = _assemble([frames[chosen[j]] for j in order], scalings, samples)
    if not has_spacing:
        notes.append("no PixelSpacing: 1 mm assumed")
    extra: dict[str, Any] = {
        "files": 1,
        "frames": nframes,
        "notes": tilt_notes(affine) + notes,
        "reference_file": where,
    }
    thickness = measures.get("SliceThickness") if measures is not None else None
    if thickness is not None and float(thickness) > 0:
        extra["slice_thickness"] = float(thickness)
    return Volume(data, affine, _meta(ds, path, storage, slope, inter, data.shape[-1], extra))


def read_dicom(path: Path, series: str | None = None, stack: str | None = None) -> Volume:
    """Read a DICOM series folder, a single slice or a multi-frame file.

    Args:
        path: a folder (all DICOM files inside, recursively; other files are ignored, non-image
            DICOM objects skipped with a note) or a file.
        series: SeriesInstanceUID (or a unique prefix) to pick when the folder holds several.
        stack: for a multi-frame object holding several stacks, the one to read (its number in
            the error's listing, or its StackID).
    """
    path = Path(path)
    if path.is_dir():
        chosen, skipped = _choose_series(path, series)
        if len(chosen.files) == 1:
            volume = _read_file(chosen.files[0], stack)
        elif stack is not None:
            raise OptionError(
                f"{{stack}} applies to multi-frame files; {path} holds a series of "
                f"{len(chosen.files)} files: drop {{stack}}"
            )
        else:
            volume = _read_slices(list(chosen.files), path)
        note = skipped_note(skipped)
        if note:
            volume.meta.notes.append(note)
        return volume
    volume = _read_file(path, stack)
    if series is not None and not volume.meta.extra.get("series_uid", "").startswith(series):
        raise OptionError(
            f"{path} belongs to series {volume.meta.extra.get('series_uid')}, not {series}; "
            "drop {series} or pass the folder"
        )
    return volume
