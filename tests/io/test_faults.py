"""Fault safety of writes: a scan and its sidecar appear together or not at all.

Covers :func:`medsr.io.atomic.atomic_group` (all-or-nothing commit with rollback), temporary names
with the writer PID and the clean-up of stale ones, a full disk (ENOSPC) and SIGTERM during a
``medsr upscale`` run, and the target checks done before anything is written (a folder or a file
at the sidecar path ``OUT.json``).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.io import atomic
from medsr.io.atomic import atomic_group, atomic_path, clean_stale

UPSCALE = ["upscale", "--method", "linear", "--factors", "1,1,2"]


def _scan(path: Path) -> Path:
    data = np.arange(6 * 5 * 4, dtype=np.float32).reshape(6, 5, 4)
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 2.0, 1.0])), str(path))
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------------- atomic_group
def test_group_commits_every_member(tmp_path: Path) -> None:
    a, b = tmp_path / "scan.mhd", tmp_path / "scan.mhd.json"
    with atomic_group([a, b]) as (sa, sb):
        assert sa.parent == sb.parent != tmp_path and sa.name == "scan.mhd"
        (sa.parent / "scan.raw").write_bytes(b"voxels")  # a companion file
        sa.write_text("header")
        sb.write_text("{}")
        assert _names(tmp_path) == [sa.parent.name]  # nothing visible before the commit
    assert _names(tmp_path) == ["scan.mhd", "scan.mhd.json", "scan.raw"]


def test_group_failure_in_block_leaves_old_files(tmp_path: Path) -> None:
    a, b = tmp_path / "o.nii.gz", tmp_path / "o.nii.gz.json"
    a.write_bytes(b"old scan")
    b.write_bytes(b"old json")
    with (
        pytest.raises(RuntimeError, match="writer died"),
        atomic_group([a, b], overwrite=True) as (sa, _),
    ):
        sa.write_bytes(b"new scan")
        raise RuntimeError("writer died")
    assert _names(tmp_path) == ["o.nii.gz", "o.nii.gz.json"]
    assert (a.read_bytes(), b.read_bytes()) == (b"old scan", b"old json")


def test_group_failed_rename_rolls_back_committed_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "o.nii.gz", tmp_path / "o.nii.gz.json"
    a.write_bytes(b"old scan")
    b.write_bytes(b"old json")
    real_replace = os.replace
    calls: list[Path] = []

    def flaky_replace(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        calls.append(Path(dst))
        if Path(dst) == a and calls.count(a) == 1:  # the scan goes in last: fail once
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky_replace)
    with (
        pytest.raises(MedsrError, match="input/output error; nothing was written"),
        atomic_group([a, b], overwrite=True) as (sa, sb),
    ):
        sa.write_bytes(b"new scan")
        sb.write_bytes(b"new json")
    assert b in calls  # the sidecar had gone in (and was rolled back)
    assert _names(tmp_path) == ["o.nii.gz", "o.nii.gz.json"]
    assert (a.read_bytes(), b.read_bytes()) == (b"old scan", b"old json")


def test_group_checks_every_target_before_writing(tmp_path: Path) -> None:
    a, b = tmp_path / "o.nrrd", tmp_path / "o.nrrd.json"
    b.mkdir()
    with pytest.raises(MedsrError, match="is a folder"), atomic_group([a, b], overwrite=True):
        raise AssertionError("the block must not run")
    b.rmdir()
    b.write_text("keep me")
    with pytest.raises(MedsrError, match="already exists"), atomic_group([a, b]):
        raise AssertionError("the block must not run")
    assert _names(tmp_path) == ["o.nrrd.json"] and b.read_text() == "keep me"


# ------------------------------------------------------------------------- stale temporaries
def test_temporary_name_carries_the_writer_pid(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "out.nii.gz") as tmp:
        assert tmp.name.startswith(f".out.tmp{os.getpid()}-") and tmp.name.endswith(".nii.gz")
        tmp.write_bytes(b"x")


def test_clean_stale_removes_dead_writers_and_old_files_only(tmp_path: Path) -> None:
    target = tmp_path / "out.nii.gz"
    dead = tmp_path / f".out.tmp{_dead_pid()}-0123abcd.nii.gz"
    live = tmp_path / f".out.tmp{os.getpid()}-0123abcd.nii.gz"
    old_anonymous = tmp_path / ".out.tmpa1b2c3d4.nii.gz"
    young_anonymous = tmp_path / ".out.tmpe5f6a7b8.nii.gz"
    dead_dir = tmp_path / f".out.tmp{_dead_pid()}-89abcdef"
    other = tmp_path / f".other.tmp{_dead_pid()}-0123abcd.nii.gz"
    for p in (dead, live, old_anonymous, young_anonymous, other):
        p.write_bytes(b"half")
    dead_dir.mkdir()
    (dead_dir / "out.nii.gz").write_bytes(b"half")
    hour_ago = time.time() - 3600
    os.utime(old_anonymous, (hour_ago, hour_ago))
    removed = clean_stale(target)
    assert sorted(p.name for p in removed) == sorted([dead.name, old_anonymous.name, dead_dir.name])
    assert _names(tmp_path) == sorted([live.name, young_anonymous.name, other.name])


def test_next_run_removes_what_a_killed_run_left(tmp_path: Path, medsr_main) -> None:
    src = _scan(tmp_path / "in.nii.gz")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    leftover = out_dir / f".sr.tmp{_dead_pid()}-0badf00d.nii.gz"
    leftover.write_bytes(b"half a scan from a killed run")
    code, _, err = medsr_main(*UPSCALE, src, "-o", out_dir / "sr.nii.gz")
    assert code == 0, err
    assert _names(out_dir) == ["sr.nii.gz", "sr.nii.gz.json"]


# ------------------------------------------------------------------------- full disk
def test_disk_full_while_writing_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, medsr_main
) -> None:
    src = _scan(tmp_path / "in.nii.gz")
    out = tmp_path / "sr.nii.gz"

    real_write = nib.openers.Opener.write
    calls: list[int] = []

    def no_space(self: object, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) > 1:  # the header was written; the disk fills during the voxels
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(nib.openers.Opener, "write", no_space)
    code, out_text, err = medsr_main(*UPSCALE, src, "-o", out)
    assert code == 2 and out_text == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no space left on the device; nothing was written" in err
    assert _names(tmp_path) == ["in.nii.gz"]
    assert len(calls) > 1


def test_disk_full_while_writing_the_sidecar_restores_old_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, medsr_main
) -> None:
    src = _scan(tmp_path / "in.nii.gz")
    out = tmp_path / "sr.nii.gz"
    out.write_bytes(b"previous scan")
    Path(f"{out}.json").write_text("previous sidecar")
    real_write_text = Path.write_text

    def no_space(self: Path, text: str, *args: object, **kwargs: object) -> int:
        if ".json" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", no_space)
    code, _, err = medsr_main(*UPSCALE, src, "-o", out, "--overwrite")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no space left on the device" in err
    assert _names(tmp_path) == ["in.nii.gz", "sr.nii.gz", "sr.nii.gz.json"]
    assert out.read_bytes() == b"previous scan"
    assert Path(f"{out}.json").read_text() == "previous sidecar"


# ------------------------------------------------------------------------- sidecar path taken
def test_overwrite_with_a_folder_at_the_sidecar_path_changes_nothing(
    tmp_path: Path, medsr_main
) -> None:
    src = _scan(tmp_path / "in.nii.gz")
    out = tmp_path / "sr.nii.gz"
    out.write_bytes(b"previous scan")
    Path(f"{out}.json").mkdir()
    code, _, err = medsr_main(*UPSCALE, src, "-o", out, "--overwrite")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "sr.nii.gz.json is a folder" in err
    assert out.read_bytes() == b"previous scan"
    assert Path(f"{out}.json").is_dir() and _names(tmp_path) == [
        "in.nii.gz",
        "sr.nii.gz",
        "sr.nii.gz.json",
    ]


def test_a_file_at_the_sidecar_path_needs_overwrite(tmp_path: Path, medsr_main) -> None:
    src = _scan(tmp_path / "in.nii.gz")
    out = tmp_path / "sr.nii.gz"
    side = Path(f"{out}.json")
    side.write_text("someone's notes")
    code, _, err = medsr_main(*UPSCALE, src, "-o", out)
    assert code == 2 and "sr.nii.gz.json already exists" in err and "--overwrite" in err
    assert side.read_text() == "someone's notes" and not out.exists()
    code, _, err = medsr_main(*UPSCALE, src, "-o", out, "--overwrite")
    assert code == 0, err
    assert nib.load(str(out)).shape == (6, 5, 8) and '"notes"' in side.read_text()


# ------------------------------------------------------------------------- SIGTERM
_SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import medsr.io.nifti as nifti

    real = nifti.write_nifti

    def slow(volume, path, dtype):
        result = real(volume, path, dtype)
        Path(sys.argv[1]).write_text(str(path))  # tell the test: the temporary scan exists
        time.sleep(60)
        return result

    nifti.write_nifti = slow
    from medsr.cli import main

    main(sys.argv[2:])
    """
)


def test_sigterm_during_the_write_leaves_no_file(tmp_path: Path) -> None:
    src = _scan(tmp_path / "in.nii.gz")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "sr.nii.gz"
    out.write_bytes(b"previous scan")
    flag = tmp_path / "writing.txt"
    script = tmp_path / "slow_run.py"
    script.write_text(_SLOW_RUN)
    args = [str(a) for a in (*UPSCALE, src, "-o", out, "--overwrite")]
    proc = subprocess.Popen(
        [sys.executable, str(script), str(flag), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not flag.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert flag.exists(), proc.communicate()[1]
        temp = Path(flag.read_text())
        assert temp.exists() and temp.name != "sr.nii.gz"  # a half pair sits in the staging area
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip() == "terminated"
    assert _names(out_dir) == ["sr.nii.gz"]  # no temporary, no sidecar, no new scan
    assert out.read_bytes() == b"previous scan"
