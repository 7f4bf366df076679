"""Cohorts (`medsr upscale` on many scans): executors, resume, claims, failures, manifest, report.

The scans are real: crops of ../shared/data's chris_t1 made into thick slices by the test. Every
executor's output must equal the single-process result (``upscale_file``) voxel for voxel.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from infer_helpers import crop, run, thick, write

from medsr.infer.cohort import (
    CohortItem,
    CohortProgress,
    ScanRecord,
    cohort_items,
    run_chunk,
    scan_state,
)
from medsr.infer.executors import ExecutorSettings, run_cohort
from medsr.infer.files import Job, upscale_file
from medsr.volume import Volume

ARGS = ["--factors", "1,1,4", "--method", "linear"]


def _make_cohort(t1_crop: Volume, folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(count):
        scan = thick(crop(t1_crop, (i % 9, (2 * i) % 9, 0), (24, 24, 32)), 2, 4)
        paths.append(write(scan, folder / f"scan{i:02d}.nii.gz"))
    return paths


@pytest.fixture
def cohort(t1_crop: Volume, tmp_path: Path) -> tuple[Path, list[Path], Path]:
    """Four real thick-slice scans in ``in/``, their single-process outputs in ``ref/``."""
    paths = _make_cohort(t1_crop, tmp_path / "in", 4)
    ref = tmp_path / "ref"
    ref.mkdir()
    for path in paths:
        upscale_file(path, ref / path.name, Job(factors="1,1,4", method="linear"))
    return tmp_path / "in", paths, ref


def _report(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "cohort.csv", newline="") as handle:
        return {Path(row["scan"]).name: row for row in csv.DictReader(handle)}


def _assert_same_as_reference(out: Path, ref: Path, names: list[str]) -> None:
    for name in names:
        got, want = nib.load(str(out / name)), nib.load(str(ref / name))
        assert got.get_data_dtype() == want.get_data_dtype(), name
        np.testing.assert_array_equal(np.asanyarray(got.dataobj), np.asanyarray(want.dataobj))
        np.testing.assert_array_equal(got.affine, want.affine)
        side = json.loads((out / f"{name}.json").read_text())
        assert side["geometry"] == json.loads((ref / f"{name}.json").read_text())["geometry"]


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("executor", ["local", pytest.param("dask", marks=pytest.mark.slow)])
def test_executors_match_single_process_and_isolate_a_failure(cohort, tmp_path, executor) -> None:
    src, paths, ref = cohort
    (src / "broken.nii.gz").write_bytes(b"not a nifti file")
    out = tmp_path / "out"
    out.mkdir()
    args = ["upscale", src, "-o", out, *ARGS, "--executor", executor, "--workers", "2"]
    assert run(args) == 1  # the broken scan failed, the four others were done
    _assert_same_as_reference(out, ref, [p.name for p in paths])
    rows = _report(out)
    assert rows["broken.nii.gz"]["status"] == "failed"
    assert (
        "NIfTI" in rows["broken.nii.gz"]["message"] and "\n" not in rows["broken.nii.gz"]["message"]
    )
    done = [rows[p.name] for p in paths]
    assert all(r["status"] == "done" for r in done)
    assert all(float(r["seconds"]) > 0 and float(r["peak_memory_mib"]) > 0 for r in done)
    assert all(r["output_grid"] == "24x24x32 @ 0.88,0.88,0.88 mm" for r in done)
    assert all(float(r["consistency_db"]) > 20 for r in done)
    workers = {r["worker"] for r in done}
    assert all(w.split(":")[1].isdigit() and int(w.split(":")[1]) != os.getpid() for w in workers)
    assert _hidden(out) == []  # no claim, no temporary left
    # a second run does nothing again: every scan is complete
    (src / "broken.nii.gz").unlink()
    stamps = {p.name: (out / p.name).stat().st_mtime_ns for p in paths}
    assert run(args) == 0
    assert all(r["status"] == "skipped" for r in _report(out).values())
    assert stamps == {p.name: (out / p.name).stat().st_mtime_ns for p in paths}


def test_slurm_array_through_submitit_same_code_path(cohort, tmp_path, capsys) -> None:
    """submitit's debug cluster runs the array tasks in this process: chunks of 3 and 1 scans."""
    pytest.importorskip("submitit")
    src, paths, ref = cohort
    out = tmp_path / "out"
    out.mkdir()
    args = ["upscale", src, "-o", out, *ARGS, "--executor", "slurm", "--chunk-size", "3"]
    assert run([*args, "--slurm-option", "cluster=debug", "--slurm-option", "timeout_min=5"]) == 0
    _assert_same_as_reference(out, ref, [p.name for p in paths])
    assert {r["status"] for r in _report(out).values()} == {"done"}
    assert "4 done, 0 failed" in capsys.readouterr().out
    bad = [*args, "--overwrite", "--slurm-option", "cluster=debug", "--slurm-option", "no_such=1"]
    assert run(bad) == 2  # submitit's parameter check, one line


def test_killed_run_resumes_without_redoing_completed_scans(t1_crop, tmp_path) -> None:
    paths = _make_cohort(t1_crop, tmp_path / "in", 10)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "medsr", "upscale", str(tmp_path / "in"), "-o", str(out), *ARGS]
    proc = subprocess.Popen(
        [*cmd, "--workers", "1"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(scan_state(out / p.name) == "complete" for p in paths):
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run dies at once, as on a lost node
    proc.wait()
    complete = {
        p.name: (out / p.name).stat() for p in paths if scan_state(out / p.name) == "complete"
    }
    assert 1 <= len(complete) < len(paths), "the run should have been killed part-way"
    assert run(["upscale", tmp_path / "in", "-o", out, *ARGS, "--workers", "1"]) == 0
    rows = _report(out)
    for path in paths:
        assert scan_state(out / path.name) == "complete"
        if path.name in complete:  # not redone: same file, same time stamp
            assert rows[path.name]["status"] == "skipped"
            now = (out / path.name).stat()
            assert (now.st_ino, now.st_mtime_ns) == (
                complete[path.name].st_ino,
                complete[path.name].st_mtime_ns,
            )
        else:
            assert rows[path.name]["status"] == "done"
    assert _hidden(out) == []  # the dead run's claim and temporaries were taken over, removed


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_partial_output_redone_stale_claim_taken_live_claim_respected(cohort, tmp_path) -> None:
    src, paths, ref = cohort
    out = tmp_path / "out"
    out.mkdir()
    job = Job(factors="1,1,4", method="linear").validate()
    items = cohort_items([src], out, job)
    # scan00: output without sidecar (partial) and the claim of a process that died
    (out / "scan00.nii.gz").write_bytes(b"half a scan")
    dead = {"host": os.uname().nodename, "pid": _dead_pid(), "token": "x", "started": 0}
    (out / ".scan00.nii.gz.claim").write_text(json.dumps(dead))
    # scan01: claimed right now by a live process (this one) of another run
    live = {"host": os.uname().nodename, "pid": os.getpid(), "token": "y", "started": time.time()}
    (out / ".scan01.nii.gz.claim").write_text(json.dumps(live))
    result = run_cohort(items, out / "cohort.csv", ExecutorSettings(workers=1))
    status = {Path(r.scan).name: r for r in result.records}
    assert status["scan00.nii.gz"].status == "done"
    assert status["scan00.nii.gz"].message == "redone (partial output)"
    assert status["scan01.nii.gz"].status == "busy" and not (out / "scan01.nii.gz").exists()
    assert result.failed == 0 and "1 busy" in result.summary()
    _assert_same_as_reference(out, ref, ["scan00.nii.gz", "scan02.nii.gz", "scan03.nii.gz"])
    # the other run stops without finishing scan01: its claim grows old and is taken over
    old = time.time() - 3600
    os.utime(out / ".scan01.nii.gz.claim", (old, old))
    again = run_cohort(items, out / "cohort.csv", ExecutorSettings(workers=1))
    assert [r.status for r in again.records] == ["skipped", "done", "skipped", "skipped"]
    _assert_same_as_reference(out, ref, [p.name for p in paths])
    assert _hidden(out) == []


def test_manifest_with_per_scan_spacing_and_outputs(cohort, tmp_path) -> None:
    _src, paths, ref = cohort
    out = tmp_path / "out"
    out.mkdir()
    manifest = tmp_path / "study.csv"
    manifest.write_text(
        "input,output,spacing,method\n"
        f"in/{paths[0].name},sub/a_sr.nii.gz,,\n"  # the command's options
        f"{paths[1]},,0.88,bspline\n"  # absolute input, default output name, own options
        "\n"
    )
    assert run(["upscale", manifest, "-o", out, *ARGS, "--workers", "1"]) == 0
    got = nib.load(str(out / "sub" / "a_sr.nii.gz"))  # the row's folder was made
    np.testing.assert_array_equal(
        np.asanyarray(got.dataobj), np.asanyarray(nib.load(str(ref / paths[0].name)).dataobj)
    )
    side = json.loads((out / paths[1].name).with_name(paths[1].name + ".json").read_text())
    assert side["method"] == "bspline"
    assert side["geometry"]["output"]["spacing"] == pytest.approx([0.88] * 3, abs=0.01)
    assert len(_report(out)) == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("input,colour\na.nii.gz,red\n", "unknown column(s) colour"),
        ("path\na.nii.gz\n", "has no 'input' column"),
        ("input\nmissing.nii.gz\n", "line 2: input"),
        ("input,spacing\nin/scan00.nii.gz,-1\n", "line 2: spacing"),
    ],
)
def test_bad_manifest_is_one_line_before_any_work(cohort, tmp_path, capsys, text, message) -> None:
    out = tmp_path / "out"
    out.mkdir()
    manifest = tmp_path / "bad.csv"
    manifest.write_text(text)
    assert run(["upscale", manifest, "-o", out, *ARGS]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--executor", "spark"], "--executor must be local, dask or slurm"),
        (["--scheduler", "tcp://h:8786"], "add --executor dask"),
        (["--workers", "0"], "--workers must be a whole number >= 1"),
        (["--slurm-option", "partition=x"], "--slurm-option applies to --executor slurm"),
    ],
)
def test_executor_options_checked(cohort, tmp_path, capsys, extra, message) -> None:
    src, _, _ = cohort
    assert run(["upscale", src, "-o", tmp_path / "ref", *ARGS, *extra]) == 2
    assert message in capsys.readouterr().err


def test_one_scan_with_a_cluster_executor_is_refused(cohort, tmp_path, capsys) -> None:
    _, paths, _ = cohort
    args = ["upscale", paths[0], "-o", tmp_path / "x.nii.gz", *ARGS, "--executor", "dask"]
    assert run(args) == 2
    assert "runs a cohort" in capsys.readouterr().err
    assert not (tmp_path / "x.nii.gz").exists()


def test_run_chunk_loads_the_network_once_and_keeps_going(cohort, tmp_path) -> None:
    """The chunk task of every executor: a bad scan in the middle does not stop the chunk."""
    src, paths, ref = cohort
    out = tmp_path / "out"
    out.mkdir()
    job = Job(factors="1,1,4", method="linear").validate()
    items = [CohortItem(paths[0], out / paths[0].name, job)]
    items.append(CohortItem(src / "absent.nii.gz", out / "absent.nii.gz", job))
    items.append(CohortItem(paths[1], out / paths[1].name, job))
    records = run_chunk(items)
    assert [r.status for r in records] == ["done", "failed", "done"]
    assert "does not exist" in records[1].message
    _assert_same_as_reference(out, ref, [paths[0].name, paths[1].name])


def test_progress_counts_scans_across_workers_with_an_eta() -> None:
    class Sink:
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def stage(self, description, total) -> None:
            self.calls.append(("stage", description, total))

        def advance(self, amount=1) -> None:
            self.calls.append(("advance", amount))

        def note(self, message) -> None:
            self.calls.append(("note", message))

    now = [100.0]
    sink = Sink()
    tracker = CohortProgress(5, sink, clock=lambda: now[0])
    assert sink.calls == [("stage", "cohort", 5.0)]
    tracker.update(ScanRecord("a", "a", "skipped"))
    assert tracker.position() == "[1/5]"  # skipped scans say nothing about speed
    now[0] = 130.0  # workers started, first scan done after 30 s
    tracker.update(ScanRecord("b", "b", "done"))
    assert tracker.position() == "[2/5, ETA 1 min 30 s]"
    now[0] = 140.0  # then one scan every 10 s across the workers
    tracker.update(ScanRecord("c", "c", "failed"))
    assert tracker.position() == "[3/5, ETA 20 s]"
    assert sink.calls[-1] == ("note", "cohort [3/5, ETA 20 s], 1 failed")
    assert sum(c[1] for c in sink.calls if c[0] == "advance") == 3


def test_report_rows_keep_milliseconds_and_round_the_rest() -> None:
    from medsr.infer.cohort import ScanRecord

    row = ScanRecord("a.nii.gz", "b.nii.gz", "done", seconds=0.0042, peak_memory_mib=253.938).row()
    assert row["seconds"] == "0.0042" and float(row["seconds"]) > 0  # not 0.00
    assert row["peak_memory_mib"] == "253.94" and row["consistency_db"] == ""
    assert ScanRecord("a", "b", "done", seconds=12.5).row()["seconds"] == "12.50"
    assert ScanRecord("a", "b", "failed", seconds=0.0).row()["seconds"] == "0.00"
