"""Deep Image Prior: the network, the operator in torch, and a few iterations in 2D and 3D."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.degrade import BicubicDown, ThickSlice
from medsr.errors import MedsrError
from medsr.selfsr.dip import DIPConfig, SkipNet, deep_image_prior, dip_operator
from medsr.volume import TargetGrid, Volume, VolumeMeta, zoom_grid


@pytest.mark.parametrize("dims, size", [(2, (21, 34)), (3, (9, 12, 17))])
def test_skipnet_keeps_odd_sizes(dims: int, size: tuple[int, ...]) -> None:
    net = SkipNet(dims, in_channels=4, out_channels=2, width=8, depth=3, skip=2)
    with torch.no_grad():
        out = net(torch.rand((1, 4) + size))
    assert out.shape == (1, 2) + size
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0  # sigmoid output


def _scan(shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> Volume:
    return Volume(np.zeros((1,) + shape, np.float32), np.diag(list(spacing) + [1.0]))


def test_operator_matches_medsr_degrade() -> None:
    rng = np.random.default_rng(0)
    hr = rng.random((1, 10, 12, 16)).astype(np.float32)
    thick = _scan((10, 12, 4), (1.0, 1.0, 4.0))
    acq, info = dip_operator(thick, TargetGrid.from_factors(thick, (1.0, 1.0, 4.0)))
    assert info["operator"] == "thick-slice"
    expected = ThickSlice(2, 4.0, "gaussian", fwhm=4.0).apply_array(hr)
    got = acq.as_torch()(torch.from_numpy(hr)[None])[0].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    small = _scan((5, 6, 16), (1.0, 1.0, 1.0))
    acq2, info2 = dip_operator(small, TargetGrid.from_factors(small, (2.0, 2.0, 1.0)), kind="cubic")
    assert info2["operator"] == "cubic"
    np.testing.assert_allclose(
        acq2.as_torch()(torch.from_numpy(hr)[None])[0].numpy(),
        BicubicDown((2.0, 2.0, 1.0)).apply_array(hr),
        atol=1e-5,
    )
    with pytest.raises(MedsrError):
        dip_operator(thick, TargetGrid.from_factors(thick, (1.0, 1.0, 4.0)), kind="fourier")  # type: ignore[arg-type]


def _image_2d(brain_crop) -> Volume:
    """A 2D picture (Z == 1): one axial plane of the brain crop, bicubic-downscaled by 2."""
    hr = brain_crop.data[:, :, :, 20:21]
    lr = BicubicDown((2.0, 2.0, 1.0)).apply_array(hr)
    _shape, aff = zoom_grid(hr.shape[1:], np.eye(4), (0.5, 0.5, 1.0))
    return Volume(lr, aff, VolumeMeta(is_2d=True))


def test_dip_2d_consistency_decreases(brain_crop) -> None:
    lr = _image_2d(brain_crop)
    out, info = deep_image_prior(
        lr,
        TargetGrid.from_factors(lr, (2.0, 2.0, 1.0)),
        DIPConfig(budget="60it", width=8, depth=3, input_channels=8, threads=1, lr=0.02),
    )
    shape, aff = zoom_grid(lr.shape, lr.affine, (2.0, 2.0, 1.0))
    assert out.shape == tuple(shape) and np.allclose(out.affine, aff)
    curve = [c[2] for c in info["curve"]]
    assert info["iterations"] == 60 and info["stop_reason"] == "budget"
    assert curve[-1] < 0.5 * curve[0]
    assert info["operator"] == "cubic"
    # the result stays in the image's intensity range (sigmoid output, min-max mapped back)
    assert lr.data.min() - 1e-3 <= out.data.min() and out.data.max() <= lr.data.max() + 1e-3


def test_dip_3d_thick_slices(brain_crop) -> None:
    hr = brain_crop.with_data(np.ascontiguousarray(brain_crop.data[:, 10:26, 20:36, 8:32]))
    lr = ThickSlice(2, 3.0, "gaussian", fwhm=3.0)(hr)
    out, info = deep_image_prior(
        lr,
        TargetGrid.from_factors(lr, (1.0, 1.0, 3.0)),
        DIPConfig(budget="25it", width=8, depth=2, input_channels=4, threads=1, lr=0.02, ema=0.0),
    )
    assert out.shape == hr.shape and np.allclose(out.affine, hr.affine)
    assert info["operator"] == "thick-slice" and info["slice_axis"] == 2
    curve = [c[2] for c in info["curve"]]
    assert curve[-1] < curve[0]


def test_dip_early_stop_on_plateau(brain_crop) -> None:
    lr = _image_2d(brain_crop)
    _, info = deep_image_prior(
        lr,
        TargetGrid.from_factors(lr, (2.0, 2.0, 1.0)),
        DIPConfig(
            budget="400it",
            width=4,
            depth=2,
            input_channels=4,
            threads=1,
            lr=1e-6,
            patience=20,
            tol=0.05,
        ),
    )
    assert info["stop_reason"] == "plateau" and info["iterations"] < 400


def test_dip_method_registered(brain_crop) -> None:
    from medsr.infer.methods import MethodOptions, TargetGrid, get_method

    lr = _image_2d(brain_crop)
    target = TargetGrid.from_factors(lr, (2.0, 2.0, 1.0))
    entry = get_method("dip")
    out, info = entry.fn(
        lr, target, MethodOptions(extra={"iterations": 3, "width": 4, "depth": 2, "threads": 1})
    )
    assert out.shape == target.shape and info["iterations"] == 3
    with pytest.raises(MedsrError):
        entry.fn(lr, target, MethodOptions(extra={"bogus": 1}))
