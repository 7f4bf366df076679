"""NIfTI-1/2 (``.nii``, ``.nii.gz``) with nibabel.

Reading applies the header's ``scl_slope``/``scl_inter`` (``Volume.data`` holds physical values as
float32) and keeps the header (qform/sform codes, units, ``descrip``, intent) in
``meta.header`` so that writing gives back the same header with the new grid. The affine is
nibabel's: the sform when ``sform_code > 0``, else the qform. A 4-D file is read as channels
(its 4th axis becomes ``C``).

Refused on reading: complex samples (take the magnitude first), 5-D files other than
``(X, Y, Z, 1, C)``, and, when the affine comes from ``pixdim`` (``sform_code == 0``), a voxel size
that is zero, negative or NaN: nibabel would silently use 1 mm (or its absolute value) and the
output would sit on an invented grid. ``medsr.io.read(..., spacing_override=...)`` gives the size.

Writing with an integer dtype re-uses the source's slope/intercept, so a scaled file read and
written back stores the same integers. The source's qform/sform codes are kept as they are (0 stays
0); a volume without a NIfTI header gets code 1 (scanner) for both. A sheared grid (CT gantry tilt)
cannot be held by the qform (a rotation and zooms): only the sform is written, with
``qform_code 0``, and the returned notes say so.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.io.storage import to_storage
from medsr.volume import Volume, VolumeMeta

__all__ = ["Allocator", "read_nifti", "write_nifti"]


def _proxy_scaling(img: object) -> tuple[float, float]:
    """The scaling nibabel applies on read (it moves it from the header to the array proxy)."""
    proxy = getattr(img, "dataobj", None)
    slope = getattr(proxy, "slope", 1.0)
    inter = getattr(proxy, "inter", 0.0)
    slope = 1.0 if slope is None or not np.isfinite(slope) or slope == 0 else float(slope)
    inter = 0.0 if inter is None or not np.isfinite(inter) else float(inter)
    return slope, inter


def _raw_pixdim(img: object, path: Path) -> np.ndarray:
    """``pixdim`` as stored in the file (nibabel's loaded header has 0 -> 1 and abs applied)."""
    from nibabel.openers import ImageOpener

    with ImageOpener(str(path)) as fh:
        raw = type(img.header).from_fileobj(fh, check=False)  # type: ignore[attr-defined]
    return np.asarray(raw["pixdim"], dtype=np.float64)


def _check_voxel_size(img: object, path: Path, spacing_given: bool) -> np.ndarray | None:
    """Refuse an affine built from an invalid pixdim; with a spacing given, a repaired affine."""
    hdr = img.header  # type: ignore[attr-defined]
    if int(hdr["sform_code"]) > 0:
        return None  # the sform gives the grid; pixdim is not used
    n = int(np.clip(int(hdr["dim"][0]), 1, 3))
    zooms = _raw_pixdim(img, path)[1 : 1 + n]
    bad = [i for i, z in enumerate(zooms) if not np.isfinite(z) or z <= 0]
    if not bad:
        return None
    if not spacing_given:
        a = bad[0]
        raise OptionError(
            f"{path} has an invalid voxel size (pixdim {', '.join(f'{z:g}' for z in zooms)} mm, "
            f"axis {a} is {zooms[a]:g}) and no sform; give the true voxel size with "
            "{spacing_override} (in mm, e.g. 1,1,3) or fix the header"
        )
    fixed = hdr.copy()
    pixdim = np.asarray(fixed["pixdim"], dtype=np.float64)
    pixdim[1 + np.asarray(bad)] = 1.0  # rescaled to the given spacing by medsr.io.read
    fixed["pixdim"] = pixdim
    return fixed.get_best_affine()


#: Makes the C-ordered float32 array of a given ``(C, X, Y, Z)`` shape the voxels are read into.
Allocator = Callable[[tuple[int, int, int, int]], np.ndarray]


def _dimension_error(path: Path, shape: tuple[int, ...]) -> MedsrError:
    return MedsrError(
        f"{path} has {len(shape)} dimensions {shape}; medsr reads 2-D, 3-D and 4-D NIfTI "
        "(4th axis = channels): split the file first (e.g. fslsplit)"
    )


def _channels_first(data: np.ndarray, path: Path) -> np.ndarray:
    """``(X, Y[, Z[, 1], C])`` -> ``(C, X, Y, Z)`` (2-D images get Z = 1)."""
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 5 and data.shape[3] == 1:
        data = data[:, :, :, 0, :]
    if data.ndim == 3:
        return data[None]
    if data.ndim == 4:
        return np.moveaxis(data, 3, 0)
    raise _dimension_error(path, tuple(data.shape))


def _voxels_channels_first(
    img: object, path: Path, allocate: Allocator | None = None
) -> np.ndarray:
    """The voxels of ``img`` as a C-ordered float32 ``(C, X, Y, Z)`` array, read slab by slab.

    Equal value for value to ``np.ascontiguousarray(img.get_fdata(dtype=np.float32))`` moved
    channels-first (nibabel's array proxy scales every slab as it scales the whole), without that
    route's two whole-volume temporaries: the stored array (e.g. int16) and a Fortran-ordered
    float32 copy, copied once more into C order; for a 512 x 512 x 480 CT (Li, Sixou & Peyrin,
    IRBM 2021, section 4) the read peaked at twice the 0.47 GiB float32 input. The file is opened
    once and read front to back (a ``.nii.gz`` is decompressed once), about 1 M voxels at a time,
    into ``allocate(shape)`` (default ``np.empty``).
    """
    from nibabel.arrayproxy import ArrayProxy
    from nibabel.openers import ImageOpener

    shape = tuple(int(n) for n in img.shape)  # type: ignore[attr-defined]
    if len(shape) == 5 and shape[3] == 1:
        layout = "xyz1c"
    elif len(shape) in (2, 3, 4):
        layout = "xyzc"[: len(shape)]
    else:
        raise _dimension_error(path, shape)
    nx, ny = shape[0], shape[1]
    nz = shape[2] if len(shape) >= 3 else 1
    nc = shape[-1] if layout in ("xyzc", "xyz1c") else 1
    out_shape = (nc, nx, ny, nz)
    out = allocate(out_shape) if allocate is not None else np.empty(out_shape, np.float32)
    if out.shape != out_shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(
            f"allocate gave {out.dtype} {out.shape}, not a C-ordered float32 {out_shape} array"
        )
    step = max(1, (1 << 20) // max(1, nx * ny))  # about 1 M voxels per slab
    overflow = False
    src = img.dataobj  # type: ignore[attr-defined]
    spec = (src.shape, src.dtype, src.offset, src.slope, src.inter)
    with ImageOpener(str(path)) as fh:
        proxy = ArrayProxy(fh, spec)
        for c in range(nc):
            for k in range(0, nz, step):
                z = slice(k, min(nz, k + step))
                if layout == "xy":
                    block = np.asarray(proxy[:, :])[:, :, None]
                elif layout == "xyz":
                    block = proxy[:, :, z]
                elif layout == "xyzc":
                    block = proxy[:, :, z, c]
                else:
                    block = proxy[:, :, z, 0, c]
                block = np.asarray(block)
                with np.errstate(over="ignore"):  # one clear warning below instead of numpy's
                    as32 = block.astype(np.float32, copy=False)
                if block.dtype.kind == "f" and block.dtype.itemsize > 4 and not overflow:
                    overflow = bool(np.isinf(as32).any() and not np.isinf(block).any())
                out[c, :, :, z] = as32
                del block, as32  # not alive while the next slab is read
    if overflow:
        warnings.warn(
            f"{path.name}: scaled values beyond the float32 range (scl_slope {src.slope:g}, "
            f"scl_inter {src.inter:g}) overflow and are read as inf; check the header's scaling",
            RuntimeWarning,
            stacklevel=2,
        )
    return out


def read_nifti(
    path: Path, *, spacing_given: bool = False, allocate: Allocator | None = None
) -> Volume:
    """Read a NIfTI file into a :class:`Volume` (channels from the 4th dimension).

    Args:
        path: the file.
        spacing_given: the caller replaces the voxel size (``medsr.io.read(spacing=...)``), so an
            invalid ``pixdim`` is not refused.
        allocate: makes the ``(C, X, Y, Z)`` float32 array the voxels are read into (e.g.
            :func:`medsr.infer.buffers.allocate`, a memory-mapped file for a scan larger than
            memory); default ``np.empty``.
    """
    import nibabel as nib

    try:
        img = nib.load(str(path), mmap=False)  # a copy: later changes to the file cannot leak in
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise MedsrError(f"{path} is not a NIfTI image; convert it to .nii.gz")
        hdr = img.header
        disk_dtype = hdr.get_data_dtype()
        if disk_dtype.kind == "c":
            raise MedsrError(
                f"{path} holds complex ({disk_dtype.name}) samples; medsr reads real images: "
                "save the magnitude (abs) first"
            )
        repaired = _check_voxel_size(img, path, spacing_given)
        if disk_dtype.fields:  # RGB24 / RGBA32 NIfTI: a structured dtype, one field per channel
            raw = np.asanyarray(img.dataobj)
            names = [n for n in disk_dtype.names if n.upper() != "A"]
            data = _channels_first(
                np.stack([raw[n].astype(np.float32) for n in names], axis=-1), path
            )
            storage = "uint8"
        else:
            data = _voxels_channels_first(img, path, allocate)  # slab by slab, no whole copy
            storage = disk_dtype.name
    except MedsrError:
        raise
    except Exception as exc:  # noqa: BLE001 - nibabel raises many kinds of errors for damaged files
        raise MedsrError(
            f"cannot read {path} as NIfTI ({type(exc).__name__}: {exc}); the file is damaged or "
            "not NIfTI: re-export it"
        ) from None
    affine = img.affine if repaired is None else repaired
    if not np.all(np.isfinite(affine)):
        raise MedsrError(
            f"{path} has a NaN or infinite affine (qform/sform); fix the header or re-export it"
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
    if not (data.dtype == np.float32 and data.flags.c_contiguous):
        data = np.ascontiguousarray(data, dtype=np.float32)  # RGB only: the slab reader's is
    return Volume(data, affine, meta)


def _qform_holds(img: object, affine: np.ndarray) -> bool:
    """Whether the qform nibabel derived from ``affine`` equals it (False for a sheared grid).

    A grid whose axes are perpendicular (within 1e-4) is no shear even where the qform differs:
    NIfTI's float32 quaternion rounds rotations near 180 degrees (an LPS-derived axial scan with a
    slight obliquity) by up to 1e-3 rad, as in every NIfTI file; the sform stays exact.
    """
    qform = img.header.get_qform()  # type: ignore[attr-defined]
    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    scale = float(np.abs(linear).max())
    axes = linear / np.linalg.norm(linear, axis=0)
    if np.allclose(axes.T @ axes, np.eye(3), atol=1e-4, rtol=0):
        return True
    return bool(
        np.allclose(qform[:3, :3], linear, atol=1e-4 * scale, rtol=0)
        and np.allclose(qform[:3, 3], affine[:3, 3], atol=1e-3, rtol=1e-6)
    )


def _stream_voxels(
    volume: Volume, header: object, path: Path, dtype: str, slope: float, inter: float
) -> int:
    """Write ``header`` then the voxels of ``volume`` slab by slab; returns the clipped count.

    nibabel's ``to_filename`` needs the whole stored array in memory (and copies it while
    writing); a x4 volume's output is the largest array of a job, so the conversion to the storage
    dtype, the byte order and the Fortran layout of NIfTI are done here a few MB at a time (peak
    extra memory: one slab), giving the same file as nibabel's writer.
    """
    from nibabel.openers import ImageOpener
    from nibabel.volumeutils import seek_tell

    out_dtype = header.get_data_dtype()  # type: ignore[attr-defined]
    clipped = 0
    with ImageOpener(str(path), "wb") as fileobj:
        header.write_to(fileobj)  # type: ignore[attr-defined]
        seek_tell(fileobj, header.get_data_offset(), write0=True)  # type: ignore[attr-defined]
        for channel in volume.data:  # NIfTI's 4th axis is the slowest: channel by channel
            nx, ny, nz = channel.shape
            step = max(1, (1 << 20) // max(1, nx * ny))  # about 1 M voxels per slab
            for k in range(0, nz, step):
                stored, n = to_storage(channel[:, :, k : k + step], dtype, slope, inter)
                clipped += n
                fileobj.write(stored.astype(out_dtype, copy=False).tobytes(order="F"))
    return clipped


def write_nifti(volume: Volume, path: Path, dtype: str) -> tuple[str, int, list[str]]:
    """Write ``volume`` to ``path`` (a temporary name chosen by the caller) as NIfTI.

    Keeps the source header (and its qform/sform codes) when it is a NIfTI header; uses the
    source's slope/intercept for integer dtypes. Channels go to the 4th dimension.

    Returns:
        ``(dtype, clipped_count, notes)``.
    """
    import nibabel as nib

    source_hdr = volume.meta.header
    integer = np.dtype(dtype).kind in "iu"
    slope, inter = (volume.meta.slope, volume.meta.intercept) if integer else (1.0, 0.0)
    shape = volume.shape if volume.channels == 1 else (*volume.shape, volume.channels)

    if isinstance(source_hdr, nib.Nifti2Header):
        image_class, hdr = nib.Nifti2Image, source_hdr.copy()
    elif isinstance(source_hdr, nib.Nifti1Header):
        image_class, hdr = nib.Nifti1Image, source_hdr.copy()
    else:
        image_class, hdr = nib.Nifti1Image, nib.Nifti1Header()
        hdr.set_xyzt_units("mm", "sec")
        hdr["descrip"] = b"medsr"
        hdr["qform_code"] = hdr["sform_code"] = 1  # scanner-anatomical: the affine is ours
    qcode, scode = int(hdr["qform_code"]), int(hdr["sform_code"])
    notes: list[str] = []
    # nibabel builds the header (affine, codes, shape) around a zero-stride stand-in for the
    # voxels, which are streamed below
    stand_in = np.broadcast_to(np.zeros((), np.dtype(dtype)), shape)
    img = image_class(stand_in, None, header=hdr)
    img.set_sform(volume.affine, code=scode)
    img.set_qform(volume.affine, code=qcode)
    if not _qform_holds(img, volume.affine):
        # a sheared grid: the qform would silently disagree with the sform; write the sform only
        scode = scode or qcode or 1
        img.set_sform(volume.affine, code=scode)
        img.set_qform(volume.affine, code=0)
        notes.append(
            "the grid is sheared (gantry tilt): NIfTI's qform cannot hold it, so only the sform "
            f"is written (sform_code {scode}, qform_code 0)"
        )
    img.header.set_data_dtype(np.dtype(dtype))
    if integer and (slope != 1.0 or inter != 0.0):
        img.header.set_slope_inter(slope, inter)
    else:
        img.header.set_slope_inter(1.0, 0.0)  # what nibabel writes for unscaled data
    img.update_header()
    header = img.header
    try:
        clipped = _stream_voxels(volume, header, path, dtype, slope, inter)
    except OSError:
        raise  # a full or read-only disk: medsr.io.atomic turns it into one line
    except Exception as exc:  # noqa: BLE001 - nibabel's errors become one line
        raise MedsrError(
            f"cannot write {path} ({type(exc).__name__}: {exc}); check the disk"
        ) from None
    return dtype, clipped, notes
