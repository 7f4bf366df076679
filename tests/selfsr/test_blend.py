"""The pre-trained prior averaged in on the planes no training pair resembles."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.bench.selfsr import simulate_thick_slices
from medsr.errors import MedsrError
from medsr.selfsr import SelfSRConfig
from medsr.selfsr import self_super_resolve as _self_super_resolve
from medsr.selfsr.blend import blend_prior_views, unmatched_orientations
from medsr.selfsr.network import build_network
from medsr.volume import TargetGrid


def test_unmatched_orientations_follow_the_spacing_of_the_pairs_rows() -> None:
    # slice axis x; y at the target spacing, z 3x coarser (a 2D acquisition made thick along x)
    aniso = {1: 1.0, 2: 3.0}
    # orientation 0 = the x-y planes: their columns (y) are only in pairs degraded along z,
    # whose rows are 3x coarser than the target: unmatched. The x-z planes match the pairs
    # degraded along y.
    assert unmatched_orientations(aniso, 0, None, 1.5) == [0]
    assert unmatched_orientations(aniso, 0, [1], 1.5) == [0]
    assert unmatched_orientations(aniso, 0, [2], 1.5) == [0, 1]  # no pair degraded along y
    assert unmatched_orientations({1: 1.0, 2: 1.2}, 0, None, 1.5) == []  # isotropic enough
    assert unmatched_orientations({0: 1.0, 1: 1.0}, 2, None, 1.5) == []  # thick z, fine x-y
    assert unmatched_orientations({0: 2.0, 1: 2.0}, 2, None, 1.5) == [0, 1]


def test_blend_averages_the_prior_into_the_chosen_views_only() -> None:
    """With an identity "prior" (the untrained network: its tail starts at zero), the blended
    view is the mean of the view and the interpolated volume; the other view is untouched."""
    rng = np.random.default_rng(0)
    volume = rng.random((1, 24, 20, 16)).astype(np.float32)
    views = [rng.random(volume.shape).astype(np.float32) for _ in range(2)]
    identity = build_network("selfsr", "tiny")
    out = blend_prior_views(
        views, identity, volume, 0, [1], SelfSRConfig(), precision="fp32", row_period=4
    )
    np.testing.assert_array_equal(out[0], views[0])
    np.testing.assert_allclose(out[1], 0.5 * (views[1] + volume), atol=1e-6)


def test_self_sr_blends_the_prior_on_the_planes_of_the_fine_in_plane_axis(brain_crop) -> None:
    coarse_z = simulate_thick_slices(brain_crop, axis=2, factor=3.0).lr  # 1 x 1 x 3 mm
    case = simulate_thick_slices(coarse_z, axis=0, factor=4.0)
    target = TargetGrid.from_factors(case.lr, case.factors)
    common = {"budget": "3it", "members": 1, "threads": 1, "precision": "fp32",
              "self_training": "none"}  # one pass: the blend is the first pass's
    out, info = _self_super_resolve(case.lr, target, SelfSRConfig(blend_prior="auto", **common))
    (stage,) = info["stages"]
    assert stage["init"] != "none" and stage["prior_blended"] == ["x-y"]
    assert info["blend_prior"] == "auto"
    plain, plain_info = _self_super_resolve(case.lr, target, SelfSRConfig(**common))  # default
    assert plain_info["stages"][0]["prior_blended"] == [] and plain_info["blend_prior"] == "none"
    assert out.shape == plain.shape == case.truth.shape
    assert not np.allclose(np.asarray(out.data), np.asarray(plain.data))
    # a cold start has no prior to blend
    _, cold = _self_super_resolve(
        case.lr, target, SelfSRConfig(init="none", blend_prior="auto", **common)
    )
    assert cold["stages"][0]["prior_blended"] == []
    with pytest.raises(MedsrError, match="blend_prior"):
        SelfSRConfig(blend_prior="always")

