"""The diagonal through-plane views of self-SR (``medsr.selfsr.views``): an exact whole-voxel shear
whose grid planes are the volume's voxel-diagonal planes, put back without any loss, and their use
by ``restore_through_plane(diagonals=True)`` / ``SelfSRConfig(views="diagonals")``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from medsr.errors import MedsrError
from medsr.selfsr import SelfSRConfig
from medsr.selfsr.apply import restore_through_plane
from medsr.selfsr.views import Shear, shear


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 7)] * 3),
    slice_axis=st.integers(0, 2),
    sign=st.sampled_from([1, -1]),
)
def test_shear_round_trip_is_exact(shape, slice_axis, sign) -> None:
    vol = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    sh = shear(vol.shape, slice_axis, sign)
    sheared = sh.apply(vol)
    n_a, n_b = shape[sh.shift_axis], shape[sh.by_axis]
    assert sheared.shape[1 + sh.shift_axis] == n_a + n_b - 1  # every diagonal meeting the volume
    assert shape[sh.shift_axis] >= shape[sh.by_axis]  # the longer axis is shifted (less padding)
    np.testing.assert_array_equal(sh.back(sheared), vol)


@pytest.mark.parametrize("sign", [1, -1])
def test_grid_planes_of_the_sheared_volume_are_the_voxel_diagonals(sign) -> None:
    """Grid plane ``a`` of the sheared volume holds the voxels (y, z) = (a + sign z - offset, z):
    a volume constant along that diagonal is constant along each plane (inside the volume), and
    the shear of the other sign walks across the diagonals (2 units per voxel)."""
    x, y, z = np.meshgrid(np.arange(3), np.arange(9), np.arange(5), indexing="ij")
    vol = (y - sign * z + 10.0 * x)[None].astype(np.float32)  # constant where y - sign z is
    for s, step in ((sign, 0), (-sign, 2)):
        sh = Shear(vol.shape, shift_axis=1, by_axis=2, sign=s)
        sheared = sh.apply(vol)[0]
        for a in range(sheared.shape[1]):
            src = a + s * np.arange(5) - sh.offset
            inside = (src >= 0) & (src < 9)
            plane = sheared[:, a, :][:, inside]  # (x, z) along one diagonal
            np.testing.assert_array_equal(plane, vol[0][:, src[inside], np.flatnonzero(inside)])
            assert np.all(np.abs(np.diff(plane, axis=1)) == step)


def test_shear_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sign"):
        Shear((1, 4, 4, 4), 1, 1, 1)
    with pytest.raises(ValueError, match="shape"):
        Shear((1, 4, 4, 4), 1, 2, 1).apply(np.zeros((1, 4, 4, 5), np.float32))


class _ColumnSmoothing(torch.nn.Module):
    """A fixed 'network': a 3-tap mean along the plane's columns (replicate padding)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.nn.functional.pad(x, (1, 1, 0, 0), mode="replicate")
        return (p[..., :-2] + p[..., 1:-1] + p[..., 2:]) / 3


def test_diagonal_views_are_restored_and_fused(brain_crop) -> None:
    """Identity network: every view is the input, so the four-view fusion is the input. A column
    smoothing: the diagonal views smooth along the diagonals, so the fusion changes."""
    data = np.asarray(brain_crop.data, dtype=np.float32)
    vol = (data / data.max()).reshape(-1, *data.shape[-3:])[:, :24, :28, :20]
    ident = restore_through_plane(
        torch.nn.Identity(), vol, 0, diagonals=True, fusion="fba", batch=4
    )
    np.testing.assert_allclose(ident, vol, atol=1e-5)
    kw = {"batch": 4, "fusion": "mean"}
    axes = restore_through_plane(_ColumnSmoothing(), vol, 0, **kw)
    diag = restore_through_plane(_ColumnSmoothing(), vol, 0, diagonals=True, **kw)
    assert np.abs(diag - axes).max() > 1e-3
    # the mean of four views = (2 x axes-mean + the two diagonal smoothings) / 4, computed by hand
    sm = _ColumnSmoothing()
    by_hand = []
    for sign in (1, -1):
        sh = shear(vol.shape, 0, sign)
        s = sh.apply(vol)
        k = [1, 2].index(sh.by_axis)  # the orientation of the planes holding by_axis
        out = restore_through_plane(sm, s, 0, orientations=1, orientation=k, **kw)
        by_hand.append(sh.back(out))
    expected = (2 * axes + by_hand[0] + by_hand[1]) / 4
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from padded borders
    np.testing.assert_allclose(diag[inner], expected[inner], atol=1e-5)


def test_config_option_and_sidecar(tiny_self_case) -> None:
    from medsr.infer import MethodOptions, UpscaleConfig, upscale

    case, target, common = tiny_self_case
    with pytest.raises(MedsrError, match="views must be axes or diagonals"):
        SelfSRConfig(views="oblique")
    extra = {**common, "views": "diagonals", "model_kwargs": common["model_kwargs"]}
    options = MethodOptions(seed=0, extra=extra)
    res = upscale(case.lr, target, method="self", config=UpscaleConfig(method_options=options))
    assert res.details["method_info"]["views"] == "diagonals"
    assert np.isfinite(np.asarray(res.volume.data)).all()
