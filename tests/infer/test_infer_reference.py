"""`medsr upscale --reference`: a multi-contrast network (Zeng et al. 2018, review ref. [78]) gets
the registered second contrast on its output grid, placed through both affines."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from infer_helpers import run, write

from medsr.io import read
from medsr.volume import TargetGrid, Volume, crop_affine


@pytest.fixture(scope="module")
def scans(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An LR block of the real PD scan (in-plane /2), the real T1, and a multi-contrast network."""
    from medsr.degrade import BicubicDown
    from medsr.interpolate import resample_onto
    from medsr.models import create_model
    from medsr.models.io import save_weights
    from medsr.runtime import torch_seed

    out = tmp_path_factory.mktemp("ref")
    pd = read(shared_data / "medical" / "chris_PD.nii.gz")
    block = Volume(pd.data[:, 64:128, 96:160, 25:28].copy(), crop_affine(pd.affine, (64, 96, 25)))
    lr = BicubicDown((2, 2, 1))(block)
    t1_path = shared_data / "medical" / "chris_t1.nii.gz"
    t1 = read(t1_path)
    target = TargetGrid.from_factors(lr, (2, 2, 1))
    on_grid = resample_onto(t1, target.shape, target.affine)
    moved = t1.affine.copy()
    moved[:3, 3] += (12.0, -9.0, 0.0)  # the same image 15 mm away in the world
    with torch_seed(0):
        net = create_model("multicontrast_sr", scale=2, dims=2, in_channels=1, preset="tiny")
    weights, _ = save_weights(
        net,
        out / "net",
        name="multicontrast_sr",
        preset="tiny",
        normalisation={"kind": "percentile"},
    )
    return {
        "lr": write(lr, out / "lr.nii.gz", dtype="float32"),
        "t1": t1_path,
        "t1_on_grid": write(on_grid, out / "t1_on_grid.nii.gz", dtype="float32"),
        "t1_moved": write(Volume(t1.data, moved), out / "t1_moved.nii.gz", dtype="float32"),
        "weights": weights,
    }


def _upscale(scans: dict[str, Path], reference: str, out: Path) -> np.ndarray:
    args = ["upscale", scans["lr"], "-o", out, "--factors", "2,2,1", "--weights", scans["weights"]]
    assert run([*args, "--reference", scans[reference]]) == 0
    return np.asarray(nib.load(str(out)).get_fdata(), dtype=np.float32)


def test_reference_is_placed_through_the_affines(scans: dict[str, Path], tmp_path: Path) -> None:
    """The full T1 (another grid) and the T1 already on the output grid give the same result; the
    same T1 moved in the world gives another: the reference is placed by world position."""
    a = _upscale(scans, "t1", tmp_path / "a.nii.gz")
    b = _upscale(scans, "t1_on_grid", tmp_path / "b.nii.gz")
    c = _upscale(scans, "t1_moved", tmp_path / "c.nii.gz")
    assert a.shape == (64, 64, 3)
    scale = float(np.abs(a).max())
    assert np.abs(a - b).max() < 1e-3 * scale
    assert np.abs(a - c).max() > 1e-2 * scale
    side = json.loads((tmp_path / "a.nii.gz.json").read_text())
    assert side["reference"]["shape"] == [188, 256, 190]  # the T1 as given, resampled by medsr


def test_reference_needs_weights(scans: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.nii.gz"
    code = run(
        [
            "upscale",
            scans["lr"],
            "-o",
            out,
            "--factors",
            "2,2,1",
            "--method",
            "cubic",
            "--reference",
            scans["t1"],
        ]
    )
    assert code == 2 and not out.exists()


def test_reference_refuses_ensemble_and_missing_file(scans: dict[str, Path], tmp_path) -> None:
    from medsr.errors import OptionError
    from medsr.infer.job import Job

    with pytest.raises(OptionError, match="ensemble"):
        Job(weights=scans["weights"], reference=scans["t1"], ensemble=True).validate()
    with pytest.raises(OptionError, match="does not exist"):
        Job(weights=scans["weights"], reference=tmp_path / "none.nii.gz").validate()
