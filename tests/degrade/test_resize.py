"""MATLAB-compatible imresize: hand-derived Keys weights, borders, sizes, order, adjoint."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade.resize import (
    imresize,
    imresize_adjoint,
    imresize_matrix,
    imresize_weights,
    resize_plan,
)
from medsr.errors import MedsrError

# Keys (a = -0.5) at distances 1.75, 1.25, 0.75, 0.25, by hand:
# k(t) = 1.5|t|^3 - 2.5|t|^2 + 1 (|t| <= 1), -0.5|t|^3 + 2.5|t|^2 - 4|t| + 2 (1 < |t| <= 2)
K175, K125, K075, K025 = -3 / 128, -9 / 128, 29 / 128, 111 / 128


def rng_image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def test_upscale_impulse_response_is_keys_kernel() -> None:
    x = np.zeros(10)
    x[4] = 1.0
    y = imresize(x[:, None], (2.0, 1.0))[:, 0]
    expected = np.zeros(20)
    # output j sits at input coordinate (j + 0.5) / 2 - 0.5; distances to sample 4 for j = 5..12
    expected[5:13] = [K175, K125, K075, K025, K025, K075, K125, K175]
    np.testing.assert_allclose(y, expected, atol=1e-15)


def test_downscale_impulse_response_is_stretched_kernel() -> None:
    # antialiased x1/2: h(t) = k(t / 2) / 2; output j at input coordinate 2 j + 0.5
    x = np.zeros(20)
    x[8] = 1.0
    y = imresize(x[:, None], (0.5, 1.0))[:, 0]
    expected = np.zeros(10)
    expected[2:6] = [K175 / 2, K075 / 2, K025 / 2, K125 / 2]  # distances 3.5, 1.5, 0.5, 2.5
    np.testing.assert_allclose(y, expected, atol=1e-15)


def test_symmetric_border_first_output() -> None:
    # first x2 output at -0.25: samples -2, -1, 0, 1 -> mirrored to 1, 0, 0, 1 (MATLAB symmetric)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = imresize(x[:, None], (2.0, 1.0))[:, 0]
    assert y[0] == pytest.approx(K175 * 2 + K075 * 1 + K025 * 1 + K125 * 2)
    w, idx = imresize_weights(4, 8, 2.0)
    assert idx.min() >= 0 and idx.max() <= 3
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-14)


def test_cubic_reproduces_linear_ramp_inside() -> None:
    x = np.add.outer(np.arange(12.0) * 3.0, np.arange(10.0))
    y = imresize(x, 2.0)

    def coord(n: int, m: int) -> np.ndarray:
        return (np.arange(m) + 0.5) / 2 - 0.5

    expected = np.add.outer(coord(12, 24) * 3.0, coord(10, 20))
    inner = (slice(4, -4), slice(4, -4))
    np.testing.assert_allclose(y[inner], expected[inner], atol=1e-12)


@pytest.mark.parametrize("kernel", ["cubic", "linear", "box", "lanczos2", "lanczos3", "nearest"])
@pytest.mark.parametrize("factor", [0.5, 1 / 3, 0.37, 1.7, 2.0, 3.0])
def test_constant_stays_constant(kernel: str, factor: float) -> None:
    x = np.full((23, 17), 7.25)
    y = imresize(x, factor, kernel=kernel)
    assert y.shape == (int(np.ceil(23 * factor)), int(np.ceil(17 * factor)))
    np.testing.assert_allclose(y, 7.25, rtol=1e-12)


def test_output_size_and_output_shape() -> None:
    x = rng_image((7, 5))
    assert imresize(x, 0.5).shape == (4, 3)
    assert imresize(x, 1.5).shape == (11, 8)
    assert imresize(x, output_shape=(9, 4)).shape == (9, 4)
    assert imresize(rng_image((8, 6, 3)), 0.5).shape == (4, 3, 3)  # H x W x C default axes


def test_box_and_nearest_like_matlab() -> None:
    x = np.arange(1.0, 9.0)[:, None]
    # box with antialiasing at 1/2 = mean of pairs; nearest at 1/2 keeps samples 2, 4, ... (1-based)
    np.testing.assert_allclose(imresize(x, (0.5, 1), kernel="box")[:, 0], [1.5, 3.5, 5.5, 7.5])
    np.testing.assert_allclose(imresize(x, (0.5, 1), kernel="nearest")[:, 0], [2, 4, 6, 8])
    np.testing.assert_allclose(imresize(x[:3], (2, 1), kernel="nearest")[:, 0], [1, 1, 2, 2, 3, 3])
    # bilinear x2 inside: 0.75 / 0.25 mixing of neighbours
    y = imresize(x, (2, 1), kernel="linear")[:, 0]
    np.testing.assert_allclose(y[1:-1], 1 + ((np.arange(1, 15) + 0.5) / 2 - 0.5))


def test_uint8_rounds_after_each_pass_in_matlab_order() -> None:
    img = (rng_image((15, 12), seed=3) * 255).astype(np.uint8)

    def manual(x: np.ndarray, order: list[tuple[int, float]]) -> np.ndarray:
        out = x.astype(np.float64)
        for axis, s in order:
            n = out.shape[axis]
            w, idx = imresize_weights(n, int(np.ceil(n * s)), s)
            moved = np.moveaxis(out, axis, 0)
            res = np.einsum("jp,jp...->j...", w, moved[idx])
            out = np.moveaxis(np.clip(np.floor(res + 0.5), 0, 255), 0, axis)
        return out.astype(np.uint8)

    # smallest factor first: (0.5, 2) -> axis 0 first; (2, 0.5) -> axis 1 first
    np.testing.assert_array_equal(imresize(img, (0.5, 2.0)), manual(img, [(0, 0.5), (1, 2.0)]))
    np.testing.assert_array_equal(imresize(img, (2.0, 0.5)), manual(img, [(1, 0.5), (0, 2.0)]))
    assert imresize(img, 0.5).dtype == np.uint8
    assert [p[0] for p in resize_plan((10, 10, 10), (2, 0.5, 1), axes=(0, 1, 2))] == [1, 0]


def test_float_dtype_kept_and_input_untouched() -> None:
    x = rng_image((1, 12, 10, 6)).astype(np.float32)
    before = x.copy()
    y = imresize(x, (0.5, 0.5, 2.0), axes=(1, 2, 3))
    assert y.dtype == np.float32 and y.shape == (1, 6, 5, 12)
    np.testing.assert_array_equal(x, before)
    # separable: same as resizing one axis at a time (in float64)
    step = imresize(x.astype(np.float64), (0.5, 1, 1), axes=(1, 2, 3))
    step = imresize(step, (1, 0.5, 1), axes=(1, 2, 3))
    step = imresize(step, (1, 1, 2.0), axes=(1, 2, 3))
    np.testing.assert_allclose(y, step, rtol=1e-6, atol=1e-6)


def test_matches_pillow_bicubic_inside_the_image() -> None:
    # Pillow's BICUBIC is also Keys a = -0.5 with a stretched kernel when shrinking and the same
    # pixel-centre mapping; only the border rule differs (it truncates, MATLAB mirrors).
    from PIL import Image

    x = rng_image((40, 36), seed=5).astype(np.float32)
    pil = Image.fromarray(x, mode="F")
    down = np.asarray(pil.resize((18, 20), Image.BICUBIC))
    up = np.asarray(pil.resize((72, 80), Image.BICUBIC))
    np.testing.assert_allclose(imresize(x, 0.5)[3:-3, 3:-3], down[3:-3, 3:-3], atol=2e-5)
    np.testing.assert_allclose(imresize(x, 2.0)[4:-4, 4:-4], up[4:-4, 4:-4], atol=2e-5)


@pytest.mark.parametrize("factors", [(0.5, 0.5), (1 / 3, 2.0), (0.37, 1.6), (4.0, 0.25)])
@pytest.mark.parametrize("kernel", ["cubic", "lanczos3", "linear"])
def test_adjoint_dot_product(factors: tuple[float, float], kernel: str) -> None:
    shape = (1, 24, 18, 2)
    x = rng_image(shape, seed=1)
    ax = imresize(x, factors, axes=(1, 2), kernel=kernel)
    y = rng_image(ax.shape, seed=2)
    aty = imresize_adjoint(y, shape, factors, axes=(1, 2), kernel=kernel)
    assert aty.shape == shape
    assert np.vdot(ax, y) == pytest.approx(np.vdot(x, aty), rel=1e-12)


def test_matrix_agrees_with_weights() -> None:
    mat = imresize_matrix(9, 4, 4 / 9).toarray()
    x = rng_image((9,))
    np.testing.assert_allclose(mat @ x, imresize(x[:, None], output_shape=(4, 1))[:, 0], atol=1e-14)
    np.testing.assert_allclose(mat.sum(axis=1), 1.0, atol=1e-14)


def test_errors() -> None:
    x = rng_image((6, 6))
    with pytest.raises(MedsrError, match="kernel"):
        imresize(x, 2, kernel="spline36")
    with pytest.raises(MedsrError, match="exactly one"):
        imresize(x, 2, output_shape=(3, 3))
    with pytest.raises(MedsrError, match="axes"):
        imresize(rng_image((1, 4, 4, 4)), 2)
    with pytest.raises(MedsrError, match="positive"):
        imresize(x, -2)
    with pytest.raises(MedsrError, match="shape"):
        imresize_adjoint(np.zeros((5, 5)), (6, 6), 2.0)
