"""Sliding windows: coverage, separable normaliser, tiled == untiled, anisotropic zoom."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.infer.predictor import Predictor
from medsr.infer.sliding import plan_axis, plan_tiles, tiled_predict, window_starts


@pytest.mark.parametrize(
    "n,tile,overlap", [(10, 4, 1), (120, 64, 8), (37, 16, 8), (16, 16, 4), (5, 8, 2)]
)
def test_window_starts_cover_axis_with_overlap(n: int, tile: int, overlap: int) -> None:
    starts = window_starts(n, tile, overlap)
    t = min(tile, n)
    covered = np.zeros(n, bool)
    for s in starts:
        assert 0 <= s <= n - t
        covered[s : s + t] = True
    assert covered.all()
    for a, b in itertools.pairwise(starts):
        assert a + t - b >= overlap  # neighbours overlap at least by `overlap`


@pytest.mark.parametrize("blend", ["hann", "gaussian"])
@pytest.mark.parametrize(
    "n,tile,overlap,scale", [(40, 12, 8, 4), (23, 10, 4, 1), (9, 9, 4, 3), (50, 20, 12, 2)]
)
def test_normalised_weights_sum_to_one(
    blend: str, n: int, tile: int, overlap: int, scale: int
) -> None:
    plan = plan_axis(n, tile, overlap, scale, blend=blend)
    total = np.zeros(n * scale)
    for p, w in zip(plan.starts, plan.weights):
        assert w.shape == (plan.tile * scale,)
        assert np.all(w >= 0)
        total[p * scale : (p + plan.tile) * scale] += w
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_halo_gets_zero_weight_at_interior_edges() -> None:
    plan = plan_axis(40, 16, 8, 2, blend="hann")
    assert plan.halo == 2
    first, middle = plan.weights[0], plan.weights[1]
    assert np.all(first[-2 * 2 :] == 0)  # right edge of the first window: 2 input voxels x 2
    assert np.all(middle[:4] == 0) and np.all(middle[-4:] == 0)
    assert first[0] == pytest.approx(1.0)  # the volume's border is not tapered


def test_product_of_1d_weights_is_a_partition_of_unity_in_3d() -> None:
    plan = plan_tiles((20, 14, 6), (1, 2, 4), (8, 6, 4), 4)
    total = np.zeros((20, 28, 24), np.float32)
    for w in plan.windows():
        total[plan.output_slices(w)] += plan.weight(w)
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def _predictor(net) -> Predictor:
    return Predictor.from_module(net)


@pytest.mark.parametrize(
    "dims,shape,scale,tile",
    [
        (3, (30, 26, 12), (1, 1, 4), (12, 12, 10)),
        (3, (21, 17, 19), (2, 1, 3), 10),
        (2, (45, 38, 1), (2, 3), (16, 12)),
    ],
)
@pytest.mark.parametrize("blend", ["hann", "gaussian"])
def test_tiled_equals_untiled_when_receptive_field_is_below_overlap(
    tiny_net, dims, shape, scale, tile, blend
) -> None:
    """TinyNet's receptive field is 5 voxels (radius 2); overlap 8 puts a zero halo of 2 at
    seams."""
    rng = np.random.default_rng(1)
    spatial = shape if dims == 3 else shape[:2]
    x = rng.normal(size=(1,) + spatial).astype(np.float32)
    pred = _predictor(tiny_net(dims, scale))
    run = pred.batch_fn(pred.normalisation.fit(x), 1)
    whole = run(x[None])[0]
    out = np.zeros((1,) + tuple(n * s for n, s in zip(spatial, scale)), np.float32)
    plan = plan_tiles(spatial, scale, tile, 8, blend=blend)
    assert len(plan) > 4  # really tiled
    tiled_predict([(x, out)], run, plan, batch_size=3)
    assert np.max(np.abs(out - whole)) < 1e-5


def test_seams_are_blended_not_cut_for_large_receptive_fields() -> None:
    """A network whose output depends on the window (here: its mean) still gives a smooth result."""
    x = np.linspace(0, 1, 64, dtype=np.float32)[None, :, None, None] * np.ones(
        (1, 64, 4, 4), np.float32
    )

    def window_mean(batch: np.ndarray) -> np.ndarray:
        return np.repeat(
            np.broadcast_to(batch.mean(axis=(2, 3, 4), keepdims=True), batch.shape), 2, axis=-1
        )

    out = np.zeros((1, 64, 4, 8), np.float32)
    tiled_predict(
        [(x, out)], window_mean, plan_tiles((64, 4, 4), (1, 1, 2), (16, 4, 4), 8), batch_size=2
    )
    profile = out[0, :, 0, 0]
    assert np.all(np.diff(profile) >= -1e-6)  # monotone: no step back at any seam
    assert np.max(np.diff(profile)) < 0.2  # and no jump as large as a window's mean change


def test_scale_mismatch_is_a_user_error() -> None:
    x = np.zeros((1, 8, 8, 8), np.float32)
    out = np.zeros((1, 8, 8, 32), np.float32)
    plan = plan_tiles((8, 8, 8), (1, 1, 4), 8, 0)
    with pytest.raises(MedsrError, match="model scale mismatch"):
        tiled_predict([(x, out)], lambda b: np.repeat(b, 2, axis=-1), plan)


def test_overlap_must_be_smaller_than_tile() -> None:
    with pytest.raises(MedsrError, match="overlap"):
        window_starts(20, 4, 4)


def test_no_output_sized_accumulator(tiny_net) -> None:
    """tiled_predict adds into the caller's array and allocates only window-sized temporaries."""
    import tracemalloc

    x = np.random.default_rng(0).normal(size=(1, 48, 48, 16)).astype(np.float32)
    out = np.zeros((1, 48, 48, 64), np.float32)  # 590 kB
    plan = plan_tiles((48, 48, 16), (1, 1, 4), (12, 12, 16), 4)
    pred = _predictor(tiny_net(3, (1, 1, 4)))
    run = pred.batch_fn(pred.normalisation.fit(x), 1)
    tracemalloc.start()
    tiled_predict([(x, out)], run, plan, batch_size=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.5 * out.nbytes  # a window's output is 12*12*64*4 B = 37 kB
    assert torch.get_num_threads() >= 1
