"""NRRD / MetaImage: exact LPS<->RAS geometry, agreement with NIfTI written by nibabel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from medsr import io
from medsr.io.itk import affine_to_itk_geometry, itk_geometry_to_affine
from medsr.volume import Volume


@pytest.mark.parametrize("suffix", [".nrrd", ".nhdr", ".mha", ".mhd"])
def test_round_trip_keeps_affine_and_values(phantom: Volume, tmp_out: Path, suffix: str) -> None:
    report = io.write(phantom, tmp_out / f"p{suffix}")
    assert report.dtype == "float32" and report.clipped == 0
    back = io.read(tmp_out / f"p{suffix}")
    np.testing.assert_allclose(back.affine, phantom.affine, atol=1e-6)
    np.testing.assert_array_equal(back.data, phantom.data)
    assert back.meta.dtype == "float32"
    leftovers = [p.name for p in tmp_out.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_detached_header_writes_data_file_beside_it(phantom: Volume, tmp_out: Path) -> None:
    io.write(phantom, tmp_out / "p.mhd")
    names = sorted(p.name for p in tmp_out.iterdir())
    assert names[0] == "p.mhd" and names[1].startswith("p.") and len(names) == 2
    header = (tmp_out / "p.mhd").read_text(errors="replace")
    assert f"ElementDataFile = {names[1]}" in header


def test_geometry_helpers_are_inverse(oblique: np.ndarray) -> None:
    origin, spacing, direction = affine_to_itk_geometry(oblique)
    np.testing.assert_allclose(spacing, (0.9, 1.1, 2.5), atol=1e-12)
    np.testing.assert_allclose(direction @ direction.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(
        itk_geometry_to_affine(origin, spacing, direction), oblique, atol=1e-12
    )


def test_nrrd_agrees_with_nifti_written_by_nibabel(phantom: Volume, tmp_out: Path) -> None:
    """The same volume written both ways: ITK reads the NIfTI as medsr wrote the NRRD."""
    img = nib.Nifti1Image(phantom.data[0], phantom.affine)
    img.to_filename(str(tmp_out / "nib.nii.gz"))
    io.write(phantom, tmp_out / "medsr.nrrd")
    ref = sitk.ReadImage(str(tmp_out / "nib.nii.gz"))  # ITK's own NIfTI reader, LPS
    ours = sitk.ReadImage(str(tmp_out / "medsr.nrrd"))
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.GetSpacing(), ref.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(ref))
    via_medsr = io.read(tmp_out / "nib.nii.gz")
    np.testing.assert_allclose(io.read(tmp_out / "medsr.nrrd").affine, via_medsr.affine, atol=1e-6)


def test_nrrd_header_states_lps_directions(tmp_out: Path, make_phantom: Callable) -> None:
    """An axis pointing to the patient's left (RAS -x) is +x in the NRRD's LPS space."""
    vol = make_phantom((4, 3, 2))
    flip = np.diag([-2.0, 3.0, 4.0, 1.0])
    flip[:3, 3] = (10.0, 20.0, 30.0)
    io.write(Volume(vol.data, flip, vol.meta), tmp_out / "f.nhdr")
    text = (tmp_out / "f.nhdr").read_text(errors="replace")
    assert "space: left-posterior-superior" in text
    assert "space directions: (2,0,0) (0,-3,0) (0,0,4)" in text
    assert "space origin: (-10,-20,30)" in text


def test_rgb_is_written_as_vector_pixels(tmp_out: Path) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, size=(3, 6, 5, 1)).astype(np.float32)
    vol = Volume(data, np.diag([0.5, 0.5, 1.0, 1.0]))
    vol.meta.dtype = "uint8"
    io.write(vol, tmp_out / "rgb.mha")
    image = sitk.ReadImage(str(tmp_out / "rgb.mha"))
    assert image.GetNumberOfComponentsPerPixel() == 3
    back = io.read(tmp_out / "rgb.mha")
    assert back.channels == 3 and back.meta.dtype == "uint8"
    np.testing.assert_array_equal(back.data, data)


def test_two_d_image_reads_with_unit_third_axis(tmp_out: Path) -> None:
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)  # (rows=j, cols=i)
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing((0.7, 0.3))
    image.SetOrigin((5.0, 6.0))
    sitk.WriteImage(image, str(tmp_out / "flat.nrrd"))
    vol = io.read(tmp_out / "flat.nrrd")
    assert vol.shape == (4, 3, 1) and vol.meta.is_2d
    np.testing.assert_array_equal(vol.data[0, :, :, 0], arr.T)
    np.testing.assert_allclose(vol.spacing, (0.7, 0.3, 1.0))
    np.testing.assert_allclose(vol.affine[:3, 3], (-5.0, -6.0, 0.0))


def test_metaimage_modality_tag_is_read(tmp_out: Path) -> None:
    header = (
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 1 2 3\nElementSpacing = 1 1 2\n"
        "DimSize = 2 2 2\nModality = MET_MOD_CT\nElementType = MET_SHORT\nElementDataFile = LOCAL\n"
    )
    values = np.array([-1000, 0, 40, 80, 1000, 2000, 3000, -50], dtype="<i2")
    (tmp_out / "ct.mha").write_bytes(header.encode() + values.tobytes())
    vol = io.read(tmp_out / "ct.mha")
    assert vol.meta.modality == "CT" and vol.meta.dtype == "int16"
    np.testing.assert_array_equal(vol.data[0].transpose(2, 1, 0).ravel(), values)
    np.testing.assert_allclose(vol.affine[:3, 3], (-1.0, -2.0, 3.0))
    np.testing.assert_allclose(vol.spacing, (1.0, 1.0, 2.0))


@pytest.mark.data
def test_real_ct_through_nrrd_matches_simpleitk_nifti_reader(
    shared_data: Path, tmp_out: Path
) -> None:
    path = shared_data / "medical" / "CT_pitch.nii.gz"
    vol = io.read(path)
    io.write(vol, tmp_out / "ct.nrrd")
    ours = sitk.ReadImage(str(tmp_out / "ct.nrrd"))
    ref = sitk.ReadImage(str(path))
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=1e-3)
    np.testing.assert_allclose(ours.GetSpacing(), ref.GetSpacing(), atol=1e-5)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-5)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(ref))
