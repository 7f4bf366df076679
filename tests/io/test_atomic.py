"""Atomic writing: the output appears whole or not at all, and keeps normal permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from medsr.errors import MedsrError
from medsr.io.atomic import atomic_files, atomic_path, full_suffix


def test_full_suffix_keeps_compound_extensions() -> None:
    assert full_suffix("a/b.v2.nii.gz") == ".nii.gz"
    assert full_suffix("x.NRRD") == ".nrrd"
    assert full_suffix("noext") == ""


def test_temp_file_is_hidden_beside_target_with_same_suffix(tmp_path: Path) -> None:
    target = tmp_path / "scan.v2.nii.gz"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".scan.v2.tmp") and tmp.name.endswith(".nii.gz")
        assert not target.exists()
        tmp.write_bytes(b"payload")
    assert target.read_bytes() == b"payload"
    assert [p.name for p in tmp_path.iterdir()] == ["scan.v2.nii.gz"]


def test_failure_removes_temp_and_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half-written")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_output_gets_umask_permissions_not_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    with (
        pytest.raises(MedsrError, match="does not exist"),
        atomic_path(tmp_path / "nope" / "a.nii"),
    ):
        pass


def test_atomic_files_moves_companions_then_header(tmp_path: Path) -> None:
    target = tmp_path / "v.mhd"
    with atomic_files(target) as tmp:
        assert tmp.name == "v.mhd" and tmp.parent != tmp_path
        (tmp.parent / "v.raw").write_bytes(b"data")
        tmp.write_text("ElementDataFile = v.raw")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mhd", "v.raw"]


def test_atomic_files_failure_and_clash_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_files(tmp_path / "v.mhd") as tmp:
        (tmp.parent / "v.raw").write_bytes(b"data")
        raise RuntimeError("writer died")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "v.raw").write_bytes(b"someone else's data")
    with pytest.raises(MedsrError, match="already exists"), atomic_files(tmp_path / "v.mhd") as tmp:
        (tmp.parent / "v.raw").write_bytes(b"data")
        tmp.write_text("header")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.raw"]
    assert (tmp_path / "v.raw").read_bytes() == b"someone else's data"
