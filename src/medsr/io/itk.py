"""NRRD (``.nrrd``, ``.nhdr``) and MetaImage (``.mha``, ``.mhd``) with SimpleITK.

ITK describes a grid by origin, spacing and a direction matrix in LPS world coordinates:
``world_lps = origin + D @ diag(spacing) @ index`` with ``index = (i, j, k)`` the ITK index
(``i`` fastest in memory). medsr's array axes are the ITK index axes (``data[c, i, j, k]``), so
the RAS affine is ``diag(-1, -1, 1, 1) @ [[D diag(spacing), origin], [0, 1]]`` exactly, and
writing inverts it. Vector pixels (RGB, several components) and 4-D images become channels.

These formats have no slope/intercept: physical values are stored (see
:func:`medsr.io.storage.physical_dtype` for the default dtype).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from medsr.errors import MedsrError
from medsr.io.dicom import LPS_TO_RAS
from medsr.io.storage import to_storage
from medsr.volume import Volume, VolumeMeta

__all__ = ["affine_to_itk_geometry", "itk_geometry_to_affine", "read_itk", "write_itk"]

_MET_MODALITY = {"MET_MOD_CT": "CT", "MET_MOD_MR": "MR", "MET_MOD_NM": "NM", "MET_MOD_US": "US"}


def itk_geometry_to_affine(
    origin: np.ndarray, spacing: np.ndarray, direction: np.ndarray
) -> np.ndarray:
    """RAS 4x4 affine from ITK's LPS origin (3,), spacing (3,) and direction (3, 3)."""
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(direction, dtype=np.float64) @ np.diag(
        np.asarray(spacing, dtype=np.float64)
    )
    lps[:3, 3] = origin
    return LPS_TO_RAS @ lps


def affine_to_itk_geometry(affine: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`itk_geometry_to_affine`: ``(origin, spacing, direction)`` in LPS."""
    lps = LPS_TO_RAS @ np.asarray(affine, dtype=np.float64)
    spacing = np.sqrt((lps[:3, :3] ** 2).sum(axis=0))
    direction = lps[:3, :3] / spacing
    return lps[:3, 3].copy(), spacing, direction


def _geometry3(image: object, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin, spacing, direction of the first three axes (a 2-D image gets a unit third axis)."""
    n = min(dim, 3)
    origin, spacing, direction = np.zeros(3), np.ones(3), np.eye(3)
    origin[:n] = np.asarray(image.GetOrigin(), dtype=np.float64)[:n]
    spacing[:n] = np.asarray(image.GetSpacing(), dtype=np.float64)[:n]
    direction[:n, :n] = np.asarray(image.GetDirection(), dtype=np.float64).reshape(dim, dim)[:n, :n]
    return origin, spacing, direction


@contextmanager
def _native_stderr(lines: list[str]) -> Iterator[None]:
    """What ITK's C++ code prints on the process's stderr (file descriptor 2) inside the block,
    appended to ``lines`` instead of reaching the terminal around medsr's one-line messages."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded, closed)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            lines.extend(ln.strip() for ln in text.splitlines() if ln.strip())


def read_itk(path: Path) -> Volume:
    """Read an NRRD or MetaImage file (scalar or vector pixels, 2-D to 4-D)."""
    import SimpleITK as sitk

    printed: list[str] = []
    try:
        with _native_stderr(printed):  # MetaIO prints its reasons on stderr, not in the exception
            image = sitk.ReadImage(str(path))
    except Exception as exc:  # noqa: BLE001 - SimpleITK's errors become one line
        reason = str(exc).strip().splitlines()
        detail = next((ln.strip() for ln in reason if "Description" in ln or "ERROR" in ln), "")
        if printed:
            detail = f"{' '.join(' '.join(printed).split())[:200]}; {detail}"
        raise MedsrError(
            f"cannot read {path} ({detail or type(exc).__name__}); the file is damaged, or its "
            "data file is missing: check it and re-export"
        ) from None
    dim = image.GetDimension()
    if "complex" in image.GetPixelIDTypeAsString().lower():
        raise MedsrError(
            f"{path} holds complex samples; medsr reads real images: save the magnitude (abs) first"
        )
    array = sitk.GetArrayFromImage(image)  # (k, j, i[, comp]) for 3-D; reversed index order
    ncomp = image.GetNumberOfComponentsPerPixel()
    if ncomp == 1:
        array = array[..., None]
    spatial = array.ndim - 1
    # to (comp, i, j, k...) with the index order of ITK
    array = np.moveaxis(array, -1, 0)
    array = np.transpose(array, (0, *range(spatial, 0, -1)))
    if dim == 2:
        array = array[..., None]
    elif dim == 4:
        if ncomp != 1:
            raise MedsrError(
                f"{path} is 4-D with vector pixels; medsr reads up to 4-D scalar images"
            )
        array = np.moveaxis(array[0], 3, 0)  # the 4th axis becomes the channels
    elif dim != 3:
        raise MedsrError(f"{path} has {dim} dimensions; medsr reads 2-D, 3-D and 4-D images")
    origin, spacing, direction = _geometry3(image, dim)
    affine = itk_geometry_to_affine(origin, spacing, direction)
    storage = np.dtype(sitk.GetArrayViewFromImage(image).dtype).name
    modality = None
    if image.HasMetaDataKey("Modality"):
        modality = _MET_MODALITY.get(image.GetMetaData("Modality").strip())
    meta = VolumeMeta(
        modality=modality,
        dtype=storage,
        source=str(path),
        is_2d=array.shape[3] == 1,
        extra={"format": "itk", "itk_dimension": dim, "components": ncomp},
    )
    if printed:
        meta.notes.append("ITK: " + " ".join(" ".join(printed).split())[:300])
    return Volume(np.ascontiguousarray(array, dtype=np.float32), affine, meta)


def write_itk(
    volume: Volume, path: Path, dtype: str, *, compress: bool = True
) -> tuple[str, int, list[str]]:
    """Write ``volume`` as NRRD/MetaImage at ``path`` (the format follows the suffix).

    Several channels are written as vector pixels (RGB stays RGB); a sheared grid (gantry tilt) is
    kept (the direction matrix may be non-orthogonal). Returns ``(dtype, clipped, notes)``.
    """
    import SimpleITK as sitk

    array, clipped = to_storage(volume.data, dtype)
    # (C, i, j, k) -> (k, j, i, C): SimpleITK's array order
    array = np.transpose(array, (3, 2, 1, 0))
    is_vector = volume.channels > 1
    image = sitk.GetImageFromArray(
        np.ascontiguousarray(array if is_vector else array[..., 0]), isVector=is_vector
    )
    origin, spacing, direction = affine_to_itk_geometry(volume.affine)
    image.SetOrigin(tuple(float(v) for v in origin))
    image.SetSpacing(tuple(float(v) for v in spacing))
    image.SetDirection(tuple(float(v) for v in direction.ravel()))
    try:
        sitk.WriteImage(image, str(path), useCompression=compress)
    except Exception as exc:  # noqa: BLE001 - SimpleITK's errors become one line
        raise MedsrError(
            f"cannot write {path} ({str(exc).strip().splitlines()[-1]}); check the disk"
        ) from None
    return dtype, clipped, []
