"""Property tests: every grid medsr makes keeps the field of view (``medsr.volume``, one grid rule).

Review section 2.1 defines SR as the inverse of ``g = A f``: the HR grid must cover the same
anatomy as the acquired one. :func:`medsr.volume.zoom_grid` is the one grid rule: scaling axis
``i`` by ``s`` divides the spacing by ``s`` exactly and keeps the world position of the grid's
centre; when ``n s`` is an integer the new voxels tile the old ones (same outer edges), otherwise
the extent changes by less than one new voxel. Hypothesis checks it for any affine (rotated,
reflected, sheared), any shape and any per-axis factor from 1/8 to 64, through
:func:`zoom_grid`, :class:`TargetGrid` (factors typed as ``2``, ``"1,1,4"``, ``"1x1x4"``; target
spacings), :func:`index_coordinates` (the mapping every resampler uses) and the data itself: a
linear interpolation of a world-linear ramp lands on the ramp at the new voxel centres.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from medsr.interpolate import resample
from medsr.volume import (
    MAX_FACTOR,
    TargetGrid,
    Volume,
    index_coordinates,
    spacing_of,
    zoom_grid,
)


@st.composite
def any_affines(draw: st.DrawFn) -> np.ndarray:
    """A non-singular 4x4 affine: any 3x3 linear part (shear and reflection allowed)."""
    linear = np.array(
        draw(st.lists(st.floats(-20.0, 20.0), min_size=9, max_size=9)), dtype=np.float64
    ).reshape(3, 3)
    # keep it well conditioned enough to compare in world millimetres
    singular = np.linalg.svd(linear, compute_uv=False)
    assume(singular[-1] > 0.05 and singular[0] / singular[-1] < 1e3)
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = draw(st.lists(st.floats(-500.0, 500.0), min_size=3, max_size=3))
    return affine


shapes = st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300))


@st.composite
def factors_for(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[float, ...]:
    """Per-axis factors: whole numbers, fractions that tile (n s whole) and any real."""
    out = []
    for n in shape:
        kind = draw(st.sampled_from(["whole", "tiling", "real", "one"]))
        if kind == "whole":
            out.append(float(draw(st.integers(1, 8))))
        elif kind == "tiling":  # m / n with m new voxels: n s is a whole number
            m = draw(st.integers(max(1, -(-n // 8)), min(int(n * 8), 4000)))
            out.append(float(Fraction(m, n)))
        elif kind == "real":
            out.append(draw(st.floats(0.125, MAX_FACTOR)))
        else:
            out.append(1.0)
    return tuple(out)


def _world(affine: np.ndarray, index: np.ndarray) -> np.ndarray:
    return (affine @ np.append(np.asarray(index, dtype=np.float64), 1.0))[:3]


def _check_grid(shape, affine, factors, new_shape, new_affine) -> None:
    n = np.asarray(shape, dtype=np.float64)
    m = np.asarray(new_shape, dtype=np.float64)
    s = np.asarray(factors, dtype=np.float64)
    tol = 1e-9 * max(1.0, float(np.abs(affine).max())) * max(1.0, float(n.max()))
    # spacing / s exactly, directions kept
    np.testing.assert_allclose(new_affine[:3, :3], affine[:3, :3] / s, rtol=1e-12, atol=0)
    np.testing.assert_allclose(spacing_of(new_affine), spacing_of(affine) / s, rtol=1e-12)
    # the world centre of the grid is kept
    np.testing.assert_allclose(
        _world(new_affine, (m - 1) / 2), _world(affine, (n - 1) / 2), rtol=0, atol=tol
    )
    np.testing.assert_array_equal(m, np.maximum(1, np.round(n * s)))
    for axis in range(3):
        edge_old, edge_new = (n - 1) / 2, (m - 1) / 2  # other axes at the (shared) centre
        edge_old[axis], edge_new[axis] = -0.5, -0.5
        if abs(n[axis] * s[axis] - round(n[axis] * s[axis])) < 1e-9 * n[axis] * s[axis]:
            # the new voxels tile the old ones: same first and last edge
            assert m[axis] == round(n[axis] * s[axis])
            np.testing.assert_allclose(
                _world(new_affine, edge_new), _world(affine, edge_old), rtol=0, atol=tol
            )
            edge_old[axis], edge_new[axis] = n[axis] - 0.5, m[axis] - 0.5
            np.testing.assert_allclose(
                _world(new_affine, edge_new), _world(affine, edge_old), rtol=0, atol=tol
            )
        else:  # the extent differs by less than one new voxel (centred)
            assert abs(m[axis] / s[axis] - n[axis]) <= 1.0 / s[axis] + 1e-9
        # the resamplers' mapping is the affine's: new voxel j sits at old index x_j
        j = np.array([0.0, m[axis] - 1])
        x = index_coordinates(int(n[axis]), int(m[axis]), float(s[axis]))[j.astype(int)]
        for jj, xx in zip(j, x):
            a, b = (m - 1) / 2, (n - 1) / 2
            a[axis], b[axis] = jj, xx
            np.testing.assert_allclose(_world(new_affine, a), _world(affine, b), rtol=0, atol=tol)


@given(shape=shapes, affine=any_affines(), data=st.data())
def test_zoom_grid_keeps_the_field_of_view(shape, affine, data) -> None:
    factors = data.draw(factors_for(shape), label="factors")
    new_shape, new_affine = zoom_grid(shape, affine, factors)
    _check_grid(shape, affine, factors, new_shape, new_affine)


@given(
    shape=shapes,
    affine=any_affines(),
    spelling=st.sampled_from(["{},{},{}", "{}x{}x{}", "{} , {} , {}", "one"]),
    data=st.data(),
)
def test_target_grid_from_typed_factors_is_zoom_grid(shape, affine, spelling, data) -> None:
    factors = data.draw(factors_for(shape), label="factors")
    factors = tuple(min(f, MAX_FACTOR) for f in factors)
    volume = Volume(np.zeros((1, 1, 1, 1), np.float32), affine)
    volume = _shaped(volume, shape)
    if spelling == "one":
        factors = (factors[0],) * 3
        text = repr(factors[0])
    else:
        text = spelling.format(*(repr(f) for f in factors))
    target = TargetGrid.from_factors(volume, text)
    assert target.factors == factors
    _check_grid(shape, affine, factors, target.shape, target.affine)


@given(
    shape=shapes,
    affine=any_affines(),
    spacing=st.lists(st.floats(0.05, 10.0), min_size=3, max_size=3),
)
def test_target_grid_from_spacing_has_that_spacing_and_the_same_centre(
    shape, affine, spacing
) -> None:
    volume = _shaped(Volume(np.zeros((1, 1, 1, 1), np.float32), affine), shape)
    factors = spacing_of(affine) / np.asarray(spacing)
    assume(np.all(factors <= MAX_FACTOR) and np.all(np.round(np.asarray(shape) * factors) < 1e5))
    target = TargetGrid.from_spacing(volume, ",".join(repr(v) for v in spacing))
    np.testing.assert_allclose(target.spacing, spacing, rtol=1e-12)
    _check_grid(shape, affine, target.factors, target.shape, target.affine)


@given(
    shape=st.tuples(st.integers(2, 7), st.integers(2, 7), st.integers(2, 7)),
    affine=any_affines(),
    factors=st.tuples(*[st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 7 / 3])] * 3),
    gradient=st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),
)
def test_linear_resampling_puts_each_value_at_its_world_position(
    shape, affine, factors, gradient
) -> None:
    """A world-linear ramp, up-sampled linearly, is the ramp at every new voxel centre that
    lies inside the old grid (no half-voxel shift, no flipped axis, no stretched field of view).
    (Down-sampling is antialiased, which bends a ramp near the edges: not checked here.)"""
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    world = idx @ affine[:3, :3].T + affine[:3, 3]
    ramp = (world @ np.asarray(gradient)).astype(np.float64)
    volume = Volume(ramp[None], affine)
    out = resample(volume, factors=",".join(map(repr, factors)), method="linear")
    new_shape, new_affine = zoom_grid(shape, affine, factors)
    assert out.shape == new_shape
    np.testing.assert_allclose(out.affine, new_affine, rtol=0, atol=1e-12)
    new_idx = np.stack(np.meshgrid(*[np.arange(n) for n in new_shape], indexing="ij"), axis=-1)
    expected = (new_idx @ new_affine[:3, :3].T + new_affine[:3, 3]) @ np.asarray(gradient)
    old_coord = np.stack(
        [
            index_coordinates(n, m, s)[new_idx[..., a]]
            for a, (n, m, s) in enumerate(zip(shape, new_shape, factors))
        ],
        axis=-1,
    )
    inside = np.all((old_coord >= 0) & (old_coord <= np.asarray(shape) - 1), axis=-1)
    assume(inside.any())
    scale = max(1.0, float(np.abs(ramp).max()))
    np.testing.assert_allclose(out.data[0][inside], expected[inside], rtol=0, atol=1e-4 * scale)


def _shaped(volume: Volume, shape: tuple[int, int, int]) -> Volume:
    """A volume of ``shape`` without allocating it (TargetGrid reads only shape and affine)."""
    data = np.broadcast_to(np.zeros((1, 1, 1, 1), np.float32), (1, *shape))
    return Volume(data, volume.affine)
