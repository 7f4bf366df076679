"""Up-samplers: pixel shuffle against a reference loop, the fixed interpolation against MATLAB's
imresize / torch's bicubic / the medsr grid, ICNR, transposed and resize-conv geometry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from medsr.errors import MedsrError
from medsr.models.blocks import (
    NearestUpsample,
    PixelShuffleND,
    PreUpsample,
    ResizeConvUpsample,
    SubPixelUpsample,
    TransposedUpsample,
    bilinear_kernel,
    cubic_kernel,
    make_upsampler,
    pixel_shuffle_nd,
    pixel_unshuffle_nd,
    stage_factors,
)
from medsr.volume import index_coordinates, zoom_grid


def _reference_shuffle(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Element-by-element periodic shuffling: out[c, i*r + o] = in[c*P + flat(o), i]."""
    n, cp = x.shape[:2]
    spatial = x.shape[2:]
    p = math.prod(factors)
    c = cp // p
    out = np.zeros((n, c, *[s * f for s, f in zip(spatial, factors)]), dtype=x.dtype)
    offsets = list(itertools.product(*[range(f) for f in factors]))
    for b in range(n):
        for ch in range(c):
            for k, off in enumerate(offsets):
                for idx in itertools.product(*[range(s) for s in spatial]):
                    pos = tuple(i * f + o for i, f, o in zip(idx, factors, off))
                    out[(b, ch) + pos] = x[(b, ch * p + k) + idx]
    return out


@pytest.mark.parametrize("factors", [(2, 3), (1, 1, 4), (2, 1, 3), (3, 2, 2)])
def test_pixel_shuffle_nd_matches_reference_loop(factors):
    spatial = (3, 2) if len(factors) == 2 else (2, 3, 2)
    x = torch.randn(2, 2 * math.prod(factors), *spatial)
    got = pixel_shuffle_nd(x, factors).numpy()
    np.testing.assert_array_equal(got, _reference_shuffle(x.numpy(), factors))
    # unshuffle is its exact inverse
    torch.testing.assert_close(
        pixel_unshuffle_nd(pixel_shuffle_nd(x, factors), factors), x, rtol=0, atol=0
    )


def test_pixel_shuffle_nd_equals_torch_pixel_shuffle_in_2d():
    x = torch.randn(1, 12, 4, 5)
    torch.testing.assert_close(PixelShuffleND((2, 2))(x), F.pixel_shuffle(x, 2), rtol=0, atol=0)


def test_pixel_shuffle_rejects_wrong_rank():
    with pytest.raises(MedsrError):
        pixel_shuffle_nd(torch.zeros(1, 4, 3, 3), (2, 2, 1))


def _matlab_cubic_reference(x: np.ndarray, s: int) -> np.ndarray:
    """1-D MATLAB-bicubic up-sampling written out: x_old = (j + 0.5)/s - 0.5, symmetric borders."""
    n = len(x)
    out = np.zeros(n * s)
    for j in range(n * s):
        u = (j + 0.5) / s - 0.5
        left = math.floor(u) - 1
        acc = wsum = 0.0
        for k in range(left, left + 4):
            w = float(cubic_kernel(np.array(u - k))[()])
            kk = k if k >= 0 else -k - 1
            kk = kk if kk < n else 2 * n - 1 - kk
            acc += w * x[kk]
            wsum += w
        out[j] = acc / wsum
    return out


@pytest.mark.parametrize("s", [2, 3, 4])
def test_preupsample_is_matlab_bicubic_1d(s):
    x = np.random.default_rng(s).random(7)
    up = PreUpsample(2, (1, s))
    got = up(torch.tensor(x, dtype=torch.float64).reshape(1, 1, 1, -1).float())[0, 0, 0].numpy()
    np.testing.assert_allclose(got, _matlab_cubic_reference(x, s), atol=2e-6)


def test_preupsample_matches_medsr_imresize():
    resize = pytest.importorskip("medsr.degrade.resize")
    x = np.random.default_rng(0).random((6, 9))
    for s in (2, 3):
        ref = resize.imresize(x, (s, s))
        got = PreUpsample(2, s)(torch.from_numpy(x)[None, None].float())[0, 0].numpy()
        np.testing.assert_allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_preupsample_with_torch_kernel_equals_f_interpolate(s):
    """a = -0.75 and clamped borders are torch's bicubic: same grid, same numbers."""
    x = torch.randn(2, 3, 5, 6)
    got = PreUpsample(2, s, a=-0.75, border="replicate")(x)
    ref = F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)


def test_preupsample_non_integer_factor_follows_zoom_grid():
    x = torch.randn(1, 1, 7, 5, 4)
    factors = (2.5, 1.0, 1.5)
    y = PreUpsample(3, factors)(x)
    shape, _ = zoom_grid(x.shape[2:], np.eye(4), factors)
    assert tuple(y.shape[2:]) == shape
    # a linear ramp along an axis is reproduced exactly at the new centres (cubic kernels reproduce
    # linear functions) away from the mirrored borders
    ramp = torch.arange(9, dtype=torch.float32).reshape(1, 1, 9, 1)
    out = PreUpsample(2, (2.5, 1))(ramp)[0, 0, :, 0].numpy()
    coords = index_coordinates(9, out.shape[0], 2.5)
    inner = (coords > 1.5) & (coords < 6.5)
    np.testing.assert_allclose(out[inner], coords[inner], atol=1e-5)


def test_preupsample_integer_and_matrix_paths_agree():
    up = PreUpsample(2, 3)
    x = torch.randn(1, 1, 5, 6)
    fast = up(x)
    slow = up._axis_matrix(up._axis_matrix(x, 0, 3.0), 1, 3.0)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)


def test_preupsample_scale_one_is_identity_and_constants_are_kept():
    x = torch.randn(1, 2, 4, 4, 3)
    assert PreUpsample(3, 1)(x) is x
    c = torch.full((1, 1, 4, 5, 3), 7.0)
    torch.testing.assert_close(
        PreUpsample(3, (2, 3, 1.5))(c), torch.full_like(PreUpsample(3, (2, 3, 1.5))(c), 7.0)
    )


def test_preupsample_rejects_bad_factors():
    with pytest.raises(MedsrError):
        PreUpsample(2, (2, 0))
    with pytest.raises(MedsrError):
        PreUpsample(2, (2, 2, 2))


def test_icnr_subpixel_is_checkerboard_free_at_init():
    """ICNR: the sub-pixels of each LR voxel are equal at initialisation (conv + nearest up)."""
    up = SubPixelUpsample(2, 4, 2, out_channels=3, staged=False, icnr=True)
    x = torch.randn(1, 4, 6, 6)
    y = up(x)
    blocks = y.reshape(1, 3, 6, 2, 6, 2)
    spread = (blocks.amax(dim=(3, 5)) - blocks.amin(dim=(3, 5))).abs().max()
    assert spread < 1e-6
    const = up(torch.ones(1, 4, 6, 6))
    inner = const[:, :, 2:-2, 2:-2]
    assert (inner - inner[:, :, :1, :1]).abs().max() < 1e-5  # a constant stays constant inside
    # without ICNR the same layer shows a periodic (checkerboard) pattern
    plain = SubPixelUpsample(2, 4, 2, out_channels=3, staged=False, icnr=False)
    yp = plain(torch.ones(1, 4, 6, 6))[:, :, 2:-2, 2:-2]
    assert (yp - yp[:, :, :1, :1]).abs().max() > 1e-3


def test_icnr_anisotropic_3d():
    up = SubPixelUpsample(3, 2, (1, 1, 4), out_channels=1, staged=False, icnr=True)
    y = up(torch.randn(1, 2, 3, 3, 2))
    assert y.shape == (1, 1, 3, 3, 8)
    blocks = y.reshape(1, 1, 3, 3, 2, 4)
    assert (blocks.amax(-1) - blocks.amin(-1)).abs().max() < 1e-6


@pytest.mark.parametrize(
    "factors,kernel", [(2, 9), (3, 9), (4, 9), (2, 4), (2, 3), ((1, 1, 4), 9), ((2, 1, 3), 3)]
)
def test_transposed_upsample_output_size(factors, kernel):
    dims = 3 if isinstance(factors, tuple) else 2
    shape = (5, 4, 3)[:dims]
    up = TransposedUpsample(dims, 2, 1, factors, kernel=kernel)
    y = up(torch.randn(1, 2, *shape))
    f = factors if isinstance(factors, tuple) else (factors,) * dims
    assert tuple(y.shape[2:]) == tuple(n * s for n, s in zip(shape, f))


def test_transposed_bilinear_init_keeps_constants_inside():
    up = TransposedUpsample(2, 1, 1, 2, kernel=4, bias=False, init="bilinear")
    y = up(torch.ones(1, 1, 6, 6))
    torch.testing.assert_close(y[:, :, 1:-1, 1:-1], torch.ones(1, 1, 10, 10))
    np.testing.assert_allclose(bilinear_kernel((4,)), [0.25, 0.75, 0.75, 0.25])
    # anisotropic: the factor-1 axis is left untouched, the x2 axis interpolated
    up3 = TransposedUpsample(3, 1, 1, (1, 1, 2), kernel=4, bias=False, init="bilinear")
    ramp = torch.arange(5.0).reshape(1, 1, 5, 1, 1).expand(1, 1, 5, 3, 4)
    y3 = up3(ramp)
    assert y3.shape == (1, 1, 5, 3, 8)
    torch.testing.assert_close(y3[..., 1:-1], ramp[..., :1].expand(1, 1, 5, 3, 6))


def test_resize_conv_and_nearest_shapes():
    up = ResizeConvUpsample(3, 4, (2, 2, 2), act="lrelu")
    assert up(torch.randn(1, 4, 3, 2, 2)).shape == (1, 4, 6, 4, 4)
    assert len(up.convs) == 1
    assert len(ResizeConvUpsample(2, 4, 4).convs) == 2
    y = NearestUpsample(3, (1, 1, 3))(torch.arange(4.0).reshape(1, 1, 1, 2, 2))
    assert y.shape == (1, 1, 1, 2, 6) and y[0, 0, 0, 0].tolist() == [0, 0, 0, 1, 1, 1]


def test_make_upsampler_kinds_and_errors():
    x = torch.randn(1, 4, 3, 3)
    for kind in ("subpixel", "transposed", "resize_conv"):
        assert make_upsampler(kind, 2, 4, 3, out_channels=2)(x).shape == (1, 2, 9, 9)
    assert make_upsampler("pre", 2, 4, 1.5)(x).shape == (1, 4, 4, 4)
    assert make_upsampler("nearest", 2, 4, 2)(x).shape == (1, 4, 6, 6)
    with pytest.raises(MedsrError):
        make_upsampler("magic", 2, 4, 2)
    with pytest.raises(MedsrError):
        make_upsampler("subpixel", 2, 4, 2.5)


def test_stage_factors():
    assert stage_factors((4, 4)) == [(2, 2), (2, 2)]
    assert stage_factors((1, 1, 4)) == [(1, 1, 2), (1, 1, 2)]
    assert stage_factors((3, 3)) == [(3, 3)]
    assert stage_factors((6, 2)) == [(2, 2), (3, 1)]
    assert stage_factors((1, 1)) == []
    up = SubPixelUpsample(2, 4, 4)
    assert sum(isinstance(m, PixelShuffleND) for m in up.modules()) == 2
