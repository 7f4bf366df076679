"""``medsr upscale --figure`` (:mod:`medsr.infer.preview`): the input beside the result, in RAS
orientation at physical size, written with the scan in one atomic group."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from infer_helpers import run, thick, write
from PIL import Image

from medsr.infer import files
from medsr.infer.job import Job
from medsr.infer.preview import VIEWS, _matching_index, figure_path, plane
from medsr.volume import Volume


def _ras_volume(affine: np.ndarray) -> tuple[Volume, np.ndarray]:
    """A (6, 7, 5) volume whose every voxel holds its RAS world position, encoded as
    100 * x + 10 * y + z (mm), and the (3, 6, 7, 5) world coordinates."""
    idx = np.indices((6, 7, 5)).reshape(3, -1)
    world = (affine[:3, :3] @ idx + affine[:3, 3:]).reshape(3, 6, 7, 5)
    code = 100.0 * world[0] + 10.0 * world[1] + world[2]
    return Volume(code[None].astype(np.float32), affine), world


@pytest.mark.parametrize(
    "affine",
    [
        np.diag([1.0, 1.0, 1.0, 1.0]),  # RAS
        np.diag([-1.0, -1.0, 1.0, 1.0]),  # LPS (DICOM's patient axes)
        np.array([[0, 0, 1.0, 0], [1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1]]),  # permuted
    ],
)
def test_planes_run_along_ras_whatever_the_array_order(affine: np.ndarray) -> None:
    """Every view's columns increase along its horizontal RAS axis and its rows along its
    vertical one, and its fixed RAS axis is constant, for RAS, LPS and permuted arrays."""
    volume, _ = _ras_volume(affine)
    weight = {0: 100.0, 1: 10.0, 2: 1.0}
    for _name, fixed, horizontal, vertical in VIEWS:
        image, width, height, _ = plane(volume, fixed, horizontal, vertical)
        assert np.allclose(np.diff(image, axis=1), weight[horizontal])
        assert np.allclose(np.diff(image, axis=0), weight[vertical])
        extent = {0: 0, 1: 0, 2: 0}
        for a in range(3):
            extent[int(np.argmax(np.abs(affine[:3, a])))] = volume.shape[a]
        assert (width, height) == (extent[horizontal], extent[vertical])


def test_result_plane_is_the_one_nearest_the_inputs() -> None:
    """Plane k of n thick slices lies at (k + 0.5) / n of the field of view; the result's plane
    of the same world position is chosen (the grid keeps the field of view)."""
    assert _matching_index(12, 24, 96) == 50  # world 12.5 / 24 -> 49.5 of 96, rounded to even
    assert _matching_index(0, 24, 96) == 2
    assert _matching_index(3, 7, 7) == 3
    for k in range(24):
        j = _matching_index(k, 24, 88)
        assert abs((j + 0.5) / 88 - (k + 0.5) / 24) <= 0.5 / 88 + 1e-12


def test_figure_is_written_with_the_scan_and_named_in_the_sidecar(t1_crop, tmp_path) -> None:
    src = write(thick(t1_crop, 2, 4), tmp_path / "thick.nii.gz")
    out = tmp_path / "sr.nii.gz"
    args = ["upscale", src, "-o", out, "--factors", "1,1,4", "--method", "bspline", "--figure"]
    assert run(args) == 0
    png = figure_path(out)
    assert png == tmp_path / "sr.nii.gz.png"
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] >= 600 and im.size[1] >= 600
        pixels = np.asarray(im.convert("L"), dtype=np.float32)
    assert pixels.std() > 20  # anatomy drawn, not a blank page
    sidecar = json.loads((tmp_path / "sr.nii.gz.json").read_text())
    assert sidecar["figure"] == "sr.nii.gz.png"
    # an existing figure is a target like the scan: refused without --overwrite, before any work
    out.unlink()
    (tmp_path / "sr.nii.gz.json").unlink()
    assert run(args) == 2
    assert not out.exists() and not (tmp_path / "sr.nii.gz.json").exists()
    assert run([*args, "--overwrite"]) == 0 and out.exists()


def test_a_failing_figure_leaves_no_scan_and_no_sidecar(t1_crop, tmp_path, monkeypatch) -> None:
    """The figure is a member of the scan's atomic group: if drawing it fails, nothing appears."""

    def broken(*args, **kwargs):
        raise RuntimeError("matplotlib failed")

    monkeypatch.setattr(files, "preview_figure", broken)
    src = write(thick(t1_crop, 2, 4), tmp_path / "thick.nii.gz")
    out = tmp_path / "sr.nii.gz"
    with pytest.raises(RuntimeError, match="matplotlib failed"):
        files.upscale_file(src, out, Job(factors="1,1,4", method="bspline", figure=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thick.nii.gz"]


def test_without_the_flag_no_figure(t1_crop, tmp_path: Path) -> None:
    src = write(thick(t1_crop, 2, 4), tmp_path / "thick.nii.gz")
    out = tmp_path / "sr.nii.gz"
    assert run(["upscale", src, "-o", out, "--factors", "1,1,4", "--method", "bspline"]) == 0
    assert not figure_path(out).exists()
    assert "figure" not in json.loads((tmp_path / "sr.nii.gz.json").read_text())
