"""The benchmark figures (``medsr.bench.figures``) on a real scan: the comparison figure draws the
orientations that show a restoration, one row each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from medsr.bench.figures import VIEWS, comparison_figure, restoring_views
from medsr.bench.selfsr import run_method, simulate_thick_slices
from medsr.io import read
from medsr.volume import crop_affine


def test_restoring_views_skip_thin_planes_and_the_plane_across_the_thick_axis(
    shared_data: Path, tmp_path: Path
) -> None:
    t1 = read(shared_data / "medical" / "chris_t1.nii.gz")
    whole = simulate_thick_slices(t1, 0, 4.0, profile="gaussian")  # thick along x
    # the sagittal planes (x fixed) hold no thick axis; axial and coronal do
    assert restoring_views(whole) == [("axial", 2), ("coronal", 1)]
    window = np.ascontiguousarray(np.asarray(t1.data)[..., 80:104])  # 24 slices
    thin = t1.with_data(window, crop_affine(t1.affine, [0, 0, 80]))
    case = simulate_thick_slices(thin, 0, 4.0, profile="gaussian")
    assert restoring_views(case) == [("axial", 2)]  # coronal planes are 24 voxels tall
    assert restoring_views(case, min_side=500) == list(VIEWS)  # none qualifies: all of them
    volumes = {k: run_method(case, k).volume for k in ("nearest", "bspline", "linear")}
    volumes["self"] = volumes.pop("linear")  # any estimate stands in for self-SR here
    out = tmp_path / "one_row.png"
    comparison_figure(case, volumes, out, views=restoring_views(case))
    with Image.open(out) as im:  # one row of six panels: wide, and drawn
        assert im.size[0] > 2.5 * im.size[1]
        assert np.asarray(im.convert("L")).std() > 20
