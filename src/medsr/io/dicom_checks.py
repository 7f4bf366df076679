"""DICOM header checks and pixel decoding with one-line, element-naming errors.

Hospital archives hand out files that pydicom reads only leniently (a ``DS`` with stray spaces, an
``IS`` written ``"2.0"``) or not at all (``NumberOfFrames`` = ``"1A"``, a pixel module without
``BitsAllocated``, a truncated pixel block, a damaged JPEG stream). medsr reads what pydicom can
read, with a note saying which element was read leniently, and refuses the rest with one line that
names the file and the element (tag, VR, and the value for numeric elements only: values of text
elements may identify the patient and never appear in messages or notes).

Compressed transfer syntaxes (JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, RLE, deflate)
are decoded by pydicom's plugins: ``pylibjpeg`` with ``pylibjpeg-libjpeg``, ``pylibjpeg-openjpeg``
and ``pylibjpeg-rle`` (dependencies of medsr), and Pillow.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from medsr.errors import MedsrError

__all__ = [
    "NUMERIC_ELEMENTS",
    "PIXEL_MODULE",
    "check_elements",
    "decode_pixels",
    "object_kind",
    "pydicom_muted",
]

#: Elements medsr turns into numbers (geometry, pixel module, scaling): a value that is no number
#: is an error naming the element.
NUMERIC_ELEMENTS = (
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "SamplesPerPixel",
    "NumberOfFrames",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "SliceThickness",
    "SpacingBetweenSlices",
    "RescaleSlope",
    "RescaleIntercept",
)
#: The pixel-module elements a decoder needs (PS3.3 C.7.6.3).
PIXEL_MODULE = (
    "Rows",
    "Columns",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
)
_NUMERIC_VRS = {"IS", "DS", "US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"}
_MAX_NOTES = 3


@contextmanager
def pydicom_muted() -> Iterator[None]:
    """Within the block, pydicom's log records (its own and its modules') stay in pydicom.

    pydicom reports a lenient read or a failing decoder both as a warning or exception and as a
    log record; medsr turns the former into notes and errors naming the element
    (:func:`check_elements`, :func:`decode_pixels`), so the log copy would only repeat them.
    The "pydicom" logger stops propagating to the root handlers; restored on exit.
    """
    logger = logging.getLogger("pydicom")
    before = logger.propagate
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = before


def _tag_text(tag: Any) -> str:
    return f"({tag.group:04X},{tag.element:04X})"


def _raw_text(ds: Any, keyword: str) -> str:
    """The stored bytes of an element as text (for messages about numeric elements)."""
    try:
        raw = ds.get_item(keyword)
        value = getattr(raw, "value", raw)
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        return str(value).strip()[:40]
    except Exception:  # noqa: BLE001 - only shown in a message: never fails
        return "?"


def _one_line(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_elements(ds: Any, where: str) -> list[str]:
    """Check the elements medsr reads (see :func:`_check_elements`), pydicom's log muted."""
    with pydicom_muted():
        return _check_elements(ds, where)


def _check_elements(ds: Any, where: str) -> list[str]:
    """Check the elements medsr reads; return notes for values read leniently.

    Every top-level element is converted once with pydicom's warnings recorded: a value pydicom
    reads leniently gives a note naming the element; an element it cannot convert at all is
    ignored with a note. Then each of :data:`NUMERIC_ELEMENTS` present must hold numbers.

    Raises:
        MedsrError: an element of :data:`NUMERIC_ELEMENTS` holds no number (``badVR.dcm``'s
            NumberOfFrames ``"1A"``), naming the file, the element, its tag, VR and value.
    """
    notes: list[str] = []
    for tag in list(ds.keys()):
        if tag.group in (0x7FE0, 0xFFFE) or tag.is_private:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                elem = ds[tag]
            except Exception:  # noqa: BLE001 - any unreadable element is noted
                notes.append(f"element {_tag_text(tag)} could not be read and was ignored")
                continue
        if caught and elem.VR != "SQ":
            shown = (
                f" {_raw_text(ds, elem.keyword) if elem.keyword else ''!r}"
                if elem.VR in _NUMERIC_VRS
                else ""
            )
            notes.append(
                f"element {elem.keyword or 'unknown'} {_tag_text(tag)} holds a non-standard "
                f"{elem.VR} value{shown}, read leniently"
            )
    for keyword in NUMERIC_ELEMENTS:
        if keyword not in ds:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                elem = ds[keyword]
        except Exception:  # noqa: BLE001 - pydicom cannot convert it at all (a DS "0.8mm")
            raw = ds.get_item(keyword)
            raise MedsrError(
                f"{where}: element {keyword} {_tag_text(raw.tag)} holds "
                f"{_raw_text(ds, keyword)!r}, not a valid {raw.VR} value; the header is "
                "damaged: fix the element or re-export the file"
            ) from None
        values = elem.value
        values = [] if values is None or values == "" else values
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        try:
            numbers = [float(v) for v in values]
            if elem.VR in ("IS", "US", "SS", "UL", "SL") and any(n != int(n) for n in numbers):
                raise ValueError("not a whole number")
        except (TypeError, ValueError, OverflowError):
            raise MedsrError(
                f"{where}: element {keyword} {_tag_text(elem.tag)} holds "
                f"{_raw_text(ds, keyword)!r}, not a valid {elem.VR} value; the header is "
                "damaged: fix the element or re-export the file"
            ) from None
    if len(notes) > _MAX_NOTES:
        notes = notes[:_MAX_NOTES] + [f"{len(notes) - _MAX_NOTES} more elements read leniently"]
    return notes


def _check_pixel_module(ds: Any, where: str) -> None:
    """Refuse an image whose pixel module lacks an element the decoders need."""
    from pydicom.datadict import tag_for_keyword

    file_meta = getattr(ds, "file_meta", None)
    if file_meta is None or file_meta.get("TransferSyntaxUID") is None:
        raise MedsrError(
            f"{where}: the file meta lacks TransferSyntaxUID (0002,0010), so its pixel data "
            "cannot be decoded; the file is incomplete: re-export it"
        )
    float_pixels = "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
    for keyword in PIXEL_MODULE:
        if float_pixels and keyword in ("BitsStored", "PixelRepresentation"):
            continue
        if ds.get(keyword) in (None, ""):
            tag = tag_for_keyword(keyword) or 0
            raise MedsrError(
                f"{where}: the image lacks {keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X}), a "
                "required element of the pixel module; the file is incomplete: re-export it"
            )


_TRUNCATED = re.compile(r"less than expected \((\d+) vs (\d+) bytes\)")


def decode_pixels(ds: Any, where: str) -> tuple[np.ndarray, list[str]]:
    """The pixel array of ``ds`` and the notes of its decoding (padding removed, ...).

    Raises:
        MedsrError: one line naming the file and what is wrong: a missing pixel-module element or
            transfer syntax, a truncated pixel block, a compressed stream no installed decoder
            reads (with the syntax and the decoders' reasons).
    """
    _check_pixel_module(ds, where)
    syntax = ds.file_meta.TransferSyntaxUID
    name = getattr(syntax, "name", str(syntax))
    with warnings.catch_warnings(record=True) as caught, pydicom_muted():
        warnings.simplefilter("always")
        try:
            pixels = np.asarray(ds.pixel_array)
        except Exception as exc:  # noqa: BLE001 - each decoder fails its own way
            raise _decode_error(exc, where, name, bool(getattr(syntax, "is_compressed", False)))
    notes = sorted({"pixel data: " + _one_line(str(w.message), 160) for w in caught})
    return pixels, notes


def _decode_error(exc: Exception, where: str, syntax: str, compressed: bool) -> MedsrError:
    text = str(exc)
    truncated = _TRUNCATED.search(text)
    if truncated:
        got, want = truncated.groups()
        return MedsrError(
            f"{where}: the pixel data is truncated ({got} of the {want} bytes that Rows, Columns, "
            "NumberOfFrames and BitsAllocated call for); the file is incomplete: re-export it"
        )
    missing = re.search(r"Missing required element: (\(\w{4},\w{4}\)) '([^']+)'", text)
    if missing:
        tag, name = missing.groups()
        return MedsrError(
            f"{where}: the image lacks {name.replace(' ', '')} {tag}, a required element of the "
            "pixel module; the file is incomplete: re-export it"
        )
    if compressed and "missing dependencies" in text:
        return MedsrError(
            f"{where}: no installed decoder reads {syntax} pixel data ({_one_line(text, 160)}); "
            "reinstall medsr's dependencies (pip install pylibjpeg pylibjpeg-libjpeg "
            "pylibjpeg-openjpeg pylibjpeg-rle) or convert the file with dcmdjpeg/gdcmconv"
        )
    if compressed:
        reasons = _one_line(text.split(":", 1)[-1], 180)
        return MedsrError(
            f"{where}: the {syntax} pixel data cannot be decoded ({reasons}); the compressed "
            "stream is damaged or a variant the decoders do not support: convert the file with "
            "dcmdjpeg or gdcmconv, or re-export it uncompressed"
        )
    return MedsrError(
        f"{where}: cannot decode the {syntax} pixel data ({_one_line(text, 180)}); the file is "
        "damaged: re-export it"
    )


def object_kind(ds: Any) -> str:
    """A short name for a DICOM object that holds no image (SR, RTPLAN, waveform, DICOMDIR...)."""
    media = str(getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", ""))
    if media == "1.2.840.10008.1.3.10" or "DirectoryRecordSequence" in ds:
        return "DICOMDIR"
    modality = str(ds.get("Modality", "") or "").strip()
    sop = ds.get("SOPClassUID")
    name = str(getattr(sop, "name", "") if sop else "")
    if "Image Storage" in name and "Rows" not in ds:
        return f"{modality or 'image'} header without pixels"
    return modality or name.replace(" Storage", "") or "unknown"
