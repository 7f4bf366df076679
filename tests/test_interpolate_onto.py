"""``resample_onto``: a volume sampled on another grid through both affines (exact voxel map)."""

from __future__ import annotations

import numpy as np

from medsr.interpolate import resample_onto
from medsr.volume import Volume, crop_affine


def test_shifted_and_flipped_grid_gives_the_same_samples(phantom: Volume) -> None:
    """A sub-grid (shifted by whole voxels) and its axis-flipped twin of an oblique volume get the
    voxels they cover, to B-spline interpolation accuracy at the grid points."""
    start = (3, 2, 1)
    sub = crop_affine(phantom.affine, start)
    shape = (12, 10, 6)
    out = resample_onto(phantom, shape, sub).data
    expect = phantom.data[:, 3:15, 2:12, 1:7]
    assert np.abs(out - expect).max() < 1e-2 * float(np.abs(expect).max())
    flip = sub @ np.diag([-1.0, 1.0, 1.0, 1.0])  # x runs backwards from voxel 0
    flip[:3, 3] = (sub @ np.array([shape[0] - 1, 0, 0, 1.0]))[:3]
    flipped = resample_onto(phantom, shape, flip).data
    assert np.abs(flipped - expect[:, ::-1]).max() < 1e-2 * float(np.abs(expect).max())


def test_half_voxel_shift_interpolates_and_outside_is_fill(phantom: Volume) -> None:
    """Half a voxel along x lands between neighbours; a grid outside the field of view is fill."""
    shifted = phantom.affine @ np.array(
        [[1, 0, 0, 0.5], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]
    )
    out = resample_onto(phantom, (8, 8, 4), crop_affine(shifted, (5, 4, 2)), order=1).data
    mean = 0.5 * (phantom.data[:, 5:13, 4:12, 2:6] + phantom.data[:, 6:14, 4:12, 2:6])
    assert np.allclose(out, mean, atol=1e-3)
    away = crop_affine(phantom.affine, (500, 0, 0))
    assert not np.any(resample_onto(phantom, (4, 4, 4), away, fill=0.0).data)
