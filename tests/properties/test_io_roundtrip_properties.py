"""Property tests: every reader/writer pair of :mod:`medsr.io` gives back exactly what it was given.

The rule of issue 14 ("keep the data exactly, convert it and say so, or refuse"), checked on random
valid files rather than a few fixtures: Hypothesis draws an affine (any rotation or reflection, any
voxel size from 0.05 to 20 mm, any origin), a shape, a storage dtype of :data:`medsr.io.DTYPES`,
values over the dtype's whole range and, for NIfTI, a slope/intercept and the header codes. Each
file is written by the format's own library (nibabel, SimpleITK, Pillow, tifffile), read by
:func:`medsr.io.read`, written back by :func:`medsr.io.write` with its defaults, and compared with
the original by the same library: affine (to the format's float32/float64 precision), voxel size,
storage dtype, stored values, slope/intercept and header codes. Where float32 (medsr's working
type) cannot hold the stored values exactly, the reader must say so in ``meta.notes``.

Profiles: ``tests/conftest.py`` (a few dozen cases per property by default, 10,000 with
``--hypothesis-profile=long``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medsr import io

INT_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")
ALL_DTYPES = (*INT_DTYPES, "float32", "float64")
assert set(ALL_DTYPES) == set(io.DTYPES)


# ---------------------------------------------------------------------------------- strategies
@st.composite
def affines(draw: st.DrawFn) -> np.ndarray:
    """A rigid rotation (or a reflection), positive voxel sizes and an origin: a valid grid."""
    q = np.array(draw(st.lists(st.floats(-1, 1), min_size=4, max_size=4)), dtype=np.float64)
    norm = float(np.linalg.norm(q))
    w, x, y, z = q / norm if norm > 0.1 else (1.0, 0.0, 0.0, 0.0)
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    if draw(st.booleans()):
        rotation[:, 0] *= -1  # a left-handed grid (NIfTI qfac -1)
    spacing = draw(st.lists(st.floats(0.05, 20.0), min_size=3, max_size=3))
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag(spacing)
    affine[:3, 3] = draw(st.lists(st.floats(-500.0, 500.0), min_size=3, max_size=3))
    return affine


def values(dtype: str, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Arrays over the dtype's whole range (floats: finite, float64 beyond float32 excluded)."""
    kind = np.dtype(dtype)
    if kind.kind == "f":
        elements = st.floats(width=32, allow_nan=False, allow_infinity=False)
    else:
        info = np.iinfo(kind)
        edges = [int(info.min), int(info.max), 0, 2**24 + 1, -(2**24) - 1]
        inside = st.sampled_from([v for v in edges if info.min <= v <= info.max])
        elements = st.one_of(st.integers(int(info.min), int(info.max)), inside)
    return arrays(kind, shape, elements=elements)


shapes3 = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(2, 5))
SLOPES = st.sampled_from([1.0, 1.0, 0.5, 2.0, 0.25, 1e-3, 3.7, -1.5])
INTERS = st.sampled_from([0.0, 0.0, -1024.0, 12.5, -3.25, 1000.0])


def _close(a: np.ndarray, b: np.ndarray, rel: float) -> bool:
    """Equal to ``rel`` times the largest entry (the precision the format stores)."""
    scale = max(1.0, float(np.abs(a).max()))
    return bool(np.allclose(a, b, rtol=0, atol=rel * scale))


def _note_says_float32(notes: list[str]) -> bool:
    return any("float32" in n for n in notes)


# ---------------------------------------------------------------------------------- NIfTI
@given(
    affine=affines(),
    dtype=st.sampled_from(ALL_DTYPES),
    shape=shapes3,
    channels=st.sampled_from([1, 1, 2]),
    slope=SLOPES,
    inter=INTERS,
    qcode=st.integers(0, 4),
    scode=st.integers(0, 4),
    descrip=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    data=st.data(),
)
def test_nifti_round_trip_keeps_header_and_stored_values(
    affine, dtype, shape, channels, slope, inter, qcode, scode, descrip, data
) -> None:
    import nibabel as nib

    full = (*shape, channels) if channels > 1 else shape
    stored = data.draw(values(dtype, full), label="stored")
    img = nib.Nifti1Image(stored, None)
    img.set_sform(affine, code=scode)
    img.set_qform(affine, code=qcode)
    integer = np.dtype(dtype).kind in "iu"
    if integer:
        img.header.set_slope_inter(slope, inter)
    img.header["descrip"] = descrip.encode()
    img.header.set_xyzt_units("mm", "sec")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.nii.gz", Path(tmp) / "out.nii.gz"
        nib.save(img, src)
        first = nib.load(src)
        vol = io.read(src)
        assert vol.meta.dtype == dtype
        assert vol.channels == channels and vol.shape == shape
        assert _close(vol.affine, first.affine, 0)  # medsr's grid is the file's grid exactly
        report = io.write(vol, out)
        assert report.dtype == dtype
        back = nib.load(out)
        hdr, hdr0 = back.header, first.header
        assert back.get_data_dtype() == np.dtype(dtype)
        assert (int(hdr["qform_code"]), int(hdr["sform_code"])) == (qcode, scode)
        assert hdr["descrip"].item() == hdr0["descrip"].item()
        assert hdr.get_xyzt_units() == hdr0.get_xyzt_units()
        assert _close(back.affine, first.affine, 2e-6), (back.affine, first.affine)
        np.testing.assert_allclose(
            back.header.get_zooms()[:3], first.header.get_zooms()[:3], rtol=2e-6
        )
        if integer:
            assert back.dataobj.slope == first.dataobj.slope
            assert back.dataobj.inter == first.dataobj.inter
        raw = np.asanyarray(back.dataobj.get_unscaled())
        if _note_says_float32(vol.meta.notes):
            return  # converted, and said so
        assert report.clipped == 0
        np.testing.assert_array_equal(raw, stored)


# ---------------------------------------------------------------------------------- NRRD / MHA
@given(
    affine=affines(),
    dtype=st.sampled_from(ALL_DTYPES),
    shape=shapes3,
    suffix=st.sampled_from([".nrrd", ".mha", ".nhdr", ".mhd"]),
    data=st.data(),
)
def test_itk_round_trip_keeps_geometry_dtype_and_values(affine, dtype, shape, suffix, data) -> None:
    import SimpleITK as sitk

    from medsr.io.itk import affine_to_itk_geometry

    stored = data.draw(values(dtype, shape), label="stored")
    image = sitk.GetImageFromArray(np.ascontiguousarray(stored.transpose(2, 1, 0)))
    origin, spacing, direction = affine_to_itk_geometry(affine)
    image.SetOrigin(tuple(map(float, origin)))
    image.SetSpacing(tuple(map(float, spacing)))
    image.SetDirection(tuple(map(float, direction.ravel())))
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / f"in{suffix}", Path(tmp) / f"out{suffix}"
        sitk.WriteImage(image, str(src))
        first = sitk.ReadImage(str(src))
        vol = io.read(src)
        assert vol.meta.dtype == dtype and vol.shape == shape
        report = io.write(vol, out)
        assert report.dtype == dtype
        back = sitk.ReadImage(str(out))
        assert back.GetPixelIDValue() == first.GetPixelIDValue()
        np.testing.assert_allclose(back.GetSpacing(), first.GetSpacing(), rtol=1e-12)
        np.testing.assert_allclose(back.GetOrigin(), first.GetOrigin(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(back.GetDirection(), first.GetDirection(), atol=1e-12)
        if _note_says_float32(vol.meta.notes):
            return
        assert report.clipped == 0
        np.testing.assert_array_equal(
            sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(first)
        )


# ---------------------------------------------------------------------------------- 2-D pictures
@given(
    fmt=st.sampled_from([".png", ".png", ".bmp", ".tif"]),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    rgb=st.booleans(),
    data=st.data(),
)
def test_picture_round_trip_keeps_every_pixel(fmt, size, rgb, data) -> None:
    if fmt == ".png":
        dtype = data.draw(st.sampled_from(["uint8", "uint16"]), label="dtype")
    elif fmt == ".tif":
        dtype = data.draw(st.sampled_from(ALL_DTYPES), label="dtype")
    else:
        dtype = "uint8"
    shape = (*size, 3) if rgb else size
    pixels = data.draw(values(dtype, shape), label="pixels")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / f"in{fmt}", Path(tmp) / f"out{fmt}"
        _write_picture(src, pixels)
        vol = io.read(src)
        assert vol.meta.is_2d and vol.meta.dtype == dtype
        assert vol.channels == (3 if rgb else 1) and vol.shape == (*size, 1)
        report = io.write(vol, out)
        assert report.dtype == dtype
        back = _read_picture(out, dtype)
        assert back.dtype == np.dtype(dtype) and back.shape == pixels.shape
        if _note_says_float32(vol.meta.notes):
            return
        assert report.clipped == 0
        np.testing.assert_array_equal(back, pixels)


def _write_picture(path: Path, pixels: np.ndarray) -> None:
    if path.suffix == ".tif":
        import tifffile

        tifffile.imwrite(path, pixels, photometric="rgb" if pixels.ndim == 3 else "minisblack")
    elif pixels.dtype == np.uint16:
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(pixels, isVector=pixels.ndim == 3)
        sitk.WriteImage(image, str(path), imageIO="PNGImageIO")
    else:
        from PIL import Image

        Image.fromarray(pixels).save(path)


def _read_picture(path: Path, dtype: str) -> np.ndarray:
    if path.suffix == ".tif":
        import tifffile

        return tifffile.imread(path)
    if dtype == "uint16":  # Pillow reduces 16-bit colour PNG to 8 bit
        import SimpleITK as sitk

        return sitk.GetArrayFromImage(sitk.ReadImage(str(path), imageIO="PNGImageIO"))
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img)


def test_nifti_near_half_turn_rotation_keeps_both_codes(tmp_path: Path) -> None:
    """Found by the property above: an axial grid turned 180 degrees plus 0.007 degree (LPS-derived
    scans) lost its qform (code 0, "sheared" note) because NIfTI's float32 quaternion rounds it."""
    import nibabel as nib

    eps = 1.22070312e-04
    affine = np.eye(4)
    affine[:2, :2] = [[-1.0, -eps], [eps, -1.0]]
    img = nib.Nifti1Image(np.arange(8, dtype=np.int16).reshape(2, 2, 2), None)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    nib.save(img, tmp_path / "in.nii.gz")
    report = io.write(io.read(tmp_path / "in.nii.gz"), tmp_path / "out.nii.gz")
    back = nib.load(tmp_path / "out.nii.gz").header
    assert (int(back["qform_code"]), int(back["sform_code"])) == (1, 1) and not report.notes
    np.testing.assert_allclose(back.get_sform(), affine, atol=1e-7)


def test_integers_float32_cannot_hold_get_a_note_and_others_none(tmp_path: Path) -> None:
    """Found by the properties above: int32/uint32 values beyond 2**24 were silently rounded
    (16777217 written back as 16777216). medsr works in float32: it now says so."""
    import nibabel as nib

    big = np.array([[[0, 2**24 + 1]]], dtype=np.int32)
    nib.save(nib.Nifti1Image(big, np.eye(4)), tmp_path / "big.nii.gz")
    notes = io.read(tmp_path / "big.nii.gz").meta.notes
    assert any("processed as float32" in n and "16777216" in n for n in notes), notes
    fine = np.array([[[-(2**15), 2**15 - 1]]], dtype=np.int32)
    nib.save(nib.Nifti1Image(fine, np.eye(4)), tmp_path / "fine.nii.gz")
    assert io.read(tmp_path / "fine.nii.gz").meta.notes == []
    scaled = nib.Nifti1Image(np.array([[[0, 30000]]], dtype=np.int16), np.eye(4))
    scaled.header.set_slope_inter(1e-6, 1000.0)  # steps of 1e-6 on values near 1000: lost
    nib.save(scaled, tmp_path / "scaled.nii.gz")
    assert any("float32" in n for n in io.read(tmp_path / "scaled.nii.gz").meta.notes)
