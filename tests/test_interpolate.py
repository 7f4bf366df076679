"""Interpolation baselines: one geometry (index_coordinates, zoom_grid); MATLAB, scipy parity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medsr.degrade.resize import imresize
from medsr.errors import MedsrError
from medsr.interpolate import METHODS, resample, zoom_array
from medsr.volume import Volume, VolumeMeta, index_coordinates, spacing_of


def tilted_affine() -> np.ndarray:
    a = np.deg2rad(21.0)
    affine = np.eye(4)
    affine[:3, :3] = np.array(
        [[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]
    ) @ np.diag((0.8, 1.2, 2.4))
    affine[:3, 3] = (-20.0, 31.5, 4.25)
    return affine


def world(affine: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return idx @ affine[:3, :3].T + affine[:3, 3]


@pytest.mark.parametrize("n,s", [(10, 2.0), (7, 3.0), (10, 2.5), (20, 0.5), (12, 1.25)])
def test_matlab_mapping_is_index_coordinates_when_m_is_n_s(n, s):
    m = round(n * s)
    assert m == n * s
    x = np.arange(1, m + 1)  # MATLAB's 1-based output index
    u_matlab = x / s + 0.5 * (1 - 1 / s) - 1  # back to 0-based
    np.testing.assert_allclose(index_coordinates(n, m, s), u_matlab, atol=1e-12)


@pytest.mark.parametrize("factors", [(2, 2, 1), (3, 2, 1), (2.5, 2.5, 1), (2, 3, 4)])
def test_cubic_upsampling_equals_matlab_imresize(factors):
    rng = np.random.default_rng(0)
    x = rng.random((2, 8, 6, 4 if factors[2] != 1 else 1))
    ours = zoom_array(x, factors, "cubic")
    axes = tuple(a + 1 for a in range(3) if factors[a] != 1)
    ref = imresize(x, tuple(factors[a - 1] for a in axes), axes=axes)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_linear_and_lanczos_match_imresize_both_ways():
    rng = np.random.default_rng(1)
    x = rng.random((1, 16, 12, 1))
    for method, kernel in (("linear", "linear"), ("lanczos", "lanczos3"), ("cubic", "cubic")):
        for f in ((2, 3), (0.5, 0.25)):
            ours = zoom_array(x, (f[0], f[1], 1), method)
            np.testing.assert_allclose(
                ours, imresize(x, f, axes=(1, 2), kernel=kernel), atol=1e-12, err_msg=method
            )


def test_bspline_equals_scipy_map_coordinates():
    rng = np.random.default_rng(2)
    x = rng.random((1, 24, 21, 1))
    f = (2.5, 1.7, 1)
    y = zoom_array(x, f, "bspline")
    coords = [index_coordinates(n, m, s) for n, m, s in zip(x.shape[1:3], y.shape[1:3], f)]
    grid = np.meshgrid(*coords, indexing="ij")
    ref = ndimage.map_coordinates(x[0, :, :, 0], grid, order=3, mode="reflect")
    np.testing.assert_allclose(y[0, :, :, 0], ref, atol=1e-12)


@pytest.mark.parametrize("n", [1, 3, 5, 9])
def test_bspline_is_exact_on_short_axes(n):
    """A short axis mirrored about its faces is a long periodic signal: both must agree."""
    x = np.random.default_rng(n).random(n)
    s = 2.5
    y = zoom_array(x[None, :, None, None], (s, 1, 1), "bspline")[0, :, 0, 0]
    long = np.tile(np.concatenate([x, x[::-1]]), 4)  # scipy is exact on this length
    u = index_coordinates(n, y.size, s)
    ref = ndimage.map_coordinates(long, [u + 2 * n * 2], order=3, mode="reflect")
    np.testing.assert_allclose(y, ref, atol=1e-12)


@pytest.mark.parametrize("method", ["linear", "cubic", "bspline", "lanczos"])
@pytest.mark.parametrize("s", [2.5, 1.7])
def test_linear_ramp_is_reproduced_away_from_borders(method, s):
    n, slope = 60, 0.7
    x = np.broadcast_to((np.arange(n) * slope + 3.0)[None, :, None, None], (1, n, 2, 1)).copy()
    y = zoom_array(x, (s, 1, 1), method)[0, :, 0, 0]
    u = index_coordinates(n, y.size, s)
    inner = (u > 15) & (
        u < n - 16
    )  # the B-spline prefilter feels the mirrored border for ~10 voxels
    err = np.abs(y[inner] - (u[inner] * slope + 3.0)).max()
    if method == "lanczos":
        # normalised Lanczos-3 keeps constants but not ramps: its first moment is not zero
        assert 1e-4 * slope < err < 0.03 * slope
    else:
        assert err < 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_constants_are_kept_by_every_method(method):
    x = np.full((1, 9, 7, 5), -12.5)
    np.testing.assert_allclose(zoom_array(x, (2.5, 1.7, 0.6), method), -12.5, rtol=1e-12)


@pytest.mark.parametrize("s", [2, 3])
def test_nearest_replicates_at_integer_factors(s):
    x = np.random.default_rng(3).random((1, 5, 4, 3))
    y = zoom_array(x, (s, s, 1), "nearest")
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, s, axis=1), s, axis=2).astype(y.dtype))


def make_volume(shape=(10, 8, 6), dtype=np.float32) -> Volume:
    data = np.random.default_rng(4).random((1,) + shape).astype(dtype)
    return Volume(data, tilted_affine(), VolumeMeta(modality="MR", dtype="float32"))


@pytest.mark.parametrize("factors", [(2, 2, 3), (2.5, 1.7, 1.0), (0.5, 1, 2)])
def test_resample_geometry_centre_and_tiling(factors):
    vol = make_volume()
    out = resample(vol, factors=factors, method="linear")
    assert out.shape == tuple(round(n * f) for n, f in zip(vol.shape, factors))
    np.testing.assert_allclose(
        spacing_of(out.affine), vol.spacing / np.asarray(factors), rtol=1e-12
    )
    np.testing.assert_allclose(out.centre_world, vol.centre_world, atol=1e-9)
    assert out.data.dtype == np.float32
    # integer factors: the s new voxel centres inside old voxel i average to its centre
    for axis, s in enumerate(factors):
        if float(s).is_integer() and s > 1:
            s = int(s)
            idx = np.tile(
                (np.array(out.shape) - 1) / 2.0, (s, 1)
            )  # other axes at the shared centre
            idx[:, axis] = np.arange(3 * s, 4 * s)
            old = (np.array(vol.shape) - 1) / 2.0
            old[axis] = 3
            np.testing.assert_allclose(
                world(out.affine, idx).mean(0), world(vol.affine, old), atol=1e-9
            )


def test_resample_to_spacing_and_back():
    vol = make_volume((12, 9, 8))
    fine = resample(vol, spacing=(0.4, 0.6, 0.8), method="cubic")
    np.testing.assert_allclose(fine.spacing, (0.4, 0.6, 0.8), rtol=1e-12)
    assert fine.shape == (24, 18, 24)
    back = resample(fine, spacing=vol.spacing, method="cubic")
    assert back.shape == vol.shape
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-9)


def test_2d_images_stay_2d():
    img = Volume(
        np.random.default_rng(5).random((3, 10, 12, 1)).astype(np.float32),
        np.eye(4),
        VolumeMeta(is_2d=True),
    )
    out = resample(img, factors=2, method="bspline")
    assert out.shape == (20, 24, 1) and out.channels == 3 and out.meta.is_2d
    assert resample(img, spacing=0.5).shape == (20, 24, 1)


def test_integer_input_gives_float32_and_is_not_modified():
    x = np.arange(60, dtype=np.int16).reshape(1, 5, 4, 3)
    before = x.copy()
    y = zoom_array(x, 2, "cubic")
    assert y.dtype == np.float32 and y.shape == (1, 10, 8, 6)
    np.testing.assert_array_equal(x, before)


def test_errors():
    vol = make_volume()
    with pytest.raises(MedsrError, match="unknown interpolation"):
        zoom_array(vol.data, 2, "sinc")
    with pytest.raises(MedsrError, match="exactly one"):
        resample(vol)
    with pytest.raises(MedsrError, match="exactly one"):
        resample(vol, factors=2, spacing=1)
    with pytest.raises(MedsrError, match="positive"):
        resample(vol, factors="2,0,1")


@pytest.mark.parametrize("method", ["nearest", "linear", "cubic", "bspline", "lanczos"])
def test_axis_of_one_sample_is_extended_as_a_constant(method):
    x = np.random.default_rng(3).random((1, 6, 5, 1)).astype(np.float32)
    y = zoom_array(x, (1, 1, 3), method)
    assert y.shape == (1, 6, 5, 3)
    for k in range(3):
        np.testing.assert_allclose(y[..., k], x[..., 0], atol=1e-6)
