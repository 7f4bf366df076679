"""upscale / upscale_volume on a real T1 crop: geometry, 3D and 2D networks, consistency, errors."""

from __future__ import annotations

import numpy as np
import pytest
from infer_helpers import thick

from medsr.errors import MedsrError
from medsr.infer.methods import INTERPOLATION_METHODS, MethodOptions
from medsr.infer.pipeline import UpscaleConfig, resolve_target, upscale, upscale_volume
from medsr.infer.predictor import Predictor
from medsr.volume import Volume, zoom_grid


def _all_centres(volume: Volume) -> np.ndarray:
    """World coordinates of the voxel centres at the 8 corners and the middle of the grid."""
    n = np.asarray(volume.shape) - 1
    corners = np.array(
        [[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])] + [n / 2.0]
    )
    return corners @ volume.affine[:3, :3].T + volume.affine[:3, 3]


def _same_grid(a: Volume, b: Volume) -> None:
    assert a.shape == b.shape
    np.testing.assert_allclose(a.spacing, b.spacing, atol=1e-6)
    assert np.max(np.abs(_all_centres(a) - _all_centres(b))) < 1e-3  # mm


def test_3d_network_restores_the_original_grid(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    assert lr.shape == (32, 32, 8)
    out = upscale_volume(lr, tiny_net(3, (1, 1, 4)), (1, 1, 4), tile=(16, 16, 8), overlap=8)
    _same_grid(out, t1_crop)
    assert out.meta.dtype == t1_crop.meta.dtype == "uint8"  # output dtype follows the input
    # intensities keep their units: the network is near identity, so the output is near the thick
    # input
    assert abs(float(out.data.mean()) - float(lr.data.mean())) < 0.1 * float(lr.data.std())


@pytest.mark.parametrize("slice_axis,thick_axis", [(0, 2), (1, 2), (2, 0)])
def test_2d_network_along_each_axis(
    t1_crop: Volume, tiny_net, slice_axis: int, thick_axis: int
) -> None:
    lr = thick(t1_crop, thick_axis, 4)
    factors = [1, 1, 1]
    factors[thick_axis] = 4
    out = upscale_volume(lr, tiny_net(2, (1, 4)), factors, axis=slice_axis, batch_size=16)
    _same_grid(out, t1_crop)


def test_2d_network_fused_over_planes(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    net = tiny_net(2, (1, 4))
    fused = upscale(
        lr,
        resolve_target(lr, factors="1,1,4"),
        predictor=Predictor.from_module(net),
        config=UpscaleConfig(planes="all", batch_size=16),
    )
    _same_grid(fused.volume, t1_crop)
    assert fused.info["slicing"]["axes"] == [0, 1] and fused.info["slicing"]["fused"]
    single = [upscale_volume(lr, net, "1,1,4", axis=a, batch_size=16).data for a in (0, 1)]
    np.testing.assert_allclose(fused.volume.data, 0.5 * (single[0] + single[1]), atol=1e-4)


def test_non_integer_factor_runs_the_network_at_the_next_integer(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    result = upscale(
        lr,
        resolve_target(lr, factors=(1, 1, 3.5)),
        predictor=Predictor.from_module(tiny_net(3, (1, 1, 4))),
        config=UpscaleConfig(tile=16),
    )
    shape, affine = zoom_grid(lr.shape, lr.affine, (1, 1, 3.5))
    assert result.volume.shape == shape == (32, 32, 28)
    np.testing.assert_allclose(result.volume.affine, affine)
    assert result.info["network_factors"] == [1, 1, 4]
    assert result.info["finish_resample"]["factors"][2] == pytest.approx(3.5 / 4)


def test_spacing_target_and_float32_header_noise(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    spacing = ",".join(f"{s:.5f}" for s in t1_crop.spacing)  # rounded like a user would type it
    target = resolve_target(lr, spacing=spacing)
    assert target.factors == (1.0, 1.0, 4.0)


def test_memmap_output_equals_in_memory(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    pred = Predictor.from_module(tiny_net(3, (1, 1, 4)))
    target = resolve_target(lr, factors="1,1,4")
    a = upscale(lr, target, predictor=pred, config=UpscaleConfig(tile=16))
    b = upscale(lr, target, predictor=pred, config=UpscaleConfig(tile=16, max_memory=0))
    assert a.info["output_buffer"] == "memory" and b.info["output_buffer"] == "memmap"
    assert isinstance(b.volume.data, np.ndarray)
    np.testing.assert_array_equal(np.asarray(a.volume.data), np.asarray(b.volume.data))


@pytest.mark.parametrize("method", INTERPOLATION_METHODS + ("self", "dip", "network"))
def test_consistency_report_for_every_method(t1_crop: Volume, tiny_net, method: str) -> None:
    lr = thick(t1_crop, 2, 4)
    target = resolve_target(lr, factors="1,1,4")
    if method == "network":
        result = upscale(
            lr, target, predictor=Predictor.from_module(tiny_net(3, (1, 1, 4))), dtype="uint8"
        )
    else:
        options = MethodOptions(extra={"iterations": "2"} if method in ("self", "dip") else {})
        result = upscale(
            lr, target, method=method, dtype="uint8", config=UpscaleConfig(method_options=options)
        )
        assert result.info["method"] == method
    report = result.info["consistency"]
    for key in ("psnr_db", "rmse", "nrmse", "psnr_db_stored", "operator"):
        assert key in report
    if method in ("self", "dip"):  # 2 iterations: a report, not a quality check
        assert np.isfinite(report["psnr_db"]) and report["nrmse"] > 0
    else:
        assert 15.0 < report["psnr_db"] < 80.0  # imperfect but related to the input


@pytest.mark.parametrize("method", ["network", "bspline"])
def test_enforce_consistency_reaches_40_db_and_gains_10(
    t1_crop: Volume, tiny_net, method: str
) -> None:
    lr = thick(t1_crop, 2, 4)
    target = resolve_target(lr, factors="1,1,4")
    kw = (
        {"predictor": Predictor.from_module(tiny_net(3, (1, 1, 4)))}
        if method == "network"
        else {"method": method}
    )
    plain = upscale(lr, target, **kw).info["consistency"]["psnr_db"]
    forced = upscale(
        lr, target, config=UpscaleConfig(enforce_consistency=True), dtype="float32", **kw
    )
    after = forced.info["consistency"]["psnr_db"]
    assert after >= 40.0
    assert after >= plain + 10.0
    assert forced.info["enforce_consistency"]["psnr_db_history"][0] == pytest.approx(
        plain, abs=1e-3
    )


def test_user_errors(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    with pytest.raises(MedsrError, match="only one of spacing"):
        resolve_target(lr, factors=2, spacing=1)
    with pytest.raises(MedsrError, match="not super-resolution"):
        resolve_target(lr, factors="0.5,1,1")
    with pytest.raises(MedsrError, match="model scale mismatch"):
        upscale_volume(lr, tiny_net(3, (1, 1, 4)), "1,1,2")  # x4 would over-shoot x2
    with pytest.raises(MedsrError, match="model scale mismatch"):
        upscale_volume(lr, tiny_net(2, (2, 2)), "1,1,4")
    with pytest.raises(MedsrError, match="unknown method"):
        upscale_volume(lr, "magic", "1,1,4")
    bad = lr.with_data(lr.data.copy())
    bad.data[0, 3, 3, 3] = np.nan
    with pytest.raises(MedsrError, match="NaN"):
        upscale_volume(bad, "linear", "1,1,4")


def test_input_is_not_modified(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    before = lr.data.copy()
    upscale(
        lr,
        resolve_target(lr, factors="1,1,4"),
        predictor=Predictor.from_module(tiny_net(3, (1, 1, 4))),
        config=UpscaleConfig(enforce_consistency=True),
    )
    np.testing.assert_array_equal(lr.data, before)


def test_multichannel_scan_with_single_channel_network(t1_crop: Volume, tiny_net) -> None:
    lr = thick(t1_crop, 2, 4)
    two = lr.with_data(np.concatenate([lr.data, 2 * lr.data]))
    out = upscale_volume(two, tiny_net(3, (1, 1, 4)), "1,1,4", tile=16)
    one = upscale_volume(lr, tiny_net(3, (1, 1, 4)), "1,1,4", tile=16)
    np.testing.assert_allclose(out.data[0], one.data[0], atol=1e-4)
    assert out.channels == 2


def test_default_target_is_isotropic_at_the_finest_spacing(t1_crop: Volume) -> None:
    lr = thick(t1_crop, 2, 4)
    target = resolve_target(lr)
    finest = float(lr.spacing.min())
    np.testing.assert_allclose(target.spacing, [finest] * 3, rtol=1e-9)


def test_coarser_axes_are_reduced_after_super_resolving_the_others(t1_crop: Volume) -> None:
    """--spacing 1 on a 0.88 x 0.88 x 3.5 mm scan: z up, x/y down, exactly on the zoom_grid
    target."""
    from medsr.volume import grid_for_spacing

    lr = thick(t1_crop, 2, 4)
    target = resolve_target(lr, spacing=1.0)
    assert target.factors[0] < 1 and target.factors[2] > 1
    result = upscale(lr, target, method="bspline", dtype="float32")
    shape, affine, _ = grid_for_spacing(lr.shape, lr.affine, (1.0, 1.0, 1.0))
    assert result.volume.shape == tuple(shape)
    np.testing.assert_allclose(result.volume.affine, affine, atol=1e-9)
    np.testing.assert_allclose(result.volume.centre_world, lr.centre_world, atol=1e-6)
    assert result.info["reduction"]["axes"] == [0, 1]
    assert result.info["consistency"]["psnr_db"] > 30  # measured on the intermediate grid
    # intensities stay in range: the reduction is an averaging, not an extrapolation
    assert result.volume.data.max() <= lr.data.max() * 1.1


def test_spacings_within_one_percent_count_as_equal(t1_crop: Volume) -> None:
    """chris_PD's 0.8579 x 0.8594 mm in-plane spacing: the default target keeps y (factor 1), it
    does not ask for x1.0017 (which a network would have to run at x2)."""
    affine = np.diag([0.8579, 0.8594, 2.4, 1.0])
    lr = Volume(t1_crop.data[:, :, :, :6].copy(), affine, t1_crop.meta)
    target = resolve_target(lr)
    assert target.factors[:2] == (1.0, 1.0)
    assert target.factors[2] == pytest.approx(2.4 / 0.8579)
    assert resolve_target(lr, spacing=0.86).factors[:2] == (1.0, 1.0)
    assert resolve_target(lr, spacing=0.8).factors[0] == pytest.approx(0.8579 / 0.8)  # 7 %: kept


def test_network_that_does_not_fit_runs_at_the_largest_whole_factor(
    t1_crop: Volume, tiny_net
) -> None:
    """An x2 through-plane network on an x2.8 request runs at x2 and cubic does the rest; an
    isotropic 2D x2 network on (1, 1, 4) cannot run anywhere and the error says what would fit."""
    lr = thick(t1_crop, 2, 4)
    target = resolve_target(lr, factors="1,1,2.8")
    result = upscale(lr, target, predictor=Predictor.from_module(tiny_net(2, (1, 2))))
    assert result.volume.shape == target.shape
    fit = result.info["network_fit"]
    assert fit["network"] == [1, 1, 2] and fit["finished_by"] == "cubic"
    assert result.info["finish_resample"]["factors"] == pytest.approx([1.0, 1.0, 1.4])
    assert result.info["slicing"]["axes"] == [0]
    # a 3D x(2,2,2) network on (2.5, 2.5, 3): x2 everywhere, then cubic x1.25, x1.25, x1.5
    big = resolve_target(lr, factors="2.5,2.5,3")
    result3 = upscale(
        lr,
        big,
        predictor=Predictor.from_module(tiny_net(3, (2, 2, 2))),
        config=UpscaleConfig(tile=16),
    )
    assert result3.info["network_fit"]["network"] == [2, 2, 2]
    assert result3.volume.shape == big.shape
    # exact fits keep their old plan (no network_fit entry)
    exact = upscale(
        lr,
        resolve_target(lr, factors="1,1,4"),
        predictor=Predictor.from_module(tiny_net(2, (1, 4))),
    )
    assert "network_fit" not in exact.info
    with pytest.raises(MedsrError) as err:
        upscale_volume(lr, tiny_net(2, (2, 2)), "1,1,4")
    text = str(err.value)
    assert "model scale mismatch" in text
    assert "2D model.scale [1,4] sliced along axis 0" in text
    assert "sliced along axis 1" in text and "3D model.scale [1,1,4]" in text
    assert "configs/through_plane.yaml" in text
