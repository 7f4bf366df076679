"""Fourier burst accumulation of self-SR's orientations (SMORE; Delbracio & Sapiro 2015)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medsr.bench.selfsr import simulate_thick_slices
from medsr.errors import MedsrError
from medsr.infer.methods import MethodOptions
from medsr.infer.selfsupervised import self_sr_method
from medsr.infer.slicewise import ForegroundCrop
from medsr.interpolate import zoom_array
from medsr.selfsr.apply import restore_through_plane
from medsr.selfsr.fusion import fourier_burst_accumulation, fuse


def _sharp_and_blurred(brain_crop) -> tuple[np.ndarray, np.ndarray]:
    sharp = np.asarray(brain_crop.data[0], np.float32) / float(brain_crop.data.max())
    return sharp, ndimage.gaussian_filter(sharp, 1.5, mode="wrap").astype(np.float32)


def test_equal_estimates_come_back_unchanged(brain_crop) -> None:
    sharp, _ = _sharp_and_blurred(brain_crop)
    out = fourier_burst_accumulation([sharp, sharp.copy()], power=8.0)
    np.testing.assert_allclose(out, sharp, atol=1e-5)


def test_power_zero_is_the_mean(brain_crop) -> None:
    sharp, blurred = _sharp_and_blurred(brain_crop)
    out = fourier_burst_accumulation([sharp, blurred], power=0.0, smoothing=1.0)
    np.testing.assert_allclose(out, (sharp + blurred) / 2, atol=1e-5)
    np.testing.assert_allclose(fuse([sharp, blurred], "mean"), (sharp + blurred) / 2, atol=1e-6)


def test_a_large_power_keeps_the_sharper_estimate_per_frequency(brain_crop) -> None:
    # a (periodic) Gaussian blur only attenuates every frequency, so per frequency the sharp
    # estimate has the larger magnitude: FBA with a large p returns it, the mean does not
    sharp, blurred = _sharp_and_blurred(brain_crop)
    mean_err = np.abs((sharp + blurred) / 2 - sharp).mean()
    fba_err = np.abs(fourier_burst_accumulation([blurred, sharp], 60.0, 0.0) - sharp).mean()
    assert fba_err < 0.02 * mean_err
    # and a moderate p lies in between, closer to the sharp one than the mean
    mid_err = np.abs(fourier_burst_accumulation([blurred, sharp], 8.0, 1.0) - sharp).mean()
    assert fba_err < mid_err < 0.5 * mean_err


def test_bad_inputs_get_one_line_errors(brain_crop) -> None:
    sharp, _ = _sharp_and_blurred(brain_crop)
    with pytest.raises(MedsrError, match="at least two"):
        fourier_burst_accumulation([sharp])
    with pytest.raises(MedsrError, match="one shape"):
        fourier_burst_accumulation([sharp, sharp[1:]])
    with pytest.raises(MedsrError, match=">= 0"):
        fourier_burst_accumulation([sharp, sharp], power=-1.0)
    with pytest.raises(MedsrError, match="fusion must be"):
        fuse([sharp, sharp], "median")


def test_restore_through_plane_fuses_the_two_orientations_by_fba(brain_crop) -> None:
    thick = simulate_thick_slices(brain_crop, axis=2, factor=4.0)
    data = np.asarray(thick.lr.data, np.float32)
    vol = zoom_array(data / data.max(), (1.0, 1.0, 4.0), "bspline")

    def net(x):  # a fixed non-symmetric sharpening along the rows (the slice axis)
        return x + 0.4 * (2 * x - x.roll(1, 2) - x.roll(-1, 2)) + 0.1 * x.roll(1, 3)

    class Net:  # restore_through_plane calls .to() and .eval()
        def to(self, *_args, **_kwargs):  # a device, or memory_format=
            return self

        def eval(self):
            return self

        __call__ = staticmethod(net)

    full = {"foreground": ForegroundCrop(threshold=-1.0), "batch": 16}
    each = [restore_through_plane(Net(), vol, 2, orientation=k, orientations=1, **full)
            for k in (0, 1)]
    got = restore_through_plane(Net(), vol, 2, fusion="fba", fusion_power=8.0, **full)
    np.testing.assert_allclose(got[0], fourier_burst_accumulation([e[0] for e in each], 8.0),
                               atol=1e-5)
    mean = restore_through_plane(Net(), vol, 2, fusion="mean", **full)
    np.testing.assert_allclose(mean, (each[0] + each[1]) / 2, atol=1e-5)
    assert np.abs(got - mean).max() > 1e-3


def test_fusion_options_reach_the_method_and_its_record(tiny_self_case) -> None:
    case, target, common = tiny_self_case
    outs = {}
    for fusion in ("fba", "mean"):
        outs[fusion], info = self_sr_method(
            case.lr, target, MethodOptions(seed=1, extra=dict(common, fusion=fusion))
        )
        assert info["fusion"] == fusion and info["ensemble"] is True  # the defaults' ensemble
    assert not np.array_equal(outs["fba"].data, outs["mean"].data)
    with pytest.raises(MedsrError, match="fusion must be"):
        self_sr_method(case.lr, target, MethodOptions(extra=dict(common, fusion="median")))
