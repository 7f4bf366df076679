"""NIfTI-1/2 (``.nii``, ``.nii.gz``) with nibabel.

Reading applies the header's ``scl_slope``/``scl_inter`` (``Volume.data`` holds physical values as
float32) and keeps the header (qform/sform codes, units, ``descrip``, intent) in
``meta.header`` so that writing gives back the same header with the new grid. The affine is
nibabel's: the sform when ``sform_code > 0``, else the qform. A 4-D file is read as channels
(its 4th axis becomes ``C``).

Writing with an integer dtype re-uses the source's slope/intercept, so a scaled file read and
written back stores the same integers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medsr.errors import MedsrError
from medsr.io.storage import to_storage
from medsr.volume import Volume, VolumeMeta

__all__ = ["read_nifti", "write_nifti"]


def _proxy_scaling(img: object) -> tuple[float, float]:
    """The scaling nibabel applies on read (it moves it from the header to the array proxy)."""
    proxy = getattr(img, "dataobj", None)
    slope = getattr(proxy, "slope", 1.0)
    inter = getattr(proxy, "inter", 0.0)
    slope = 1.0 if slope is None or not np.isfinite(slope) or slope == 0 else float(slope)
    inter = 0.0 if inter is None or not np.isfinite(inter) else float(inter)
    return slope, inter


def read_nifti(path: Path) -> Volume:
    """Read a NIfTI file into a :class:`Volume` (channels from the 4th dimension)."""
    import nibabel as nib

    try:
        img = nib.load(str(path), mmap=False)  # a copy: later changes to the file cannot leak in
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise MedsrError(f"{path} is not a NIfTI image; convert it to .nii.gz")
        hdr = img.header
        disk_dtype = hdr.get_data_dtype()
        if disk_dtype.fields:  # RGB24 / RGBA32 NIfTI: a structured dtype, one field per channel
            raw = np.asanyarray(img.dataobj)
            names = [n for n in disk_dtype.names if n.upper() != "A"]
            data = np.stack([raw[n].astype(np.float32) for n in names], axis=-1)
            storage = "uint8"
        else:
            data = img.get_fdata(dtype=np.float32, caching="unchanged")
            storage = disk_dtype.name
    except MedsrError:
        raise
    except Exception as exc:  # nibabel raises many kinds of errors for damaged files
        raise MedsrError(
            f"cannot read {path} as NIfTI ({type(exc).__name__}: {exc}); the file is damaged or "
            "not NIfTI: re-export it"
        ) from None
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 5 and data.shape[3] == 1:
        data = data[:, :, :, 0, :]
    if data.ndim == 3:
        data = data[None]
    elif data.ndim == 4:
        data = np.moveaxis(data, 3, 0)
    else:
        raise MedsrError(
            f"{path} has {data.ndim} dimensions {data.shape}; medsr reads 2-D, 3-D and 4-D NIfTI "
            "(4th axis = channels): split the file first (e.g. fslsplit)"
        )
    slope, inter = _proxy_scaling(img)
    qcode, scode = int(hdr["qform_code"]), int(hdr["sform_code"])
    descrip = hdr["descrip"].item().decode("latin-1", "replace").strip("\x00 ")
    meta = VolumeMeta(
        modality=None,
        dtype=storage,
        source=str(path),
        is_2d=data.shape[3] == 1,
        slope=slope,
        intercept=inter,
        header=hdr.copy(),
        extra={"format": "nifti", "qform_code": qcode, "sform_code": scode, "descrip": descrip},
    )
    return Volume(np.ascontiguousarray(data, dtype=np.float32), img.affine, meta)


def write_nifti(volume: Volume, path: Path, dtype: str) -> tuple[str, int]:
    """Write ``volume`` to ``path`` (a temporary name chosen by the caller) as NIfTI.

    Keeps the source header when it is a NIfTI header; uses the source's slope/intercept for
    integer dtypes. Channels go to the 4th dimension.

    Returns:
        ``(dtype, clipped_count)``.
    """
    import nibabel as nib

    source_hdr = volume.meta.header
    integer = np.dtype(dtype).kind in "iu"
    slope, inter = (volume.meta.slope, volume.meta.intercept) if integer else (1.0, 0.0)
    array, clipped = to_storage(volume.data, dtype, slope, inter)
    array = array[0] if volume.channels == 1 else np.moveaxis(array, 0, 3)

    if isinstance(source_hdr, nib.Nifti2Header):
        image_class, hdr = nib.Nifti2Image, source_hdr.copy()
    elif isinstance(source_hdr, nib.Nifti1Header):
        image_class, hdr = nib.Nifti1Image, source_hdr.copy()
    else:
        image_class, hdr = nib.Nifti1Image, nib.Nifti1Header()
        hdr.set_xyzt_units("mm", "sec")
        hdr["descrip"] = b"medsr"
    qcode, scode = int(hdr["qform_code"]), int(hdr["sform_code"])
    if qcode == 0 and scode == 0:
        qcode = scode = 1  # scanner-anatomical: the affine is the one we computed, state it
    img = image_class(array, None, header=hdr)
    img.set_sform(volume.affine, code=scode)
    img.set_qform(volume.affine, code=qcode)
    img.header.set_data_dtype(np.dtype(dtype))
    if integer and (slope != 1.0 or inter != 0.0):
        img.header.set_slope_inter(slope, inter)
    else:
        img.header.set_slope_inter(np.nan, np.nan)
    try:
        img.to_filename(str(path))
    except Exception as exc:
        raise MedsrError(
            f"cannot write {path} ({type(exc).__name__}: {exc}); check the disk"
        ) from None
    return dtype, clipped
