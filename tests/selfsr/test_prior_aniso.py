"""Anisotropic pre-training pairs of the self-SR prior (issue 13: the held-out geometry).

The held-out protocol of ``docs/benchmarks/selfsr_heldout.md`` restores an in-plane axis of a 2D
acquisition, so the planes self-SR learns from contain the acquisition's coarse slice axis
(SMORE, Zhao et al., *IEEE TMI* 2021; review: Li, Sixou & Peyrin, *IRBM* 2021, section 4.2.2).
:func:`medsr.selfsr.prior.pair_stacks_anisotropic` makes those pairs from an isotropic volume.
"""

from __future__ import annotations

import numpy as np
import pytest

from medsr.bench.selfsr import simulate_thick_slices
from medsr.degrade import SliceProfile
from medsr.degrade.operator import thick_slice_operator
from medsr.errors import MedsrError
from medsr.interpolate import zoom_array
from medsr.normalise import robust_range
from medsr.selfsr.prior import pair_stacks_anisotropic, thick_along


def _degrade_rows(stack: np.ndarray, factor: float) -> np.ndarray:
    """The expected input: the target stack ``(N, R, W)`` given Gaussian thick slices of FWHM
    ``factor`` along its rows (axis 1) and interpolated back with cubic B-splines."""
    vol = stack[None]
    op = thick_slice_operator(vol.shape[1:], 1, factor, SliceProfile("gaussian"), factor)
    return zoom_array(op.apply(vol), (1.0, float(factor), 1.0), "bspline")[0]


def test_thick_along_matches_the_benchmark_simulation(brain_crop) -> None:
    coarse = thick_along(brain_crop.data, 2, 3.0)
    assert coarse.shape == (1, 56, 64, 16)
    reference = simulate_thick_slices(brain_crop, 2, 3.0, profile="gaussian").lr.data
    np.testing.assert_allclose(coarse, reference, rtol=1e-5, atol=1e-3)


def test_anisotropic_pairs_are_the_coarse_planes_degraded_along_the_rows(brain_crop) -> None:
    # thick (x3) along z, then self-SR restoring x by 4: planes y-z, both in-plane axes degraded
    pairs = pair_stacks_anisotropic(brain_crop.data, 2, 3.0, 0, 4.0, every=2)
    assert len(pairs.inputs) == 2
    coarse = thick_along(brain_crop.data, 2, 3.0)
    low, span = robust_range(coarse)
    planes = ((coarse - low) / span).astype(np.float32)[0, ::2]  # (x planes, y, z)
    # stack 0: rows = y (fine, degraded), columns = z (coarse); stack 1: rows = z, columns = y
    np.testing.assert_allclose(pairs.targets[0], planes, atol=1e-6)
    np.testing.assert_allclose(pairs.targets[1], np.swapaxes(planes, 1, 2), atol=1e-6)
    for x, y in zip(pairs.inputs, pairs.targets, strict=True):
        assert x.shape == y.shape and x.shape[0] == 28
        np.testing.assert_allclose(x, _degrade_rows(y, 4.0), atol=1e-4)
        # smoothed along the rows only: row differences shrink, column differences much less
        row_ratio = np.abs(np.diff(x, axis=1)).mean() / np.abs(np.diff(y, axis=1)).mean()
        col_ratio = np.abs(np.diff(x, axis=2)).mean() / np.abs(np.diff(y, axis=2)).mean()
        assert row_ratio < 0.75 and row_ratio < col_ratio - 0.1
        assert np.abs(x - y).mean() > 0.005  # a real degradation, not a copy


def test_matched_pairs_keep_only_the_fine_axis_and_bad_axes_fail(brain_crop) -> None:
    pairs = pair_stacks_anisotropic(brain_crop.data, 2, 3.0, 0, 4.0, every=2, axes=[1])
    assert len(pairs.inputs) == 1 and pairs.targets[0].shape == (28, 64, 16)
    np.testing.assert_allclose(pairs.inputs[0], _degrade_rows(pairs.targets[0], 4.0), atol=1e-4)
    with pytest.raises(MedsrError, match="must differ"):
        pair_stacks_anisotropic(brain_crop.data, 2, 3.0, 2, 4.0)
