"""Enhanced (multi-frame) MR with functional groups, several stacks, and mixed folders.

The enhanced object is built with pydicom (PS3.3 C.7.6.16: shared and per-frame functional groups):
two stacks (an oblique one and a sagittal one) with their frames interleaved and shuffled. The
check is independent of medsr's geometry code: every frame's pixels must sit in the volume at the
slice whose corner the affine maps to that frame's own ImagePositionPatient.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from medsr import io
from medsr.cli import main
from medsr.data import sample_path
from medsr.errors import OptionError

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
ROWS, COLS = 12, 10
SPACING = (0.9, 0.7)  # PixelSpacing: between rows, between columns (mm)
STEP = 2.2  # mm between slices


def _rotation(deg_z: float, deg_x: float) -> np.ndarray:
    a, b = np.deg2rad(deg_z), np.deg2rad(deg_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


def _stacks() -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """StackID -> (row direction, column direction, frame count), LPS."""
    rot = _rotation(20.0, -12.0)
    return {
        "1": (rot[:, 0], rot[:, 1], 5),  # oblique
        "2": (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0]), 4),  # sagittal
    }


def _enhanced(path: Path, stack_ids: tuple[str, ...] = ("1", "2")) -> list[dict]:
    """Write the enhanced MR object; return one record per frame (file order)."""
    rng = np.random.default_rng(3)
    frames = []
    for sid in stack_ids:
        row, col, n = _stacks()[sid]
        normal = np.cross(row, col)
        origin = np.array([-40.5, 22.25, 13.0]) if sid == "1" else np.array([5.0, -60.0, 80.0])
        for k in range(n):
            frames.append(
                {
                    "stack": sid,
                    "position": origin + k * STEP * normal,
                    "orientation": np.concatenate([row, col]),
                    "pixels": rng.integers(0, 4000, (ROWS, COLS)).astype(np.uint16),
                    "in_stack": k + 1,
                }
            )
    order = rng.permutation(len(frames))
    frames = [frames[i] for i in order]

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ENHANCED_MR
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = ENHANCED_MR, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.SeriesInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = ROWS, COLS, len(frames)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    shared, measures, transform = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing = list(SPACING)
    measures.SliceThickness = STEP
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 2, -100, "US"
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    items = []
    for f in frames:
        item, pos, ori, content = Dataset(), Dataset(), Dataset(), Dataset()
        pos.ImagePositionPatient = [float(v) for v in f["position"]]
        ori.ImageOrientationPatient = [float(v) for v in f["orientation"]]
        content.StackID, content.InStackPositionNumber = f["stack"], f["in_stack"]
        item.PlanePositionSequence = Sequence([pos])
        item.PlaneOrientationSequence = Sequence([ori])
        item.FrameContentSequence = Sequence([content])
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    ds.PixelData = b"".join(f["pixels"].tobytes() for f in frames)
    ds.save_as(path, enforce_file_format=True)
    return frames


def _check_geometry(vol, frames: list[dict], stack: str) -> None:
    """Each frame of ``stack`` is one slice: its pixels there, its IPP at the slice's corner."""
    mine = [f for f in frames if f["stack"] == stack]
    assert vol.shape == (COLS, ROWS, len(mine))
    np.testing.assert_allclose(vol.spacing, (SPACING[1], SPACING[0], STEP), atol=1e-9)
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ vol.affine
    corners = [(lps @ np.array([0, 0, z, 1.0]))[:3] for z in range(vol.shape[2])]
    for f in mine:
        z = int(np.argmin([np.linalg.norm(c - f["position"]) for c in corners]))
        np.testing.assert_allclose(corners[z], f["position"], atol=1e-9)
        np.testing.assert_array_equal(vol.data[0, :, :, z], f["pixels"].T * 2.0 - 100.0)
        # the first voxel step goes along the row direction, by the column spacing
        np.testing.assert_allclose(lps[:3, 0], f["orientation"][:3] * SPACING[1], atol=1e-9)
        np.testing.assert_allclose(lps[:3, 1], f["orientation"][3:] * SPACING[0], atol=1e-9)


def test_one_stack_enhanced_mr_reads_with_the_exact_geometry(tmp_path: Path) -> None:
    frames = _enhanced(tmp_path / "enh.dcm", ("1",))
    vol = io.read(tmp_path / "enh.dcm")
    _check_geometry(vol, frames, "1")
    assert vol.meta.modality == "MR" and vol.meta.extra["slice_thickness"] == pytest.approx(STEP)


def test_several_stacks_are_listed_and_stack_picks_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = _enhanced(tmp_path / "enh.dcm")
    with pytest.raises(OptionError) as caught:
        io.read(tmp_path / "enh.dcm")
    message = caught.value.as_flag()
    assert "2 stacks" in message and "--stack N" in message
    assert "1: 5 frames, StackID 1, oblique" in message
    assert "2: 4 frames, StackID 2, sagittal" in message
    _check_geometry(io.read(tmp_path / "enh.dcm", stack="1"), frames, "1")
    _check_geometry(io.read(tmp_path / "enh.dcm", stack="2"), frames, "2")
    with pytest.raises(OptionError, match="is not one of the stacks"):
        io.read(tmp_path / "enh.dcm", stack="3")
    # the command line: one line with the flag, exit 2; --stack reads it
    with pytest.raises(SystemExit) as exit_info:
        main(["info", str(tmp_path / "enh.dcm")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--stack N" in err
    main(["info", str(tmp_path / "enh.dcm"), "--stack", "2", "--json"])
    assert '"shape": [\n    10,\n    12,\n    4\n  ]' in capsys.readouterr().out


def test_mixed_folder_skips_non_image_objects_with_a_count(tmp_path: Path) -> None:
    corpus = Path(pydicom.data.__file__).parent / "test_files"
    folder = tmp_path / "mixed"
    shutil.copytree(sample_path("dicom"), folder)
    for name in ("rtplan.dcm", "test-SR.dcm", "waveform_ecg.dcm"):
        shutil.copy(corpus / name, folder / name)
    shutil.copy(corpus / "dicomdirtests" / "DICOMDIR", folder / "DICOMDIR")
    vol = io.read(folder)
    np.testing.assert_array_equal(vol.data, io.read(sample_path("dicom")).data)
    assert "4 non-image DICOM objects skipped (1 DICOMDIR, 1 ECG, 1 RTPLAN, 1 SR)" in vol.meta.notes


def test_listing_of_a_mixed_folder_counts_the_skipped_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    corpus = Path(pydicom.data.__file__).parent / "test_files"
    folder = tmp_path / "mixed"
    shutil.copytree(sample_path("dicom"), folder)
    for name in ("MR_small.dcm", "rtplan.dcm", "test-SR.dcm"):
        shutil.copy(corpus / name, folder / name)
    capsys.readouterr()
    main(["info", str(folder), "--json"])
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["series"]) == 2
    assert listing["notes"] == ["2 non-image DICOM objects skipped (1 RTPLAN, 1 SR)"]


def test_upscale_reads_the_chosen_stack(tmp_path: Path) -> None:
    from medsr.infer.files import Job, upscale_file

    frames = _enhanced(tmp_path / "enh.dcm")
    job = Job(factors="1,1,2", method="linear", stack="2")
    sidecar = upscale_file(tmp_path / "enh.dcm", tmp_path / "sr.nii.gz", job)
    assert sidecar["geometry"]["input"]["shape"] == [COLS, ROWS, 4]
    assert sidecar["geometry"]["output"]["shape"] == [COLS, ROWS, 8]
    _check_geometry(io.read(tmp_path / "enh.dcm", stack="2"), frames, "2")
