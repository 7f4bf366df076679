"""Grid arithmetic of medsr.volume: up-sampling keeps the field of view and tiles the old voxels."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.volume import (
    Volume,
    crop_affine,
    grid_for_spacing,
    index_coordinates,
    parse_triple,
    spacing_of,
    zoom_grid,
)


def oblique_affine(spacing=(0.9, 1.1, 3.0)) -> np.ndarray:
    """A rotated, anisotropic affine like a tilted clinical acquisition."""
    a, b = np.deg2rad(17.0), np.deg2rad(-8.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    affine = np.eye(4)
    affine[:3, :3] = rz @ rx @ np.diag(spacing)
    affine[:3, 3] = (-91.3, 12.7, 40.2)
    return affine


def world(affine: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return (affine[:3, :3] @ idx.T).T + affine[:3, 3]


@pytest.mark.parametrize("factors", [(1, 1, 4), (2, 2, 2), (1.0, 3.0, 1.5)])
def test_upsampling_tiles_old_voxels_and_keeps_fov(factors):
    shape, affine = (10, 12, 8), oblique_affine()
    new_shape, new_affine = zoom_grid(shape, affine, factors)
    assert new_shape == tuple(round(n * f) for n, f in zip(shape, factors))
    np.testing.assert_allclose(
        spacing_of(new_affine), spacing_of(affine) / np.array(factors), rtol=1e-12
    )
    # the centre of the grid does not move
    centre_old = world(affine, (np.array(shape) - 1) / 2.0)
    centre_new = world(new_affine, (np.array(new_shape) - 1) / 2.0)
    np.testing.assert_allclose(centre_new, centre_old, atol=1e-9)
    # each old voxel i is covered by new voxels whose centres average to the old centre
    for axis, s in enumerate(factors):
        if float(s).is_integer():
            s = int(s)
            for i in (0, shape[axis] - 1):
                # other axes at the grid centre, which both grids share
                idx = np.tile((np.array(new_shape) - 1) / 2.0, (s, 1))
                idx[:, axis] = np.arange(i * s, (i + 1) * s)
                mean_new = world(new_affine, idx).mean(axis=0)
                old = (np.array(shape) - 1) / 2.0
                old[axis] = i
                np.testing.assert_allclose(mean_new, world(affine, old[None])[0], atol=1e-9)
    # the outer faces of the grid (field of view) coincide when n * s is an integer
    lo_old = world(affine, np.full((1, 3), -0.5))[0]
    lo_new = world(new_affine, np.full((1, 3), -0.5))[0]
    np.testing.assert_allclose(lo_new, lo_old, atol=1e-9)


def test_index_coordinates_is_the_zoom_grid_mapping():
    n, s = 9, 2.5
    m = round(n * s)
    x = index_coordinates(n, m, s)
    _, new_affine = zoom_grid((n, 1, 1), np.eye(4), (s, 1, 1))
    np.testing.assert_allclose(new_affine[0, 0] * np.arange(m) + new_affine[0, 3], x, atol=1e-12)
    # integer case reduces to the classic (j + 0.5) / s - 0.5
    np.testing.assert_allclose(index_coordinates(5, 20, 4), (np.arange(20) + 0.5) / 4 - 0.5)


def test_non_integer_factor_keeps_centre_and_exact_spacing():
    shape, affine = (7, 7, 7), oblique_affine((1.0, 1.0, 2.4))
    new_shape, new_affine, factors = grid_for_spacing(shape, affine, (1.0, 1.0, 1.0))
    np.testing.assert_allclose(spacing_of(new_affine), (1.0, 1.0, 1.0), atol=1e-12)
    assert new_shape == (7, 7, 17)  # round(7 * 2.4) = 17
    assert factors[2] == pytest.approx(2.4)
    np.testing.assert_allclose(
        world(new_affine, (np.array(new_shape) - 1) / 2.0),
        world(affine, (np.array(shape) - 1) / 2.0),
        atol=1e-9,
    )


def test_down_then_up_returns_to_the_same_grid():
    shape, affine = (16, 16, 8), oblique_affine()
    lo_shape, lo_affine = zoom_grid(shape, affine, (0.5, 0.5, 0.25))
    back_shape, back_affine = zoom_grid(lo_shape, lo_affine, (2, 2, 4))
    assert back_shape == shape
    np.testing.assert_allclose(back_affine, affine, atol=1e-9)


def test_crop_affine_moves_origin_to_the_crop_start():
    affine = oblique_affine()
    cropped = crop_affine(affine, (3, 4, 5))
    np.testing.assert_allclose(
        world(cropped, np.zeros((1, 3))), world(affine, np.array([[3.0, 4.0, 5.0]]))
    )


def test_volume_validates_and_reports():
    vol = Volume(np.zeros((4, 5, 6), np.float32), oblique_affine())
    assert vol.shape == (4, 5, 6) and vol.channels == 1
    with pytest.raises(MedsrError):
        Volume(np.zeros((4, 5)), np.eye(4))
    with pytest.raises(MedsrError):
        Volume(np.zeros((1, 4, 5, 6)), np.zeros((4, 4)))
    bad = Volume(np.full((1, 2, 2, 2), np.nan, np.float32), np.eye(4))
    with pytest.raises(MedsrError, match="NaN"):
        bad.check_finite()


def test_check_finite_counts_every_bad_voxel_of_a_memory_mapped_volume(tmp_path):
    """The check runs slab by slab (no output-sized mask) and still counts every NaN/Inf,
    wherever it lies; integer volumes are never flagged."""
    data = np.lib.format.open_memmap(tmp_path / "v.npy", "w+", np.float32, (6, 5, 7))
    data[:] = 1.0
    data[0, 0, 0], data[5, 4, 6], data[2, 3, 1] = np.nan, np.inf, -np.inf
    with pytest.raises(MedsrError, match="holds 3 NaN/Inf voxels"):
        Volume(data, np.eye(4)).check_finite()
    data[0, 0, 0] = data[5, 4, 6] = data[2, 3, 1] = 0.0
    Volume(data, np.eye(4)).check_finite()
    Volume(np.zeros((3, 3, 3), np.int16), np.eye(4)).check_finite()


@pytest.mark.parametrize(
    "text,expected",
    [("2", (2.0, 2.0, 2.0)), ("1,1,4", (1.0, 1.0, 4.0)), ("1x1x4", (1.0, 1.0, 4.0))],
)
def test_parse_triple(text, expected):
    assert parse_triple(text) == expected


@pytest.mark.parametrize("text", ["0,1,1", "a,b", "1,2", "-1", "nan"])
def test_parse_triple_rejects(text):
    with pytest.raises(MedsrError):
        parse_triple(text, name="--factors")
