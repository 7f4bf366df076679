"""Phase alignment of self-SR: aligned training patches and aligned inference crops show the
network the thick slices at the same rows (``phase_align``)."""

from __future__ import annotations

import numpy as np

from medsr.bench.selfsr import simulate_thick_slices
from medsr.degrade import SliceProfile, thick_slice_operator
from medsr.infer.slicewise import ForegroundCrop
from medsr.interpolate import zoom_array
from medsr.selfsr.pairs import PatchSampler, make_training_pairs, slice_period


def _error_by_row_phase(inputs: np.ndarray, targets: np.ndarray, period: int) -> np.ndarray:
    """Mean |interpolated - profile-blurred truth| of ``(N, R, W)`` planes by row ``mod period``:
    smallest at the rows where the thick slices are centred, where the interpolation passes
    through the measured values."""
    blurred = thick_slice_operator(targets[None].shape[1:], 1, 1.0, SliceProfile(), 4.0).apply(
        targets[None]
    )[0]
    err = np.abs(inputs - blurred).mean(axis=(0, 2))
    return np.array([err[k::period].mean() for k in range(period)])


def _contrast(err: np.ndarray) -> float:
    """How much larger the error is at rows 0 and 3 of a period of 4 than at rows 1 and 2."""
    return float(min(err[0], err[3]) / max(err[1], err[2]))


def test_slices_sit_at_the_same_rows_in_training_patches_and_inference_crops(brain_crop) -> None:
    assert slice_period(4.0) == 4 and slice_period(2.5) == 1 and slice_period(1.0) == 1
    hr = brain_crop.data / 255.0  # (1, 56, 64, 48)
    # training: planes degraded along their rows at the 4 lattice positions, aligned patches
    pairs = make_training_pairs(hr, 2, 4.0, SliceProfile(), 4.0, phases=4, axes=[0])
    sampler = PatchSampler(pairs, 24, np.random.default_rng(0), threshold=0.0, row_period=4)
    x, y = sampler.sample(256)
    train = _error_by_row_phase(x[:, 0], y[:, 0], 4)
    # inference: the scan made thick along z, interpolated back, its x-z planes with the slice
    # axis along the rows, cropped to the head's box on the period
    case = simulate_thick_slices(brain_crop, axis=2, factor=4.0)
    current = zoom_array(case.lr.data / 255.0, (1.0, 1.0, 4.0), "bspline")[0]  # (56, 64, 48)
    truth = case.truth.data[0] / 255.0
    planes, truths = np.transpose(current, (1, 2, 0)), np.transpose(truth, (1, 2, 0))
    box = ForegroundCrop(margin=3, row_period=4).box(planes)
    assert box is not None and box[0].start % 4 == 0
    infer = _error_by_row_phase(planes[:, box[0]], truths[:, box[0]], 4)
    for err in (train, infer):  # slices centred between rows 1 and 2 of every period of 4
        assert _contrast(err) > 1.8, err
    free = PatchSampler(pairs, 24, np.random.default_rng(0), threshold=0.0).sample(256)
    assert _contrast(_error_by_row_phase(free[0][:, 0], free[1][:, 0], 4)) < 1.4  # mixed phases
    # misaligned by one row, the pattern moves: what an unaligned crop would show the network
    shifted = _error_by_row_phase(planes[:, box[0].start + 1 :], truths[:, box[0].start + 1 :], 4)
    assert _contrast(shifted) < 1.0, shifted
