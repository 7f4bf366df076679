"""The held-out self-SR benchmark's code (``medsr.bench.selfsr_heldout``), on a small crop of the
built-in brain (a development volume, never a held-out scan) with a few training iterations: the
record's numbers are the ones its parts compute, and re-applying the trained network with the
ensemble switched equals a second run with that option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsr.bench import selfsr_heldout
from medsr.bench.selfsr import run_method, score, simulate_thick_slices
from medsr.data import sample
from medsr.errors import MedsrError
from medsr.io import read, write
from medsr.volume import crop_affine

FAST = {"iterations": 20, "patch": 24, "batch": 4}


@pytest.fixture(scope="module")
def small_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, selfsr_heldout.HeldoutScan]:
    brain = sample("brain")
    data = np.asarray(brain.data)  # (C, X, Y, Z)
    start = [(n - k) // 2 for n, k in zip(data.shape[1:], (64, 64, 24), strict=True)]
    crop = data[
        :, start[0] : start[0] + 64, start[1] : start[1] + 64, start[2] : start[2] + 24
    ].copy()
    folder = tmp_path_factory.mktemp("heldout")
    write(brain.with_data(crop, crop_affine(brain.affine, start)), folder / "small.nii.gz")
    return folder, selfsr_heldout.HeldoutScan("small", "small.nii.gz", 0, "test crop")


def test_a_scan_record_holds_what_its_parts_compute(small_scan) -> None:
    folder, scan = small_scan
    one = {**FAST, "members": 1}  # the re-application needs the one network it captured
    with pytest.raises(MedsrError, match="members=1"):
        selfsr_heldout.run_scan(scan, folder, extra=FAST, reapply_ensemble=True)
    row = selfsr_heldout.run_scan(scan, folder, extra=one, reapply_ensemble=True)
    truth = read(folder / scan.path)
    case = simulate_thick_slices(truth, 0, 4.0, profile="gaussian")
    assert row["truth_shape"] == [64, 64, 24] and row["lr_shape"] == [16, 64, 24]
    assert row["mask_voxels"] == int(case.mask.sum()) > 0
    bspline = score(case, run_method(case, "bspline").volume)["psnr"]
    assert row["bspline_psnr"] == round(bspline, 3)
    assert row["gain_db"] == pytest.approx(row["self_psnr"] - row["bspline_psnr"], abs=2e-3)
    assert row["iterations"] == 20 and row["budget"] == "20it"
    assert row["cpu_seconds"] > 0 and row["seconds"] > 0
    # the default applies the flip ensemble; the re-application switched it off
    assert row["other_ensemble"] is False
    again = selfsr_heldout.run_scan(scan, folder, extra={**one, "ensemble": "false"})
    assert again["self_psnr"] == pytest.approx(row["self_psnr_other_ensemble"], abs=2e-3)
    assert again["self_psnr"] != row["self_psnr"]  # the ensemble changes the output


def test_the_record_averages_its_scans_and_names_the_tuning_scans(small_scan) -> None:
    folder, scan = small_scan
    record = selfsr_heldout.run_heldout(folder, scans=(scan,), extra=FAST)
    assert [r["scan"] for r in record["scans"]] == ["small"]
    assert record["mean_gain_db"] == pytest.approx(record["scans"][0]["gain_db"], abs=1e-3)
    assert "chris_t1.nii.gz" in record["tuned_on"] and record["options"] == FAST
    assert {s.name for s in selfsr_heldout.HELDOUT_SCANS} == {"chris_PD", "CT_pitch", "mr_t1_dicom"}
