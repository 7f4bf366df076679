"""2-D pictures: PNG, JPEG, BMP with Pillow; TIFF with tifffile.

A picture becomes a volume of shape ``(C, H, W, 1)``: ``x`` is the image row, ``y`` the column,
spacing 1 mm, identity affine, ``meta.is_2d = True`` and ``meta.modality = "natural"``.
Colour images keep 3 channels (RGB), grey ones 1; 16-bit greys and 16-bit colour PNGs stay
16-bit (``meta.dtype`` is ``uint16``; Pillow reduces 16-bit colour to 8 bit, so those are read and
written with SimpleITK); palette images are expanded (to grey when the palette is grey, else RGB);
an alpha channel is dropped, with a note in ``meta.notes``. A multi-page greyscale TIFF is read as a
stack ``(1, H, W, pages)``.

Writing gives back the same pixels (JPEG excepted: it is lossy, quality 95 without chroma
subsampling is used).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.io.storage import to_storage
from medsr.volume import Volume, VolumeMeta

__all__ = ["IMAGE2D_SUFFIXES", "allowed_dtypes", "read_image2d", "write_image2d"]

IMAGE2D_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

_PIL_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}


def allowed_dtypes(suffix: str, channels: int) -> tuple[str, ...]:
    """Storage dtypes a picture format can hold."""
    suffix = suffix.lower()
    if suffix in (".tif", ".tiff"):
        return ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
    if suffix == ".png":
        return ("uint8", "uint16")
    return ("uint8",)


def _png_is_16bit_colour(path: Path) -> bool:
    """PNG IHDR: bit depth 16 with colour type 2 (RGB) or 6 (RGBA)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError:
        return False
    return len(head) == 26 and head[12:16] == b"IHDR" and head[24] == 16 and head[25] in (2, 6)


def _from_pillow(path: Path) -> tuple[np.ndarray, list[str]]:
    """Pixels as ``(H, W, C)`` plus notes."""
    from PIL import Image, UnidentifiedImageError

    notes: list[str] = []
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode == "P" or mode == "PA":
                palette = np.asarray(img.convert("RGB"))
                if np.array_equal(palette[..., 0], palette[..., 1]) and np.array_equal(
                    palette[..., 0], palette[..., 2]
                ):
                    img, mode = img.convert("L"), "L"
                    notes.append("palette image converted to grey")
                else:
                    img, mode = img.convert("RGB"), "RGB"
                    notes.append("palette image converted to RGB")
            if mode == "1":
                img, mode = img.convert("L"), "L"
            if mode in ("LA", "La"):
                img, mode = img.getchannel(0), "L"
                notes.append("alpha channel dropped")
            if mode in ("RGBA", "RGBa"):
                img, mode = img.convert("RGB"), "RGB"
                notes.append("alpha channel dropped")
            if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
                notes.append(f"{mode} converted to RGB")
                img, mode = img.convert("RGB"), "RGB"
            array = np.asarray(img)
    except UnidentifiedImageError:
        raise MedsrError(
            f"cannot read {path}: not a valid image (damaged, or a wrong extension)"
        ) from None
    except OSError as exc:
        raise MedsrError(
            f"cannot read {path} ({exc}); the image is damaged: re-export it"
        ) from None
    if (
        mode.startswith("I;16")
        or mode == "I"
        and array.size
        and array.min() >= 0
        and array.max() <= 65535
    ):
        array = array.astype(np.uint16)
    if array.ndim == 2:
        array = array[..., None]
    return array, notes


def _from_png16(path: Path) -> tuple[np.ndarray, list[str]]:
    """A 16-bit colour PNG as ``(H, W, 3)`` uint16 (SimpleITK; Pillow would reduce it to 8 bit)."""
    import SimpleITK as sitk

    try:
        array = sitk.GetArrayFromImage(sitk.ReadImage(str(path), imageIO="PNGImageIO"))
    except Exception as exc:  # noqa: BLE001 - SimpleITK raises RuntimeError and others
        raise MedsrError(
            f"cannot read {path} as a 16-bit PNG ({type(exc).__name__}); the image is damaged: "
            "re-export it"
        ) from None
    notes: list[str] = []
    if array.ndim == 3 and array.shape[-1] in (2, 4):
        array = array[..., : array.shape[-1] - 1]
        notes.append("alpha channel dropped")
    if array.ndim == 2:
        array = array[..., None]
    return array, notes


def _from_tiff(path: Path) -> tuple[np.ndarray, list[str], bool]:
    """TIFF pixels as ``(H, W, C)`` (or ``(H, W, 1, Z)`` for a stack) plus notes and is_stack."""
    import tifffile

    notes: list[str] = []
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            array = series.asarray()
            axes = series.axes
            extra_samples = tif.pages[0].extrasamples if len(tif.pages) else ()
    except Exception as exc:  # noqa: BLE001 - tifffile raises many kinds for damaged files
        raise MedsrError(
            f"cannot read {path} as TIFF ({exc}); the file is damaged: re-export it"
        ) from None
    # drop singleton axes other than the image plane
    keep = [i for i, a in enumerate(axes) if a in "YX" or array.shape[i] > 1]
    array = array.reshape([array.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    sample_axes = [a for a in axes if a in "SC"]
    stack_axes = [a for a in axes if a not in "YXSC"]
    if len(sample_axes) > 1 or len(stack_axes) > 1 or (sample_axes and stack_axes):
        raise MedsrError(
            f"{path} has axes {axes} {array.shape}; medsr reads 2-D grey/RGB TIFFs and grey stacks"
        )
    if sample_axes:
        array = np.moveaxis(array, axes.index(sample_axes[0]), -1)
        nsamples = array.shape[-1]
        if nsamples in (2, 4) or len(extra_samples):
            keep_n = nsamples - max(len(extra_samples), 1 if nsamples in (2, 4) else 0)
            array = array[..., :keep_n]
            notes.append("alpha channel dropped")
        return array, notes, False
    if stack_axes:
        array = np.moveaxis(array, axes.index(stack_axes[0]), -1)  # (Y, X, Z)
        return array[:, :, None, :], notes, True
    if axes == "XY":
        array = array.T
    return array[..., None], notes, False


def read_image2d(path: Path) -> Volume:
    """Read a picture as a ``(C, H, W, 1)`` volume with identity affine (see module doc)."""
    suffix = path.suffix.lower()
    stack = False
    if suffix in (".tif", ".tiff"):
        array, notes, stack = _from_tiff(path)
    elif suffix == ".png" and _png_is_16bit_colour(path):
        array, notes = _from_png16(path)
    else:
        array, notes = _from_pillow(path)
    storage = np.dtype(array.dtype)
    if storage.kind == "c":
        raise MedsrError(
            f"{path} holds complex ({storage.name}) pixels; medsr reads real images: save the "
            "magnitude (abs) first"
        )
    if storage.kind not in "uif":
        raise MedsrError(f"{path} holds {storage} pixels; save it as 8/16-bit grey or RGB")
    if stack:
        data = np.moveaxis(array, 2, 0)  # (1, H, W, Z)
    else:
        data = np.moveaxis(array, 2, 0)[..., None]  # (C, H, W, 1)
    meta = VolumeMeta(
        modality="natural",
        dtype=storage.name,
        source=str(path),
        is_2d=not stack,
        extra={"format": "image2d"},
        notes=notes,
    )
    return Volume(np.ascontiguousarray(data, dtype=np.float32), np.eye(4), meta)


def write_image2d(volume: Volume, path: Path, dtype: str) -> tuple[str, int, list[str]]:
    """Write a ``(C, H, W, 1)`` volume as a picture (a TIFF also takes a grey ``(1, H, W, Z)``).

    The affine is not stored (pictures have no geometry). Returns ``(dtype, clipped, notes)``.
    """
    suffix = path.suffix.lower()
    channels, _, _, depth = volume.data.shape
    is_tiff = suffix in (".tif", ".tiff")
    if channels not in (1, 3):
        raise MedsrError(
            f"{path.name}: pictures hold 1 (grey) or 3 (RGB) channels, the volume has {channels}; "
            "write .nii.gz or .nrrd instead"
        )
    if depth != 1 and not (is_tiff and channels == 1):
        raise MedsrError(
            f"{path.name}: a {suffix} file holds one 2-D image but the volume has {depth} slices; "
            "write .nii.gz (or a grey .tif stack) instead"
        )
    allowed = allowed_dtypes(suffix, channels)
    if dtype not in allowed:
        raise OptionError(
            f"{suffix} cannot store {dtype} {'RGB' if channels == 3 else 'grey'} pixels; pass "
            f"{{dtype}} {allowed[-1]} or write .tif/.nii.gz"
        )
    array, clipped = to_storage(volume.data, dtype)
    if is_tiff:
        import tifffile

        if depth > 1:
            pixels = np.moveaxis(array[0], 2, 0)  # (Z, H, W)
            photometric = "minisblack"
        else:
            pixels = array[..., 0] if channels == 1 else np.moveaxis(array[..., 0], 0, 2)
            pixels = pixels[0] if channels == 1 else pixels
            photometric = "rgb" if channels == 3 else "minisblack"
        try:
            tifffile.imwrite(path, np.ascontiguousarray(pixels), photometric=photometric)
        except OSError:
            raise  # a full or read-only disk: medsr.io.atomic turns it into one line
        except Exception as exc:  # noqa: BLE001 - tifffile's errors become one line
            raise MedsrError(f"cannot write {path} ({exc}); check the disk") from None
        return dtype, clipped, []

    pixels = np.moveaxis(array[..., 0], 0, 2)  # (H, W, C)
    pixels = np.ascontiguousarray(pixels[..., 0] if channels == 1 else pixels)
    if channels == 3 and dtype == "uint16":  # Pillow cannot write 16-bit colour PNG
        import SimpleITK as sitk

        try:
            sitk.WriteImage(
                sitk.GetImageFromArray(pixels, isVector=True), str(path), imageIO="PNGImageIO"
            )
        except Exception as exc:  # noqa: BLE001 - SimpleITK's errors become one line
            raise MedsrError(
                f"cannot write {path} ({type(exc).__name__}); check the disk"
            ) from None
        return dtype, clipped, []

    from PIL import Image

    img = Image.fromarray(pixels)
    options = {"quality": 95, "subsampling": 0} if _PIL_FORMAT[suffix] == "JPEG" else {}
    try:
        img.save(path, format=_PIL_FORMAT[suffix], **options)
    except OSError:
        raise  # a full or read-only disk: medsr.io.atomic turns it into one line
    except Exception as exc:  # noqa: BLE001 - Pillow's errors become one line
        raise MedsrError(f"cannot write {path} ({exc}); check the disk") from None
    return dtype, clipped, []
