"""Writing a derived DICOM series: one file per output slice, back into the hospital's archive.

A super-resolved scan (review Sec. 2: the SR image on a finer grid of the same field of view) goes
back to the radiologist's viewer as a *derived* series of the source study (PS3.3 C.7.6.1.1.2,
ImageType ``DERIVED\\SECONDARY``): new SeriesInstanceUID and SOPInstanceUIDs, the source's Study
and Frame of Reference (so it overlays the acquired series), the patient identity kept (the result
must file under the same patient) unless ``anonymise`` asks to remove it, and a SeriesDescription
and DerivationDescription saying what medsr did (method, factors, version).

Geometry comes from the output affine exactly: ImageOrientationPatient (the normalised in-plane
columns of the LPS affine), PixelSpacing, ImagePositionPatient of slice ``k`` = origin + k times
the slice vector (a gantry-tilt shear is kept), SliceThickness and SpacingBetweenSlices = the
distance between slice planes. DS values carry 16 characters, so positions are exact to about
1e-10 mm. Slices are stored along the slice vector; a grid whose slice vector points against the
slice normal reads back with its z axis reversed (the same voxels in the same places).

Intensities: DICOM images hold integers of up to 16 bits (CT and MR images). An integer output
keeps the source's RescaleSlope/RescaleIntercept (a CT stays in Hounsfield units); float or 32-bit
outputs are stored as uint16 with a fitted slope and intercept (a note gives the rounding step),
or as int16 without scaling when every value is a whole number in its range.

Nothing is logged: identifiers go into the DICOM files only (never into notes or sidecars).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.io.dicom import LPS_TO_RAS
from medsr.volume import Volume

__all__ = ["Derivation", "reference_header", "slice_geometry", "write_dicom_series"]

_SOP = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
}
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"

#: Patient and study identity: copied from the source, or emptied with ``anonymise``.
_IDENTITY = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
    "StudyDescription",
)
#: Type-2 identity elements written empty when anonymising (PS3.15 basic profile "Z").
_EMPTY_WHEN_ANONYMOUS = (
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
)
#: Acquisition parameters (no identity) that stay true for the derived series.
_TECHNICAL = (
    "BodyPartExamined",
    "PatientPosition",
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "RepetitionTime",
    "EchoTime",
    "InversionTime",
    "EchoTrainLength",
    "FlipAngle",
    "MagneticFieldStrength",
    "ImagingFrequency",
    "ImagedNucleus",
    "KVP",
    "ConvolutionKernel",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "PositionReferenceIndicator",
)


@dataclass(frozen=True)
class Derivation:
    """What medsr did, for SeriesDescription and DerivationDescription."""

    method: str
    factors: tuple[float, ...]
    version: str
    model: str | None = None

    def factors_text(self) -> str:
        return "x".join(f"{f:g}" for f in self.factors)

    def short(self) -> str:
        """``medsr linear x1x1x2`` (fits in a SeriesDescription beside the source's)."""
        return f"medsr {self.model or self.method} x{self.factors_text()}"

    def text(self) -> str:
        """The DerivationDescription (ST, at most 1024 characters)."""
        what = f"network {self.model}" if self.model else f"method {self.method}"
        return (
            f"Super-resolved by medsr {self.version} ({what}, factors {self.factors_text()} per "
            "axis, same field of view); deep-learning super-resolution toolkit after Li, Sixou "
            "and Peyrin, IRBM 2021. Not for diagnosis without review of the acquired series."
        )[:1024]


def reference_header(volume: Volume) -> Any | None:
    """The header (no pixels) of the DICOM file the volume was read from, or None."""
    import pydicom

    path = volume.meta.extra.get("reference_file")
    if not path or not Path(path).is_file():
        return None
    try:
        return pydicom.dcmread(str(path), stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - an unreadable reference is only not used
        return None


def _ds(value: float) -> Any:
    """A DS of at most 16 characters, as precise as they allow (tiny values become 0)."""
    from pydicom.valuerep import DSfloat

    value = 0.0 if abs(value) < 1e-12 else float(value)
    return DSfloat(value, auto_format=True)


def slice_geometry(affine: np.ndarray, nz: int) -> dict[str, Any]:
    """DICOM geometry of the slices of a RAS grid: orientation, spacing, positions, thickness.

    Returns:
        ``{"orientation": 6 floats, "pixel_spacing": (rows, columns), "positions": (nz, 3),
        "spacing": distance between slice planes, "normal": unit slice normal}`` (LPS).

    Raises:
        MedsrError: the in-plane axes are not perpendicular (DICOM cannot describe that grid).
    """
    lps = LPS_TO_RAS @ np.asarray(affine, dtype=np.float64)
    row, col, step = lps[:3, 0], lps[:3, 1], lps[:3, 2]
    dx, dy = float(np.linalg.norm(row)), float(np.linalg.norm(col))
    if min(dx, dy) <= 0:
        raise MedsrError("the output grid has a zero voxel size; DICOM cannot describe it")
    row_dir, col_dir = row / dx, col / dy
    cosine = float(row_dir @ col_dir)
    if abs(cosine) > 1e-6:
        raise MedsrError(
            f"the output grid's in-plane axes are {np.degrees(np.arccos(cosine)):.4f} degrees "
            "apart, not 90: DICOM cannot describe that grid; write NIfTI (.nii.gz) instead"
        )
    normal = np.cross(row_dir, col_dir)
    spacing = abs(float(step @ normal)) if nz > 1 or np.linalg.norm(step) > 0 else 1.0
    positions = lps[:3, 3][None, :] + np.arange(nz)[:, None] * step[None, :]
    return {
        "orientation": [*row_dir, *col_dir],
        "pixel_spacing": (dy, dx),
        "positions": positions,
        "spacing": spacing,
        "normal": normal,
    }


def _storage(volume: Volume, dtype: str) -> tuple[str, float, float, list[str]]:
    """``(stored dtype, slope, intercept, notes)`` for the DICOM pixel data (see module doc)."""
    target = np.dtype(dtype)
    if volume.channels == 3:
        notes = [] if target.name == "uint8" else [f"RGB stored as uint8 (not {target.name})"]
        return "uint8", 1.0, 0.0, notes
    if target.kind in "iu" and target.itemsize <= 2:
        source = np.dtype(volume.meta.dtype) if volume.meta.dtype else np.dtype("float32")
        if source.kind in "iu":
            return target.name, float(_ds(volume.meta.slope)), float(_ds(volume.meta.intercept)), []
        return target.name, 1.0, 0.0, []
    data = volume.data
    lo, hi = float(np.min(data)), float(np.max(data))
    if np.array_equal(data, np.round(data)) and -32768 <= lo and hi <= 32767:
        return "int16", 1.0, 0.0, []
    slope = float(_ds((hi - lo) / 65535.0)) if hi > lo else 1.0
    inter = float(_ds(lo))
    note = (
        f"DICOM images hold integers of up to 16 bits: the {target.name} values are stored as "
        f"uint16 with RescaleSlope {slope:.6g} and RescaleIntercept {inter:.6g} (rounding step "
        f"{slope:.3g})"
    )
    return "uint16", slope, inter, [note]


def _copy(ds: Any, ref: Any | None, key: str) -> None:
    """Copy one element of the source as it was stored (a value pydicom read leniently is not
    re-validated); an element that cannot be read is left out."""
    import copy

    if ref is None or key not in ref:
        return
    try:
        elem = copy.deepcopy(ref[key])
    except Exception:  # noqa: BLE001 - an element pydicom cannot copy is left out
        return
    if elem.value is not None and elem.value != "":
        ds.add(elem)


def _identity(ds: Any, ref: Any | None, anonymise: bool, uid: Any) -> None:
    """Patient, study and frame of reference: from the source, or removed (``anonymise``)."""
    if anonymise:
        ds.PatientName = "ANONYMOUS"
        ds.PatientID = "ANONYMOUS"
        for key in _EMPTY_WHEN_ANONYMOUS:
            setattr(ds, key, "")
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = "medsr --anonymise: identity, dates and source UIDs removed"
        ds.StudyInstanceUID = uid()
        ds.FrameOfReferenceUID = uid()
        return
    for key in _IDENTITY:
        _copy(ds, ref, key)
    for key in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate"):
        if key not in ds:
            setattr(ds, key, "")
    for key in ("StudyTime", "AccessionNumber", "ReferringPhysicianName", "StudyID"):
        if key not in ds:
            setattr(ds, key, "")
    _copy(ds, ref, "SpecificCharacterSet")
    study = ref.get("StudyInstanceUID") if ref is not None else None
    frame = ref.get("FrameOfReferenceUID") if ref is not None else None
    ds.StudyInstanceUID = study or uid()
    ds.FrameOfReferenceUID = frame or uid()


def _base_dataset(
    volume: Volume, ref: Any | None, derivation: Derivation | None, anonymise: bool
) -> tuple[Any, list[str]]:
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    notes: list[str] = []
    ds = Dataset()
    modality = str((ref.get("Modality") if ref is not None else None) or volume.meta.modality or "")
    modality = modality.strip().upper() or "OT"
    sop = _SOP.get(modality, _SECONDARY_CAPTURE) if volume.channels == 1 else _SECONDARY_CAPTURE
    if sop == _SECONDARY_CAPTURE:
        ds.ConversionType = "WSD"
        notes.append(f"written as Secondary Capture images (modality {modality})")
    ds.SOPClassUID = sop
    ds.Modality = modality
    _identity(ds, ref, anonymise, generate_uid)
    if ref is None:
        notes.append("no DICOM source: a new study and frame of reference, no patient identity")
    for key in _TECHNICAL:
        _copy(ds, ref, key)
    if modality == "MR":  # type-1 elements of the MR Image module
        ds.ScanningSequence = ds.get("ScanningSequence") or "RM"
        ds.SequenceVariant = ds.get("SequenceVariant") or "NONE"
        for key in ("ScanOptions", "MRAcquisitionType", "EchoTime", "EchoTrainLength"):
            if key not in ds:
                setattr(ds, key, "")
    if modality == "CT":
        ds.KVP = ds.get("KVP", "")
        ds.AcquisitionNumber = ""
    now = _dt.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.SeriesDate = ds.ContentDate = ds.InstanceCreationDate = date
    ds.SeriesTime = ds.ContentTime = ds.InstanceCreationTime = time
    ds.SeriesInstanceUID = generate_uid()
    ref_number = ref.get("SeriesNumber") if ref is not None else None
    try:
        ds.SeriesNumber = int(ref_number) + 1000 if ref_number not in (None, "") else 1000
    except (TypeError, ValueError):
        ds.SeriesNumber = 1000
    what = derivation.short() if derivation is not None else "medsr"
    source_desc = "" if anonymise or ref is None else str(ref.get("SeriesDescription", "") or "")
    room = 64 - len(what) - 1
    ds.SeriesDescription = (f"{source_desc.strip()[:room]} {what}" if source_desc else what)[:64]
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DerivationDescription = (
        derivation.text() if derivation is not None else "Written by medsr"
    )
    ds.Manufacturer = "medsr"
    if derivation is not None:
        ds.SoftwareVersions = derivation.version
    return ds, notes


def prepare_series(
    volume: Volume,
    dtype: str,
    derivation: Derivation | None,
    anonymise: bool,
    reference: Any | None,
) -> tuple[Any, int, dict[str, Any], str, float, float, list[str], Any]:
    """What every DICOM writer of medsr starts from: ``(reference header, slice count, slice
    geometry, stored dtype, slope, intercept, notes, base dataset)``."""
    from medsr.io.dicom_checks import pydicom_muted

    ref = reference if reference is not None else reference_header(volume)
    nz = volume.shape[2]
    geo = slice_geometry(volume.affine, nz)
    stored, slope, inter, notes = _storage(volume, dtype)
    with pydicom_muted():
        ds, more = _base_dataset(volume, ref, derivation, anonymise)
    notes.extend(more)
    return ref, nz, geo, stored, slope, inter, notes, ds


def write_dicom_series(
    volume: Volume,
    folder: str | Path,
    dtype: str,
    *,
    derivation: Derivation | None = None,
    anonymise: bool = False,
    reference: Any | None = None,
) -> tuple[str, int, list[str]]:
    """Write ``volume`` as a derived DICOM series into the new folder ``folder``.

    Args:
        volume: the scan (1 channel, or 3 for RGB), physical intensities.
        folder: a folder that does not exist yet (the caller makes it atomic,
            :func:`medsr.io.atomic_folder.atomic_folder`).
        dtype: the requested storage dtype (see the module doc for what DICOM holds).
        derivation: what medsr did (SeriesDescription, DerivationDescription).
        anonymise: remove patient and study identity (new Study and Frame of Reference UIDs).
        reference: the source header; default :func:`reference_header` of ``volume``.

    Returns:
        ``(stored dtype, clipped voxel count, notes)``, as the other writers of
        :func:`medsr.io.write`.
    """
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, generate_uid

    from medsr.io.storage import to_storage

    if volume.channels not in (1, 3):
        raise MedsrError(
            f"DICOM images hold 1 (grey) or 3 (RGB) channels, not {volume.channels}; write "
            "NIfTI (.nii.gz) instead"
        )
    prep = prepare_series(volume, dtype, derivation, anonymise, reference)
    ref, nz, geo, stored, slope, inter, notes, ds = prep
    nx, ny = volume.shape[0], volume.shape[1]
    bits = np.dtype(stored).itemsize * 8
    ds.Rows, ds.Columns = ny, nx
    ds.SamplesPerPixel = volume.channels
    if volume.channels == 3:
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    else:
        photometric = str(ref.get("PhotometricInterpretation", "")) if ref is not None else ""
        ds.PhotometricInterpretation = (
            "MONOCHROME1" if photometric == "MONOCHROME1" else "MONOCHROME2"
        )
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = int(np.dtype(stored).kind == "i")
    if volume.channels == 1 and (ds.Modality == "CT" or slope != 1.0 or inter != 0.0):
        ds.RescaleSlope, ds.RescaleIntercept = _ds(slope), _ds(inter)
    ds.ImageOrientationPatient = [_ds(v) for v in geo["orientation"]]
    ds.PixelSpacing = [_ds(v) for v in geo["pixel_spacing"]]
    ds.SliceThickness = _ds(geo["spacing"])
    ds.SpacingBetweenSlices = _ds(geo["spacing"])

    folder = Path(folder)
    folder.mkdir()
    width = max(4, len(str(nz)))
    clipped = 0
    for k in range(nz):
        if volume.channels == 3:
            frame = np.transpose(volume.data[:, :, :, k], (2, 1, 0))
        else:
            frame = volume.data[0, :, :, k].T
        pixels, n_clipped = to_storage(np.ascontiguousarray(frame), stored, slope, inter)
        clipped += n_clipped
        position = geo["positions"][k]
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.SliceLocation = _ds(float(position @ geo["normal"]))
        ds.SOPInstanceUID = generate_uid()
        ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = UID(_EXPLICIT_LE)
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.save_as(folder / f"slice_{k + 1:0{width}d}.dcm", enforce_file_format=True)
    return stored, clipped, notes
