"""Pictures: channel/dtype conventions and pixel-exact round trips (PNG, TIFF, BMP; JPEG close)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from medsr import io
from medsr.errors import MedsrError
from medsr.volume import Volume, VolumeMeta

RNG = np.random.default_rng(7)
GREY8 = RNG.integers(0, 256, size=(13, 17), dtype=np.uint8)
GREY16 = RNG.integers(0, 65536, size=(13, 17), dtype=np.uint16)
RGB8 = RNG.integers(0, 256, size=(13, 17, 3), dtype=np.uint8)


def _check_2d(vol: Volume, channels: int, dtype: str) -> None:
    assert vol.data.shape == (channels, 13, 17, 1)
    assert vol.meta.is_2d and vol.meta.modality == "natural" and vol.meta.dtype == dtype
    np.testing.assert_array_equal(vol.affine, np.eye(4))


@pytest.mark.parametrize(
    "name, pixels, channels, dtype",
    [
        ("g8.png", GREY8, 1, "uint8"),
        ("g16.png", GREY16, 1, "uint16"),
        ("rgb.png", RGB8, 3, "uint8"),
        ("g8.bmp", GREY8, 1, "uint8"),
        ("rgb.bmp", RGB8, 3, "uint8"),
    ],
)
def test_pillow_formats_round_trip_exactly(
    tmp_out: Path, name: str, pixels: np.ndarray, channels: int, dtype: str
) -> None:
    Image.fromarray(pixels).save(tmp_out / name)
    vol = io.read(tmp_out / name)
    _check_2d(vol, channels, dtype)
    expected = pixels[None] if channels == 1 else np.moveaxis(pixels, 2, 0)
    np.testing.assert_array_equal(vol.data[..., 0], expected)
    report = io.write(vol, tmp_out / f"copy_{name}")
    assert report.dtype == dtype and report.clipped == 0
    with Image.open(tmp_out / f"copy_{name}") as img:
        np.testing.assert_array_equal(np.asarray(img).astype(pixels.dtype), pixels)


@pytest.mark.parametrize(
    "pixels, channels, dtype",
    [
        (GREY8, 1, "uint8"),
        (GREY16, 1, "uint16"),
        (RGB8, 3, "uint8"),
        (RNG.normal(size=(13, 17)).astype(np.float32), 1, "float32"),
    ],
)
def test_tiff_round_trip_exactly(
    tmp_out: Path, pixels: np.ndarray, channels: int, dtype: str
) -> None:
    tifffile.imwrite(
        tmp_out / "a.tif", pixels, photometric="rgb" if channels == 3 else "minisblack"
    )
    vol = io.read(tmp_out / "a.tif")
    _check_2d(vol, channels, dtype)
    io.write(vol, tmp_out / "b.tiff")
    np.testing.assert_array_equal(tifffile.imread(tmp_out / "b.tiff"), pixels)


def test_grey_tiff_stack_is_a_volume(tmp_out: Path) -> None:
    stack = RNG.integers(0, 4000, size=(5, 13, 17), dtype=np.uint16)
    tifffile.imwrite(tmp_out / "s.tif", stack, photometric="minisblack")
    vol = io.read(tmp_out / "s.tif")
    assert vol.data.shape == (1, 13, 17, 5) and not vol.meta.is_2d
    np.testing.assert_array_equal(vol.data[0, :, :, 3], stack[3])
    io.write(vol, tmp_out / "s2.tif")
    np.testing.assert_array_equal(tifffile.imread(tmp_out / "s2.tif"), stack)


def test_alpha_is_dropped_with_a_note(tmp_out: Path) -> None:
    rgba = np.concatenate([RGB8, np.full((13, 17, 1), 128, np.uint8)], axis=2)
    Image.fromarray(rgba, mode="RGBA").save(tmp_out / "a.png")
    vol = io.read(tmp_out / "a.png")
    _check_2d(vol, 3, "uint8")
    np.testing.assert_array_equal(vol.data[..., 0], np.moveaxis(RGB8, 2, 0))
    assert "alpha channel dropped" in vol.meta.notes
    la = Image.fromarray(np.stack([GREY8, GREY8], axis=2), mode="LA")
    la.save(tmp_out / "la.png")
    vol = io.read(tmp_out / "la.png")
    _check_2d(vol, 1, "uint8")
    assert "alpha channel dropped" in vol.meta.notes


def test_palette_images_are_expanded(tmp_out: Path) -> None:
    colour = Image.fromarray(RGB8).quantize(colors=16)
    colour.save(tmp_out / "p.png")
    vol = io.read(tmp_out / "p.png")
    _check_2d(vol, 3, "uint8")
    np.testing.assert_array_equal(
        vol.data[..., 0], np.moveaxis(np.asarray(colour.convert("RGB")), 2, 0)
    )
    grey = Image.fromarray(GREY8).convert("P")
    grey.save(tmp_out / "pg.png")
    vol = io.read(tmp_out / "pg.png")
    _check_2d(vol, 1, "uint8")
    np.testing.assert_array_equal(vol.data[0, ..., 0], np.asarray(grey.convert("L")))


def test_jpeg_is_close(tmp_out: Path) -> None:
    smooth = (np.add.outer(np.arange(13), np.arange(17)) * 6).astype(np.uint8)
    Image.fromarray(smooth).save(tmp_out / "a.jpg", quality=100)
    vol = io.read(tmp_out / "a.jpg")
    _check_2d(vol, 1, "uint8")
    io.write(vol, tmp_out / "b.jpeg")
    with Image.open(tmp_out / "b.jpeg") as img:
        assert np.abs(np.asarray(img).astype(int) - smooth).max() <= 3


def test_picture_formats_refuse_what_they_cannot_hold(tmp_out: Path, phantom: Volume) -> None:
    with pytest.raises(MedsrError, match="9 slices"):
        io.write(phantom, tmp_out / "v.png", dtype="uint8")
    flat = Volume(np.full((1, 4, 5, 1), 0.5, np.float32), np.eye(4), VolumeMeta(dtype="float32"))
    with pytest.raises(MedsrError, match="pass dtype uint16"):
        io.write(flat, tmp_out / "f.png")
    rgb16 = Volume(np.zeros((3, 4, 5, 1), np.float32), np.eye(4), VolumeMeta(dtype="uint16"))
    with pytest.raises(MedsrError, match="cannot store uint16 RGB"):
        io.write(rgb16, tmp_out / "c.bmp")  # (16-bit RGB PNG is written: test_faults.py)
    two = Volume(np.zeros((2, 4, 5, 1), np.float32), np.eye(4), VolumeMeta(dtype="uint8"))
    with pytest.raises(MedsrError, match="1 \\(grey\\) or 3 \\(RGB\\)"):
        io.write(two, tmp_out / "two.bmp")
    assert list(tmp_out.iterdir()) == []


def test_picture_to_nifti_keeps_z_of_one(tmp_out: Path) -> None:
    Image.fromarray(RGB8).save(tmp_out / "rgb.png")
    vol = io.read(tmp_out / "rgb.png")
    io.write(vol, tmp_out / "rgb.nii.gz")
    back = io.read(tmp_out / "rgb.nii.gz")
    assert back.data.shape == (3, 13, 17, 1) and back.meta.is_2d and back.meta.dtype == "uint8"
    np.testing.assert_array_equal(back.data, vol.data)
    np.testing.assert_allclose(back.affine, np.eye(4), atol=1e-7)


def test_super_resolved_values_are_clipped_and_counted(tmp_out: Path) -> None:
    Image.fromarray(GREY8).save(tmp_out / "g.png")
    vol = io.read(tmp_out / "g.png")
    over = vol.with_data(vol.data * 1.2 - 10)  # overshoot both ends, as SR outputs may
    expected_clipped = int(((np.rint(over.data) < 0) | (np.rint(over.data) > 255)).sum())
    report = io.write(over, tmp_out / "o.png")
    assert report.clipped == expected_clipped > 0
    with Image.open(tmp_out / "o.png") as img:
        np.testing.assert_array_equal(
            np.asarray(img), np.clip(np.rint(over.data[0, ..., 0]), 0, 255)
        )


@pytest.mark.data
def test_real_benchmark_picture(shared_data: Path, tmp_out: Path) -> None:
    folder = shared_data / "natural" / "CSet5"
    if not folder.is_dir():
        pytest.skip("CSet5 absent")
    first = min(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp", ".tif"))
    vol = io.read(first)
    with Image.open(first) as img:
        ref = np.asarray(img.convert("RGB"))
    assert vol.channels == 3 and vol.shape == (ref.shape[0], ref.shape[1], 1)
    np.testing.assert_array_equal(np.moveaxis(vol.data[..., 0], 0, 2), ref)
    io.write(vol, tmp_out / "copy.png")
    with Image.open(tmp_out / "copy.png") as img:
        np.testing.assert_array_equal(np.asarray(img), ref)
