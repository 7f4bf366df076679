"""medsr.bench.cohort: the cohort of the throughput benchmark and its table (one worker, fast)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import pytest

from medsr.bench.cohort import ThroughputRow, make_cohort, markdown_table, measure_throughput
from medsr.infer.files import Job


def test_throughput_of_a_real_cohort_and_its_table(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "medical" / "chris_t1.nii.gz"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    paths = make_cohort(source, tmp_path / "in", 3, size=24)
    assert [nib.load(str(p)).shape for p in paths] == [(24, 24, 6)] * 3  # thick slices along z
    job = Job(factors="1,1,4", method="bspline").validate()
    rows = measure_throughput(tmp_path / "in", tmp_path / "runs", job, workers=(1,))
    assert len(rows) == 1 and rows[0].scans == 3 and rows[0].failed == 0
    assert rows[0].scans_per_hour > 0
    assert len(list((tmp_path / "runs" / "workers1").glob("*.nii.gz"))) == 3
    table = markdown_table([ThroughputRow(1, 2, 4, 0, 100.0), ThroughputRow(2, 1, 4, 1, 40.0)])
    assert "| 1 | 2 | 100.0 s | 144 | 1.00x |" in table
    assert "| 2 | 1 | 40.0 s (1 failed) | 270 | 1.88x |" in table
