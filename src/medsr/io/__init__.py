"""Reading and writing scans and pictures: :func:`read` and :func:`write`.

The format follows the name: ``.nii``/``.nii.gz`` (NIfTI, nibabel), a folder or ``.dcm`` (DICOM,
pydicom; written with ``format="dicom"``/``"dicom-enhanced"``), ``.nrrd``/``.nhdr``/``.mha``/
``.mhd`` (SimpleITK), ``.png``/``.jpg``/``.jpeg``/``.tif``/``.tiff``/``.bmp`` (Pillow, tifffile).
Every reader returns a :class:`~medsr.volume.Volume` with physical intensities and a RAS+
affine; every writer is atomic (:mod:`medsr.io.atomic`), refuses to replace an existing file
unless asked, and never touches the input.

Output dtype: by default the source's storage dtype (``meta.dtype``); formats without
slope/intercept get a dtype that holds the physical values (e.g. int16 for a CT stored as uint16
with intercept -1024). Integer outputs are rounded to nearest and clipped; the number of clipped
voxels is reported in :class:`WriteReport`.

Data are kept exactly, converted with a note (``meta.notes``, :attr:`WriteReport.notes`), or refused
with a :class:`~medsr.errors.MedsrError`: complex samples, 64-bit integers beyond the int32 range
and voxel sizes that are zero, negative or NaN are refused (``read(..., spacing_override=...)``
gives the voxel size instead of the header).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.io.atomic import atomic_files, atomic_path, full_suffix
from medsr.io.storage import DTYPES, WriteReport, check_dtype, physical_dtype
from medsr.volume import Volume, parse_triple, spacing_of

__all__ = [
    "DICOM_FORMATS",
    "DTYPES",
    "READ_SUFFIXES",
    "WRITE_SUFFIXES",
    "WriteReport",
    "check_dicom_output",
    "default_dtype",
    "dicom_default_dtype",
    "format_of",
    "read",
    "write",
]

_FORMATS = {
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".dcm": "dicom",
    ".ima": "dicom",
    ".nrrd": "itk",
    ".nhdr": "itk",
    ".mha": "itk",
    ".mhd": "itk",
    ".png": "image2d",
    ".jpg": "image2d",
    ".jpeg": "image2d",
    ".tif": "image2d",
    ".tiff": "image2d",
    ".bmp": "image2d",
}
READ_SUFFIXES: tuple[str, ...] = tuple(_FORMATS)
#: ``format=`` values of :func:`write`: a derived DICOM series folder, one enhanced DICOM file.
DICOM_FORMATS: tuple[str, ...] = ("dicom", "dicom-enhanced")
WRITE_SUFFIXES: tuple[str, ...] = tuple(s for s, f in _FORMATS.items() if f != "dicom")
_DETACHED = (".mhd", ".nhdr")


def format_of(path: str | os.PathLike[str]) -> str:
    """``"nifti"``, ``"dicom"``, ``"itk"`` or ``"image2d"`` from the name (a folder is DICOM).

    Raises:
        MedsrError: for an unknown extension.
    """
    path = Path(path)
    if path.is_dir():
        return "dicom"
    fmt = _FORMATS.get(full_suffix(path))
    if fmt is None:
        from medsr.io.dicom import is_dicom_file

        if path.is_file() and is_dicom_file(path):
            return "dicom"
        raise MedsrError(
            f"unknown file type {path.name!r}; use one of {', '.join(READ_SUFFIXES)} "
            "or a folder of DICOM files"
        )
    return fmt


def read(
    path: str | os.PathLike[str],
    *,
    series: str | None = None,
    spacing_override: float | Sequence[float] | str | None = None,
    stack: str | None = None,
    allocate: Callable[[tuple[int, int, int, int]], np.ndarray] | None = None,
) -> Volume:
    """Read a scan or picture into a :class:`Volume`.

    Args:
        path: a file, or a folder holding a DICOM series.
        series: for a DICOM folder with several series, the SeriesInstanceUID to read.
        spacing_override: the voxel size in mm (one number, or X,Y,Z; X,Y for a 2-D image) to
            use instead of the file's: the affine's columns are rescaled to it (directions and
            origin kept) and a note says so. Needed for a NIfTI whose pixdim is zero, negative or
            NaN.
        stack: for a DICOM multi-frame object holding several stacks, the one to read (its
            number in the listing that the error without it gives, or its StackID).
        allocate: NIfTI only: makes the C-ordered float32 ``(C, X, Y, Z)`` array the voxels are
            read into, slab by slab (``medsr upscale`` passes :func:`medsr.infer.buffers.allocate`
            so that a scan larger than ``--max-memory`` is read into a memory-mapped file).

    Raises:
        MedsrError: missing path, unknown extension, damaged file, ambiguous DICOM folder,
            complex or out-of-range 64-bit samples, an invalid voxel size (without
            ``spacing_override``).
    """
    given = spacing_override is not None
    volume = _read(
        Path(path).expanduser(), series, given_spacing=given, stack=stack, allocate=allocate
    )
    _check_int64(volume)
    _check_float32_precision(volume)
    if spacing_override is not None:
        _override_spacing(volume, spacing_override)
    return volume


def _read(
    path: Path,
    series: str | None,
    *,
    given_spacing: bool,
    stack: str | None = None,
    allocate: Callable[[tuple[int, int, int, int]], np.ndarray] | None = None,
) -> Volume:
    path = Path(path).expanduser()
    if not path.exists():
        raise MedsrError(f"{path} does not exist; check the path")
    fmt = format_of(path)
    if series is not None and fmt != "dicom":
        raise OptionError(
            f"{{series}} only applies to DICOM; {path.name} is {fmt}: drop {{series}}"
        )
    if stack is not None and fmt != "dicom":
        raise OptionError(f"{{stack}} only applies to DICOM; {path.name} is {fmt}: drop {{stack}}")
    if fmt == "dicom":
        from medsr.io.dicom import read_dicom

        return read_dicom(path, series, stack)
    if path.stat().st_size == 0:
        raise MedsrError(f"{path} is empty (0 bytes); re-export it")
    if fmt == "nifti":
        from medsr.io.nifti import read_nifti

        return read_nifti(path, spacing_given=given_spacing, allocate=allocate)
    if fmt == "itk":
        from medsr.io.itk import read_itk

        return read_itk(path)
    from medsr.io.image2d import read_image2d

    return read_image2d(path)


def _check_int64(volume: Volume) -> None:
    """64-bit integers are written as int32 by default: refuse values beyond its range."""
    source = np.dtype(volume.meta.dtype) if volume.meta.dtype else None
    if source is None or source.kind not in "iu" or source.itemsize < 8 or volume.data.size == 0:
        return
    slope, inter = volume.meta.slope or 1.0, volume.meta.intercept
    stored = (np.array([volume.data.min(), volume.data.max()], np.float64) - inter) / slope
    info = np.iinfo(np.int32)
    if stored.min() < info.min or stored.max() > info.max:
        raise MedsrError(
            f"{volume.meta.source} stores {source.name} values from {stored.min():.0f} to "
            f"{stored.max():.0f}, beyond the int32 range medsr keeps exactly; rescale the image "
            "into that range (or convert it to float32) first"
        )
    volume.meta.notes.append(f"{source.name} samples (all within the int32 range) written as int32")


def _check_float32_precision(volume: Volume) -> None:
    """Say so when float32 (medsr's working type) cannot hold the stored integers exactly.

    Integers up to 2**24 are exact in float32; with a slope/intercept the physical values must stay
    below 2**22 slope for the stored integers to be recovered on writing.
    """
    source = np.dtype(volume.meta.dtype) if volume.meta.dtype else None
    if source is not None and source.kind == "f" and source.itemsize > 4:
        volume.meta.notes.append(
            f"{source.name} samples are processed as float32 (about 7 significant digits); "
            "values are written back as " + source.name
        )
        return
    if source is None or source.kind not in "iu" or volume.data.size == 0:
        return
    slope, inter = volume.meta.slope or 1.0, volume.meta.intercept
    limit = float(2**24) if slope == 1.0 and inter == 0.0 else 2.0**22 * abs(slope)
    peak = max(-float(volume.data.min()), float(volume.data.max()))
    if peak >= limit:  # float32 rounds 2**24 + 1 to 2**24: the limit itself is suspect
        volume.meta.notes.append(
            f"{source.name} values up to {peak:.9g} are processed as float32 (exact below "
            f"{limit:.9g}): the last digits of larger values may change"
        )


def _override_spacing(volume: Volume, spacing: float | Sequence[float] | str) -> None:
    """Rescale the affine's columns to ``spacing`` (see :func:`read`); record a note."""
    old = spacing_of(volume.affine)
    fill = float(old[2]) if volume.meta.is_2d else None  # a 2-D image also takes X,Y
    wanted = parse_triple(spacing, 3, "spacing_override", fill=fill)
    affine = volume.affine.copy()
    affine[:3, :3] = affine[:3, :3] / old * np.asarray(wanted, dtype=np.float64)
    volume.affine = affine
    volume.meta.notes.append(
        f"voxel size set to {','.join(f'{v:g}' for v in wanted)} mm by the spacing override "
        f"(the file says {','.join(f'{v:.4g}' for v in old)} mm)"
    )


def default_dtype(volume: Volume, path: str | os.PathLike[str]) -> str:
    """The output dtype :func:`write` uses when none is given (see the module doc)."""
    source = np.dtype(volume.meta.dtype) if volume.meta.dtype else np.dtype("float32")
    if source.name not in DTYPES:
        source = np.dtype("float32") if source.kind in "fc" else np.dtype("int32")
        if source.kind == "b":
            source = np.dtype("uint8")
    if format_of_suffix(path) == "nifti":
        return source.name
    return physical_dtype(source.name, volume.meta.slope, volume.meta.intercept, volume.data)


def format_of_suffix(path: str | os.PathLike[str]) -> str | None:
    """The format of a name without looking at the file system (None when unknown)."""
    return _FORMATS.get(full_suffix(path))


def write(
    volume: Volume,
    path: str | os.PathLike[str],
    *,
    dtype: str | None = None,
    overwrite: bool = False,
    format: str | None = None,
    derivation: Any = None,
    anonymise: bool = False,
) -> WriteReport:
    """Write ``volume`` to ``path`` atomically; the format follows the extension.

    Args:
        volume: what to write; its data must be finite.
        path: the output file (its folder must exist); with ``format="dicom"`` the folder of
            the derived DICOM series to create (:mod:`medsr.io.dicom_write`).
        dtype: storage dtype ("uint8", "int16", "float32", ...); default: see
            :func:`default_dtype`.
        overwrite: replace an existing file (a DICOM folder: one holding only DICOM files).
        format: ``"dicom"`` for a derived DICOM series (a folder, one file per slice),
            ``"dicom-enhanced"`` for one enhanced multi-frame file (``.dcm``,
            :mod:`medsr.io.dicom_enhanced`); None: from the extension.
        derivation: DICOM only: a :class:`medsr.io.dicom_write.Derivation` (what medsr did).
        anonymise: DICOM only: remove patient and study identity.

    Returns:
        :class:`WriteReport` (path, dtype, clipped voxel count).

    Raises:
        MedsrError: unknown extension, existing output, NaN/Inf data, a dtype the format
            cannot hold.
    """
    path = Path(path).expanduser()
    if format is not None and format not in DICOM_FORMATS:
        raise OptionError(
            f"{{format}} must be {' or '.join(DICOM_FORMATS)} (or omitted), got {format!r}"
        )
    if format is not None:
        return _write_dicom(volume, path, dtype, overwrite, derivation, anonymise, format)
    if path.is_dir():
        raise MedsrError(f"{path} is a folder; give a file name such as {path / 'out.nii.gz'}")
    fmt = format_of_suffix(path)
    if fmt is None:
        raise MedsrError(
            f"cannot tell the output format of {path.name!r}; end the name with one of "
            f"{', '.join(WRITE_SUFFIXES)}"
        )
    if fmt == "dicom":
        raise OptionError(
            f"{path.name}: medsr writes DICOM as a series folder ({{format}} dicom, a folder "
            "name) or one enhanced file ({format} dicom-enhanced); or write .nii.gz, .nrrd, .mha"
        )
    if (
        volume.meta.source
        and path.exists()
        and Path(volume.meta.source).resolve() == path.resolve()
    ):
        raise MedsrError(f"refusing to overwrite the input {path}; choose another output name")
    if path.exists() and not overwrite:
        raise OptionError(f"{path} already exists; pass {{overwrite}} or choose another name")
    volume.check_finite()
    dtype = check_dtype(dtype) if dtype is not None else default_dtype(volume, path)

    if fmt == "nifti":
        from medsr.io.nifti import write_nifti as writer
    elif fmt == "itk":
        from medsr.io.itk import write_itk as writer
    else:
        from medsr.io.image2d import write_image2d as writer

    if full_suffix(path) in _DETACHED:
        with atomic_files(path, overwrite=overwrite) as tmp:
            dtype, clipped, notes = writer(volume, tmp, dtype)
    else:
        with atomic_path(path) as tmp:
            dtype, clipped, notes = writer(volume, tmp, dtype)
    return WriteReport(path=path, dtype=dtype, clipped=clipped, notes=tuple(notes))


def dicom_default_dtype(volume: Volume) -> str:
    """The storage dtype of a derived DICOM series: the source's when DICOM images hold it
    (integers of up to 16 bits, kept with the source's slope/intercept), else float32 (stored
    with a fitted rescale, :mod:`medsr.io.dicom_write`)."""
    source = np.dtype(volume.meta.dtype) if volume.meta.dtype else np.dtype("float32")
    if source.kind in "iu" and source.itemsize <= 2:
        return source.name
    return "float32"


def check_dicom_output(path: str | os.PathLike[str], format: str = "dicom") -> None:
    """Refuse a DICOM series folder named like a scan file (``out.nii.gz/``, ``out.dcm/``), and
    an enhanced multi-frame file not named ``.dcm``.

    Raises:
        MedsrError: the name does not suit the format.
    """
    path = Path(path)
    suffix = full_suffix(path)
    if format == "dicom-enhanced":
        if suffix != ".dcm":
            raise MedsrError(
                f"{path.name}: an enhanced multi-frame DICOM object is one file: end its name "
                "with .dcm"
            )
        return
    if suffix in _FORMATS:
        raise MedsrError(
            f"{path.name}: a DICOM series is written into a folder; give a folder name without "
            f"the {suffix} suffix (e.g. {path.name[: -len(suffix)] or 'out'}/)"
        )


def _write_dicom(
    volume: Volume,
    path: Path,
    dtype: str | None,
    overwrite: bool,
    derivation: Any,
    anonymise: bool,
    format: str = "dicom",
) -> WriteReport:
    """A derived DICOM series in the new folder ``path`` (atomic: all slices or none), or one
    enhanced multi-frame file (``format="dicom-enhanced"``)."""
    from medsr.io.atomic_folder import atomic_folder
    from medsr.io.dicom_write import write_dicom_series

    check_dicom_output(path, format)
    source = volume.meta.source
    if source and path.exists():
        src, out = Path(source).resolve(), path.resolve()
        if src == out or out in src.parents:
            raise MedsrError(f"refusing to overwrite the input {source}; choose another folder")
    volume.check_finite()
    dtype = check_dtype(dtype) if dtype is not None else dicom_default_dtype(volume)
    if format == "dicom-enhanced":
        from medsr.io.dicom_enhanced import write_dicom_enhanced

        if path.is_dir():
            raise MedsrError(f"{path} is a folder; give a file name such as {path / 'sr.dcm'}")
        if path.exists() and not overwrite:
            raise OptionError(f"{path} already exists; pass {{overwrite}} or choose another name")
        with atomic_path(path) as tmp:
            dtype, clipped, notes = write_dicom_enhanced(
                volume, tmp, dtype, derivation=derivation, anonymise=anonymise
            )
        return WriteReport(path=path, dtype=dtype, clipped=clipped, notes=tuple(notes))
    with atomic_folder(path, overwrite=overwrite) as tmp:
        dtype, clipped, notes = write_dicom_series(
            volume, tmp, dtype, derivation=derivation, anonymise=anonymise
        )
    return WriteReport(path=path, dtype=dtype, clipped=clipped, notes=tuple(notes))
