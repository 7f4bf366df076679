"""2D networks on volumes: slice by slice along an axis, transposed slices, plane fusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.infer.predictor import Predictor
from medsr.infer.slicewise import ForegroundCrop, matching_axes, slicewise_predict


def _manual(net, x: np.ndarray, axis: int, transpose: bool = False) -> np.ndarray:
    """The network applied to each slice by hand, stacked back along ``axis``."""
    outs = []
    for k in range(x.shape[axis + 1]):
        s = np.take(x[0], k, axis=axis)
        s = s.T if transpose else s
        with torch.no_grad():
            y = net(torch.from_numpy(np.ascontiguousarray(s))[None, None])[0, 0].numpy()
        outs.append(y.T if transpose else y)
    return np.stack(outs, axis=axis)[None]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_slice_by_slice_matches_manual_loop(tiny_net, axis: int) -> None:
    x = np.random.default_rng(axis).normal(size=(1, 9, 8, 7)).astype(np.float32)
    factors = [2, 2, 2]
    factors[axis] = 1
    net = tiny_net(2, (2, 2))
    pred = Predictor.from_module(net)
    out = np.zeros((1,) + tuple(n * f for n, f in zip(x.shape[1:], factors)), np.float32)
    slicewise_predict(
        x, out, pred.batch_fn(pred.normalisation.fit(x), 1), (2, 2), factors, axis, batch_size=4
    )
    np.testing.assert_allclose(out, _manual(net, x, axis), atol=1e-5)


def test_slices_are_transposed_when_the_network_scales_the_other_in_plane_axis(tiny_net) -> None:
    x = np.random.default_rng(5).normal(size=(1, 6, 5, 4)).astype(np.float32)
    net = tiny_net(2, (1, 3))  # up-samples its second axis
    pred = Predictor.from_module(net)
    out = np.zeros(
        (1, 6, 15, 4), np.float32
    )  # factor 3 along y; slicing along z gives planes (x, y)
    slicewise_predict(x, out, pred.batch_fn(pred.normalisation.fit(x), 1), (1, 3), (1, 3, 1), 2)
    np.testing.assert_allclose(out, _manual(net, x, 2), atol=1e-5)
    out_t = np.zeros((1, 18, 5, 4), np.float32)  # factor 3 along x: slices must be transposed
    slicewise_predict(x, out_t, pred.batch_fn(pred.normalisation.fit(x), 1), (1, 3), (3, 1, 1), 2)
    np.testing.assert_allclose(out_t, _manual(net, x, 2, transpose=True), atol=1e-5)


def test_planes_are_averaged(tiny_net) -> None:
    x = np.random.default_rng(7).normal(size=(1, 7, 6, 5)).astype(np.float32)
    factors = (1, 1, 4)
    net = tiny_net(2, (1, 4))
    pred = Predictor.from_module(net)
    run = pred.batch_fn(pred.normalisation.fit(x), 1)
    assert matching_axes((1, 4), factors) == [0, 1]
    fused = np.zeros((1, 7, 6, 20), np.float32)
    for axis in (0, 1):
        slicewise_predict(x, fused, run, (1, 4), factors, axis, weight=0.5)
    expected = 0.5 * (_manual(net, x, 0) + _manual(net, x, 1))
    np.testing.assert_allclose(fused, expected, atol=1e-5)
    assert not np.allclose(_manual(net, x, 0), _manual(net, x, 1), atol=1e-3)  # really two views


def test_tiles_inside_slices_match_whole_slices(tiny_net) -> None:
    x = np.random.default_rng(8).normal(size=(1, 40, 36, 3)).astype(np.float32)
    pred = Predictor.from_module(tiny_net(2, (2, 2)))
    run = pred.batch_fn(pred.normalisation.fit(x), 1)
    whole = np.zeros((1, 80, 72, 3), np.float32)
    tiled = np.zeros_like(whole)
    slicewise_predict(x, whole, run, (2, 2), (2, 2, 1), 2)
    slicewise_predict(x, tiled, run, (2, 2), (2, 2, 1), 2, tile=16, overlap=8, batch_size=5)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_cannot_upsample_across_slices(tiny_net) -> None:
    x = np.zeros((1, 4, 4, 4), np.float32)
    out = np.zeros((1, 4, 4, 16), np.float32)
    with pytest.raises(MedsrError, match="cannot up-sample across its slices"):
        slicewise_predict(x, out, lambda b: b, (4, 1), (1, 1, 4), 2)
    with pytest.raises(MedsrError, match="model scale mismatch"):
        slicewise_predict(x, out, lambda b: b, (2, 2), (1, 1, 4), 0)


@pytest.mark.parametrize("period", [1, 3, 4])
def test_foreground_box_rows_follow_the_slice_period(period: int) -> None:
    stack = np.zeros((2, 50, 30), np.float32)
    stack[:, 23:37, 5:9] = 1.0
    free = ForegroundCrop(margin=2).box(stack)
    box = ForegroundCrop(margin=2, row_period=period).box(stack)
    assert free is not None and box is not None
    assert box[1] == free[1]  # columns unchanged
    rows = box[0]
    assert rows.start % period == 0 and (rows.stop - rows.start) % period == 0
    assert rows.start <= free[0].start and rows.stop >= free[0].stop  # nothing cut off
    assert rows.start > free[0].start - period and rows.stop < free[0].stop + period
    edge = np.zeros((1, 50, 30), np.float32)
    edge[:, 40:, :] = 1.0  # foreground up to the last row: the box ends at the plane's end
    tail = ForegroundCrop(margin=2, row_period=period).box(edge)
    assert tail is not None and tail[0].stop == 50 and tail[0].start % period == 0
