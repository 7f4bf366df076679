"""medsr.io.discover.find_scans: one set of rules for files, folders, DICOM folders and globs."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsr.errors import MedsrError
from medsr.io.discover import expands, find_scans, is_dicom_folder, is_scan_file


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _dicom(path: Path) -> Path:
    """A file with the DICOM marker after the 128-byte preamble (enough for discovery)."""
    return _touch(path, b"\0" * 128 + b"DICM" + b"\0" * 16)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    _touch(root / "b.nii.gz")
    _touch(root / "a.png")
    _touch(root / "c.nrrd")
    _touch(root / ".hidden.nii.gz")
    _touch(root / "notes.txt")
    _dicom(root / "series2" / "1.dcm")
    _dicom(root / "series1" / "IM0001")  # DICOM without a suffix
    _touch(root / "plain" / "readme.md")
    _touch(root / "plain" / "deep.nii")
    return root


def test_folder_of_scans_lists_scan_files_then_dicom_folders(tree: Path):
    assert find_scans(tree) == [
        tree / "a.png",
        tree / "b.nii.gz",
        tree / "c.nrrd",
        tree / "series1",
        tree / "series2",
    ]
    assert expands(tree)


def test_recursive_search_enters_plain_subfolders(tree: Path):
    # this folder's scans and DICOM folders first, then what the plain sub-folders hold
    assert find_scans([str(tree)], recursive=True) == [
        tree / "a.png",
        tree / "b.nii.gz",
        tree / "c.nrrd",
        tree / "series1",
        tree / "series2",
        tree / "plain" / "deep.nii",
    ]


def test_a_dicom_folder_is_one_scan(tree: Path):
    assert find_scans(tree / "series1") == [tree / "series1"]
    assert find_scans(tree / "series2") == [tree / "series2"]
    assert is_dicom_folder(tree / "series1") and not is_dicom_folder(tree / "plain")
    assert not expands(tree / "series1")
    # loose slices are not scans on their own; neither is a text file
    assert not is_scan_file(tree / "series2" / "1.dcm") and not is_scan_file(tree / "notes.txt")


def test_nested_dicom_is_one_scan_unless_recursive(tmp_path: Path):
    patient = tmp_path / "patient"
    _dicom(patient / "study" / "t1" / "1.dcm")
    _dicom(patient / "study" / "t2" / "1.dcm")
    assert find_scans(patient) == [patient]  # the reader then asks which series
    assert find_scans(patient, recursive=True) == [
        patient / "study" / "t1",
        patient / "study" / "t2",
    ]


def test_files_and_globs(tree: Path):
    assert find_scans(tree / "notes.txt") == [tree / "notes.txt"]  # named explicitly: read decides
    assert not expands(tree / "b.nii.gz")
    assert find_scans(str(tree / "*.nii.gz")) == [tree / "b.nii.gz"]  # hidden files skipped
    assert find_scans(str(tree / "*")) == [
        tree / "a.png",
        tree / "b.nii.gz",
        tree / "c.nrrd",
        tree / "series1",
        tree / "series2",
    ]
    assert find_scans(str(tree / "**" / "*.nii"), recursive=True) == [tree / "plain" / "deep.nii"]
    assert expands(str(tree / "b.nii.*"))


def test_several_specs_keep_order_without_duplicates(tree: Path):
    found = find_scans([tree / "c.nrrd", str(tree / "*.n*"), tree / "series1"])
    assert found == [tree / "c.nrrd", tree / "b.nii.gz", tree / "series1"]


@pytest.mark.parametrize(
    "spec,phrase",
    [
        ("absent.nii.gz", "does not exist; check the path"),
        ("*.nothing", "no file matches"),
        ("*.txt", "no scan file or DICOM folder among the 1 matches"),
        ("empty", "no readable images or scans in folder"),
        ("docs", "no readable images or scans in folder"),
    ],
)
def test_errors_are_one_line(tree: Path, spec: str, phrase: str):
    (tree / "empty").mkdir()
    _touch(tree / "docs" / "readme.md")
    with pytest.raises(MedsrError, match=phrase) as info:
        find_scans(str(tree / spec))
    assert "\n" not in str(info.value)
