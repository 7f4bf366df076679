"""Training pairs from the in-plane planes, and the patch sampler."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.degrade import SliceProfile, thick_slice_operator
from medsr.errors import MedsrError
from medsr.interpolate import zoom_array
from medsr.selfsr.pairs import (
    PatchSampler,
    TrainingPairs,
    compatible_length,
    make_training_pairs,
)
from medsr.volume import zoom_grid


@pytest.mark.parametrize("n, factor", [(47, 4.0), (64, 4.0), (50, 2.5), (33, 2.79), (20, 3.0)])
def test_compatible_length_tiles_back(n: int, factor: float) -> None:
    k = compatible_length(n, factor)
    assert n - factor - 1 <= k <= n
    lr_shape, lr_aff = zoom_grid((k, 1, 1), np.eye(4), (1 / factor, 1, 1))
    hr_shape, hr_aff = zoom_grid(lr_shape, lr_aff, (factor, 1, 1))
    assert hr_shape[0] == k
    assert np.allclose(hr_aff, np.eye(4))  # the up-sampled grid is the original grid


def test_pairs_degrade_the_rows_only(brain_crop) -> None:
    hr = brain_crop.data / 255.0  # (1, 56, 64, 48), thick axis 2
    pairs = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0)
    assert len(pairs.inputs) == 2
    # stack 0: degraded along X (rows), planes indexed by Z, columns Y
    x0, y0 = pairs.inputs[0], pairs.targets[0]
    assert x0.shape == y0.shape == (48, 56, 64)
    np.testing.assert_allclose(y0, np.transpose(hr[0], (2, 0, 1)))
    low = thick_slice_operator(hr.shape[1:], 0, 4.0, SliceProfile(), 4.0).apply(hr)
    expected = zoom_array(low, (4.0, 1.0, 1.0), "bspline")
    np.testing.assert_allclose(x0, np.transpose(expected[0], (2, 0, 1)), atol=1e-5)
    # stack 1: degraded along Y (rows), columns X
    assert pairs.inputs[1].shape == (48, 64, 56)
    # the blur is along the rows: rows lose far more detail than columns
    row_err = np.abs(np.diff(x0, axis=1)).mean() / np.abs(np.diff(y0, axis=1)).mean()
    col_err = np.abs(np.diff(x0, axis=2)).mean() / np.abs(np.diff(y0, axis=2)).mean()
    assert row_err < 0.8 < col_err


def test_pairs_crop_to_a_tiling_length(brain_crop) -> None:
    hr = brain_crop.data[:, :53, :62] / 255.0
    pairs = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0)
    assert pairs.inputs[0].shape[1] == 52 and pairs.inputs[1].shape[1] == 60


def test_sampler_prefers_the_foreground(brain_crop) -> None:
    hr = np.zeros((1, 60, 60, 10), np.float32)
    hr[:, 30:, 30:] = brain_crop.data[:, :30, :30, :10] / 255.0
    pairs = make_training_pairs(hr, 2, 3.0, SliceProfile(), 3.0)
    sampler = PatchSampler(pairs, 16, np.random.default_rng(0))
    x, y = sampler.sample(64)
    assert x.shape == y.shape == (64, 1, 16, 16) and x.dtype == np.float32
    assert (y.reshape(64, -1).mean(axis=1) > 0.05).mean() > 0.9
    again = PatchSampler(pairs, 16, np.random.default_rng(0)).sample(64)
    np.testing.assert_array_equal(again[0], x)  # seeded: reproducible


def test_residual_weighting_draws_the_patches_interpolation_gets_wrong(brain_crop) -> None:
    """``weighting="residual"``: half of each batch is drawn in proportion to |HR - input|, so the
    mean interpolation error of the batches rises over uniform sampling (same rng seed)."""
    hr = brain_crop.data[:, :, :, :24] / 255.0
    pairs = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0)

    def error(weighting: str) -> float:
        sampler = PatchSampler(pairs, 16, np.random.default_rng(0), weighting=weighting)
        x, y = sampler.sample(512)
        return float(np.abs(y - x).mean())

    uniform, residual = error("uniform"), error("residual")
    assert residual > 1.2 * uniform
    with pytest.raises(MedsrError, match="weighting"):
        PatchSampler(pairs, 16, np.random.default_rng(0), weighting="edges")


def test_pairs_of_chosen_axes_only(brain_crop) -> None:
    hr = brain_crop.data / 255.0  # (1, 56, 64, 48), thick axis 2
    both = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0)
    only_y = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0, axes=[1])
    assert len(only_y.inputs) == 1  # the stack degraded along Y (rows), columns X
    np.testing.assert_array_equal(only_y.inputs[0], both.inputs[1])
    np.testing.assert_array_equal(only_y.targets[0], both.targets[1])
    with pytest.raises(MedsrError):
        make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0, axes=[2])  # the slice axis


def test_shifted_lattices_degrade_crops_moved_by_one_voxel(brain_crop) -> None:
    hr = brain_crop.data / 255.0  # (1, 56, 64, 48), thick axis 2
    pairs = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0, phases=4, axes=[0])
    assert len(pairs.inputs) == 4  # one stack per position of the sampling lattice
    # 56 voxels hold 4 lattices of 52 (= 13 slices of 4): crops start at 0, 1, 2, 3
    for shift, (x, y) in enumerate(zip(pairs.inputs, pairs.targets, strict=True)):
        crop = hr[:, shift : shift + 52]
        np.testing.assert_allclose(y, np.transpose(crop[0], (2, 0, 1)))
        low = thick_slice_operator(crop.shape[1:], 0, 4.0, SliceProfile(), 4.0).apply(crop)
        back = zoom_array(low, (4.0, 1.0, 1.0), "bspline")
        np.testing.assert_allclose(x, np.transpose(back[0], (2, 0, 1)), atol=1e-5)
    # the same planes, but the interpolation error moves with the lattice
    assert not np.allclose(pairs.inputs[0][:, :52], pairs.inputs[1][:, :52], atol=1e-3)


def test_shifted_lattices_never_shorten_a_plane_below_the_patch(brain_crop) -> None:
    hr = brain_crop.data[:, :, :, :24] / 255.0  # 24 voxels along Z: only one lattice fits
    one = make_training_pairs(hr, 0, 4.0, SliceProfile(), 4.0, axes=[2])
    kept = make_training_pairs(hr, 0, 4.0, SliceProfile(), 4.0, axes=[2], phases=4, min_length=48)
    assert len(kept.inputs) == 1
    np.testing.assert_array_equal(kept.inputs[0], one.inputs[0])
    shorter = make_training_pairs(hr, 0, 4.0, SliceProfile(), 4.0, axes=[2], phases=4)
    assert len(shorter.inputs) == 4 and shorter.inputs[0].shape[1] == 20


def test_aligned_patches_start_on_the_slice_period() -> None:
    rows = np.broadcast_to(np.arange(64, dtype=np.float32)[None, :, None], (6, 64, 40)).copy()
    pairs = TrainingPairs([rows + 1.0], [rows + 1.0])  # value = row index + 1 (foreground)
    for period, patch in ((4, 24), (3, 24), (4, 22)):
        sampler = PatchSampler(pairs, patch, np.random.default_rng(1), row_period=period)
        assert sampler.patch % period == 0 and sampler.patch > patch - period
        for split in ("train", "val"):
            x, _ = sampler.sample(64, split=split)
            first_rows = x[:, 0].min(axis=(1, 2)) - 1.0  # flips reverse a patch, not its span
            assert np.all(first_rows % period == 0)
    free = PatchSampler(pairs, 24, np.random.default_rng(1)).sample(64)[0]
    assert np.any((free[:, 0].min(axis=(1, 2)) - 1.0) % 4 != 0)  # unaligned by default


def test_interleaved_lattices_take_the_memory_of_one(brain_crop) -> None:
    hr = brain_crop.data / 255.0  # (1, 56, 64, 48), thick axis 2
    every = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0, phases=4, axes=[0])
    inter = make_training_pairs(
        hr, 2, 4.0, SliceProfile(), 4.0, phases=4, axes=[0], interleave=True
    )
    assert sum(a.shape[0] for a in inter.inputs) == 48  # the planes of one lattice
    for shift in range(4):  # plane i at lattice position i mod 4
        np.testing.assert_array_equal(inter.targets[shift], every.targets[shift][shift::4])
        np.testing.assert_allclose(inter.inputs[shift], every.inputs[shift][shift::4], atol=1e-6)


def test_area_windows_keep_the_pixels_of_a_full_patch_on_thin_planes() -> None:
    """``shape="area"``: the planes of a 12-slice scan (96 x 12 and 12 x 96) give 48 x 12 and
    12 x 48 windows for ``patch=24`` (576 pixels, as 24 x 24) instead of 12 x 12 squares; a batch
    holds one shape, both shapes are drawn, and every window is a piece of its plane."""
    rng = np.random.default_rng(0)
    value = rng.random((5, 96, 12)).astype(np.float32) + 1.0  # foreground everywhere
    pairs = TrainingPairs(
        [value, np.ascontiguousarray(value.transpose(0, 2, 1))],
        [value + 1.0, np.ascontiguousarray(value.transpose(0, 2, 1)) + 1.0],
    )
    square = PatchSampler(pairs, 24, np.random.default_rng(1), row_period=4)
    assert square.shapes == [(12, 12), (12, 12)]
    area = PatchSampler(pairs, 24, np.random.default_rng(1), row_period=4, shape="area")
    assert area.shapes == [(48, 12), (12, 48)]
    seen = set()
    for _ in range(12):
        x, y = area.sample(8)
        assert x.shape[2] * x.shape[3] == 576 and x.shape == y.shape
        np.testing.assert_array_equal(y, x + 1.0)  # input and target windows coincide
        seen.add(x.shape[2:])
        rows = x.shape[2]
        for window in x[:, 0]:  # a piece of some plane (flips undone by trying them)
            planes = value if rows == 48 else value.transpose(0, 2, 1)
            found = any(
                np.array_equal(w, planes[k, r : r + rows, c : c + x.shape[3]])
                for k in range(5)
                for w in (window, window[::-1], window[:, ::-1], window[::-1, ::-1])
                for r in range(0, planes.shape[1] - rows + 1, 4)
                for c in range(planes.shape[2] - x.shape[3] + 1)
            )
            assert found
    assert seen == {(48, 12), (12, 48)}
    with pytest.raises(MedsrError, match="patch shape"):
        PatchSampler(pairs, 24, np.random.default_rng(1), shape="long")


def test_area_windows_equal_square_ones_on_planes_wider_than_the_patch(brain_crop) -> None:
    """Where every plane holds a full patch, ``shape="area"`` draws the very same batches."""
    hr = brain_crop.data / 255.0
    pairs = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0)
    a = PatchSampler(pairs, 24, np.random.default_rng(3), row_period=4).sample(16)
    b = PatchSampler(pairs, 24, np.random.default_rng(3), row_period=4, shape="area").sample(16)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
