"""Self-training on the first pass's output (``medsr.selfsr.selftrain``): the pseudo-pairs are the
planes through the fine axis degraded along that (measured) axis only, the fine axis's view comes
from the second pass, and the pass runs only on anisotropic in-plane grids."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.bench.selfsr import score, simulate_thick_slices
from medsr.degrade import SliceProfile
from medsr.errors import MedsrError
from medsr.interpolate import zoom_array
from medsr.selfsr import SelfSRConfig, self_super_resolve
from medsr.selfsr.apply import plane_names
from medsr.selfsr.selftrain import combine_views, fine_orientation, pseudo_pairs
from medsr.volume import TargetGrid

TINY = {"model_kwargs": {"channels": 16, "blocks": 2}, "patch": 24, "batch": 8, "threads": 1}


def test_pseudo_pairs_degrade_the_fine_axis_only() -> None:
    rng = np.random.default_rng(0)
    # slice axis 0 (restored), fine axis 1, stacking axis 2
    along_slice = np.broadcast_to(rng.random((32, 1, 1)), (32, 40, 6))[None].astype(np.float32)
    along_fine = np.broadcast_to(rng.random((1, 40, 1)), (32, 40, 6))[None].astype(np.float32)
    kw = {"phases": 1, "min_length": 0}
    flat = pseudo_pairs(along_slice, 0, 1, 4.0, SliceProfile(), 4.0, **kw)
    sharp = pseudo_pairs(along_fine, 0, 1, 4.0, SliceProfile(), 4.0, **kw)
    for pairs in (flat, sharp):
        assert len(pairs.inputs) == 1
        assert pairs.targets[0].shape == (6, 40, 32)  # one plane per z, rows = the fine axis
    # a volume that varies only along the slice axis is left as it is (that axis is not
    # degraded); one that varies along the fine axis is blurred along it
    np.testing.assert_allclose(flat.inputs[0], flat.targets[0], atol=1e-5)
    assert np.abs(sharp.inputs[0] - sharp.targets[0]).mean() > 0.05
    np.testing.assert_allclose(sharp.targets[0][0], along_fine[0, :, :, 0].T)


def test_the_fine_view_comes_from_the_second_pass() -> None:
    assert plane_names(0, fine_orientation(0, 1), 1) == ["x-y"]
    assert plane_names(2, fine_orientation(2, 1), 1) == ["y-z"]
    assert plane_names(1, fine_orientation(1, 0), 1) == ["x-y"]
    first, second = [np.zeros(2), np.ones(2)], [np.full(2, 5.0), np.full(2, 6.0)]
    combined = combine_views(first, second, 1)
    assert combined[0] is first[0] and combined[1] is second[1]


@pytest.fixture(scope="module")
def aniso_case(brain_crop):
    coarse_z = simulate_thick_slices(brain_crop, axis=2, factor=3.0).lr  # 1 x 1 x 3 mm
    return simulate_thick_slices(coarse_z, axis=0, factor=4.0)  # then x4 along x


def test_a_second_pass_on_an_anisotropic_in_plane_grid(aniso_case) -> None:
    target = TargetGrid.from_factors(aniso_case.lr, aniso_case.factors)
    runs = {
        mode: self_super_resolve(
            aniso_case.lr,
            target,
            SelfSRConfig(budget="150it", members=1, self_training=mode, **TINY),
        )
        for mode in ("auto", "none")
    }
    (two, info), (one, one_info) = runs["auto"], runs["none"]
    assert [s["stage"] for s in info["stages"]] == ["super-resolution", "self-training"]
    assert [s["stage"] for s in one_info["stages"]] == ["super-resolution"]
    second = info["stages"][1]
    assert second["used"] and second["iterations"] == 150  # each pass gets the iterations
    # the pseudo-pairs: one x-y plane per z slice (interleaved lattice positions)
    assert second["training_planes"] == aniso_case.lr.shape[2]
    assert info["self_training"] == "auto"
    # the first pass is the same training in both runs; the second changes the x-y view only
    assert info["stages"][0]["iterations"] == one_info["stages"][0]["iterations"]
    assert not np.array_equal(two.data, one.data)
    bspline = aniso_case.lr.with_data(
        zoom_array(aniso_case.lr.data, aniso_case.factors, "bspline"), aniso_case.truth.affine
    )
    assert score(aniso_case, two)["psnr"] > score(aniso_case, bspline)["psnr"] + 0.3
    assert two.shape == one.shape == aniso_case.truth.shape


def test_no_second_pass_on_an_isotropic_in_plane_grid(brain_crop) -> None:
    case = simulate_thick_slices(brain_crop, axis=0, factor=4.0)
    target = TargetGrid.from_factors(case.lr, case.factors)
    _, info = self_super_resolve(
        case.lr, target, SelfSRConfig(budget="3it", members=1, self_training="auto", **TINY)
    )
    assert [s["stage"] for s in info["stages"]] == ["super-resolution"]
    assert SelfSRConfig().self_training == "none"  # opt-in: it lost on the held-out scans
    with pytest.raises(MedsrError, match="self_training"):
        SelfSRConfig(self_training="always")
