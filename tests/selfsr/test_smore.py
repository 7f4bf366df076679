"""Self-supervised SR (SMORE) end to end on a crop of a real brain with simulated thick slices."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.bench.selfsr import score, simulate_thick_slices
from medsr.degrade import SliceProfile
from medsr.errors import MedsrError
from medsr.interpolate import zoom_array
from medsr.selfsr import SelfSRConfig
from medsr.selfsr import self_super_resolve as _self_super_resolve
from medsr.volume import TargetGrid, Volume, zoom_grid


def self_super_resolve(volume: Volume, factors, config: SelfSRConfig):
    """The method on the grid of ``factors`` (the engine passes a TargetGrid)."""
    return _self_super_resolve(volume, TargetGrid.from_factors(volume, factors), config)


# small and single-threaded: the whole file runs in seconds
TINY = {"model_kwargs": {"channels": 16, "blocks": 2}, "patch": 32, "batch": 8, "threads": 1}


@pytest.fixture(scope="module")
def thick(brain_crop):
    return simulate_thick_slices(brain_crop, axis=2, factor=4.0)


@pytest.fixture(scope="module")
def result(thick):
    before = thick.lr.data.copy()
    out, info = self_super_resolve(thick.lr, thick.factors, SelfSRConfig(budget="250it", **TINY))
    np.testing.assert_array_equal(thick.lr.data, before)  # the input is never modified
    return out, info


def test_output_is_on_the_exact_target_grid(thick, result) -> None:
    out, _ = result
    shape, affine = zoom_grid(thick.lr.shape, thick.lr.affine, thick.factors)
    assert out.shape == tuple(shape) == thick.truth.shape
    np.testing.assert_allclose(out.affine, affine, atol=1e-9)
    for axis in range(3):  # the same voxel centres in world millimetres as the truth
        np.testing.assert_allclose(
            out.world_coordinates(axis), thick.truth.world_coordinates(axis), atol=1e-6
        )
    assert out.data.dtype == np.float32 and out.channels == 1


def test_beats_bspline_on_thick_slices(thick, result) -> None:
    out, info = result
    bspline = thick.lr.with_data(
        zoom_array(thick.lr.data, thick.factors, "bspline"), thick.truth.affine
    )
    ours, base = score(thick, out), score(thick, bspline)
    assert ours["psnr"] > base["psnr"] + 0.3, (ours, base)
    assert ours["ssim"] > base["ssim"], (ours, base)
    stage = info["stages"][0]
    assert stage["used"] and stage["iterations"] == 250
    assert stage["val_psnr_network"] > stage["val_psnr_interpolated"]
    assert info["plan"]["slice_axis"] == 2 and info["plan"]["factor"] == 4.0
    assert stage["curve"][-1][2] < stage["curve"][0][2]  # the L1 loss went down
    # off by default: the output is not corrected to re-acquire to the thick slices
    assert not info["back_projection"]["applied"]
    # x4: patches and inference crops on the slice period, pairs at its 4 lattice positions
    assert info["phase_align"] == {"on": True, "period": 4}
    assert info["pair_phases"] == {"phases": 4, "interleaved": False}


def test_non_integer_factor_and_other_axis(brain_crop) -> None:
    # 2.5 mm slices along X from a 1 mm crop whose X length (56) does not tile with 2.5
    lr_shape, _lr_aff = zoom_grid(brain_crop.shape, brain_crop.affine, (1 / 2.5, 1, 1))
    from medsr.degrade import ThickSlice

    lr = ThickSlice(0, 2.5, "gaussian", fwhm=2.5)(brain_crop)
    assert lr.shape == tuple(lr_shape)
    out, info = self_super_resolve(
        lr, (2.5, 1.0, 1.0), SelfSRConfig(budget="20it", orientations=1, **TINY)
    )
    shape, affine = zoom_grid(lr.shape, lr.affine, (2.5, 1.0, 1.0))
    assert out.shape == tuple(shape)
    np.testing.assert_allclose(out.affine, affine, atol=1e-9)
    assert info["plan"]["slice_axis"] == 0 and info["plan"]["factor"] == pytest.approx(2.5)
    assert np.isfinite(out.data).all()
    # no fixed phase for x2.5: nothing to align, one lattice
    assert info["phase_align"]["period"] == 1 and info["pair_phases"]["phases"] == 1


def test_slice_gap_runs_the_anti_aliasing_stage_when_asked(brain_crop) -> None:
    from medsr.degrade import ThickSlice

    lr = ThickSlice(2, 4.0, "rect", fwhm=2.0)(brain_crop)  # 2 mm slabs every 4 mm
    lr.meta.extra["slice_thickness"] = 2.0  # as the DICOM reader would say
    rect = SliceProfile("rect")
    out, info = self_super_resolve(
        lr, (1.0, 1.0, 4.0), SelfSRConfig(budget="30it", profile=rect, anti_alias="auto", **TINY)
    )
    assert info["anti_aliasing"] is True
    assert [s["stage"] for s in info["stages"]] == ["anti-aliasing", "super-resolution"]
    plan = info["plan"]
    assert plan["thickness_source"] == "header" and plan["gap_voxels"] == pytest.approx(2.0)
    assert out.shape == brain_crop.shape
    # off by default: one network trained on the aliased pairs
    _, info = self_super_resolve(
        lr, (1.0, 1.0, 4.0), SelfSRConfig(budget="5it", profile=rect, **TINY)
    )
    assert info["anti_aliasing"] is False and len(info["stages"]) == 1


def test_registry_network_can_be_chosen(thick) -> None:
    out, info = self_super_resolve(
        thick.lr,
        thick.factors,
        SelfSRConfig(
            arch="vdsr", preset="tiny", budget="3it", patch=24, batch=2, threads=1, orientations=1
        ),
    )
    assert info["arch"] == "vdsr" and out.shape == thick.truth.shape


def test_user_errors(brain_crop) -> None:
    with pytest.raises(MedsrError, match="unknown model"):
        self_super_resolve(
            brain_crop, (1.0, 1.0, 2.0), SelfSRConfig(arch="no-such-net", budget="2it")
        )
    with pytest.raises(MedsrError, match="factor"):
        self_super_resolve(brain_crop, (1.0, 1.0, 1.0), SelfSRConfig(budget="2it"))
    from medsr.infer.pipeline import upscale

    bad = brain_crop.with_data(np.where(brain_crop.data > 100, np.nan, brain_crop.data))
    with pytest.raises(MedsrError, match="NaN"):  # the engine checks the input once
        upscale(bad, TargetGrid.from_factors(bad, (1.0, 1.0, 2.0)), method="self")


def test_upscale_method_registry(thick) -> None:
    from medsr.infer.methods import MethodOptions, TargetGrid, default_method, get_method

    entry = get_method("self")
    assert entry.kind == "self-supervised" and default_method() == "self"
    target = TargetGrid.from_spacing(thick.lr, 1.0)  # isotropic 1 mm = the truth grid
    small = {"iterations": "5", "patch": "24", "batch": "2", "threads": "1", "orientations": "1"}
    out, info = entry.fn(thick.lr, target, MethodOptions(seed=1, extra=small))
    assert out.shape == target.shape and info["budget"] == "5it"
    record = {k: v for k, v in info["back_projection"].items() if k != "seconds"}
    assert record == {"applied": False, "reason": "off"}
    on, info_on = entry.fn(
        thick.lr, target, MethodOptions(seed=1, extra={**small, "back_project": "true"})
    )
    assert info_on["back_projection"]["applied"]
    assert info_on["back_projection"]["consistency_psnr_db"]["after"] > 60
    assert not np.array_equal(on.data, out.data)  # the same run but the correction
    with pytest.raises(MedsrError, match="does not know"):
        entry.fn(thick.lr, target, MethodOptions(extra={"warp": "9"}))
    assert isinstance(out, Volume)


def test_default_budget_is_reproducible(brain_crop) -> None:
    """Issue 13: the default budget counts iterations (no wall-clock limit), so two runs of the
    same scan and seed give the same voxels, with two torch threads asked for and whatever the
    machine's load (training runs on one thread: a load-dependent thread count changed the voxels);
    the sidecar records iterations, seconds and training's thread count."""
    from medsr.selfsr.config import DEFAULT_BUDGET

    assert DEFAULT_BUDGET.seconds is None and DEFAULT_BUDGET.iterations
    assert SelfSRConfig().budget == DEFAULT_BUDGET
    crop = brain_crop.with_data(np.ascontiguousarray(brain_crop.data[:, 8:40, 8:40, 8:40]))
    case = simulate_thick_slices(crop, axis=2, factor=4.0)
    options = dict(TINY, threads=2, patch=24, batch=4, budget="24it", seed=3)
    runs = [self_super_resolve(case.lr, case.factors, SelfSRConfig(**options)) for _ in range(2)]
    (a, info), (b, _) = runs
    np.testing.assert_array_equal(a.data, b.data)
    stage = info["stages"][0]
    assert stage["iterations"] == 24 and stage["seconds"] > 0 and info["budget"] == "24it"
    assert stage["train_threads"] == 1
    other, _ = self_super_resolve(case.lr, case.factors, SelfSRConfig(**dict(options, seed=4)))
    assert not np.array_equal(other.data, a.data)  # the seed matters: the test can fail


def test_matched_pair_axes_skip_a_coarse_in_plane_axis(brain_crop) -> None:
    """A volume thick along x (x4 simulated) whose z is 3x coarser than y, as a 2D acquisition
    with thick slices simulated along an in-plane axis: ``pair_axes="matched"`` degrades only y
    (the axis at the target spacing); isotropic in-plane grids keep both axes."""
    from medsr.selfsr.plan import plan_self_sr
    from medsr.selfsr.trainsets import pair_axes

    coarse_z = simulate_thick_slices(brain_crop, axis=2, factor=3.0).lr  # 1 x 1 x 3 mm
    case = simulate_thick_slices(coarse_z, axis=0, factor=4.0)
    plan = plan_self_sr(case.lr, case.factors)
    assert plan.slice_axis == 0
    assert pair_axes(case.lr, plan, "matched") == [1]
    assert pair_axes(case.lr, plan, "all") is None
    iso = simulate_thick_slices(brain_crop, axis=0, factor=4.0)
    assert pair_axes(iso.lr, plan_self_sr(iso.lr, iso.factors), "matched") is None
    config = SelfSRConfig(budget="30it", pair_axes="matched", **TINY)
    out, info = self_super_resolve(case.lr, case.factors, config)
    assert info["pair_axes"] == ["y"] and out.shape == case.truth.shape
    with pytest.raises(MedsrError):
        SelfSRConfig(pair_axes="z")


def test_patch_scaled_budget_counts_clipped_patches(brain_crop) -> None:
    """Planes narrower than the patch clip it; the iteration budget then grows (capped)."""
    from medsr.selfsr.config import Budget
    from medsr.selfsr.pairs import make_training_pairs
    from medsr.selfsr.smore import patch_scaled_budget

    hr = brain_crop.data[:, :, :, :24] / 255.0  # planes of 24 voxels along z (thick axis x)
    pairs = make_training_pairs(hr, 0, 4.0, SliceProfile(), 4.0)
    budget = Budget(iterations=1000)
    assert patch_scaled_budget(budget, 48, pairs, 4.0).iterations == 4000  # (48 / 24) ** 2
    assert patch_scaled_budget(budget, 48, pairs, 2.0).iterations == 2000  # the cap
    assert patch_scaled_budget(budget, 48, pairs, 1.0) == budget  # off
    assert patch_scaled_budget(budget, 24, pairs, 4.0) == budget  # patch not clipped
    timed = Budget(seconds=10.0)
    assert patch_scaled_budget(timed, 48, pairs, 4.0) == timed
    with pytest.raises(MedsrError):
        SelfSRConfig(patch_budget=0.5)


def test_inference_runs_on_one_thread_unless_asked(brain_crop, monkeypatch) -> None:
    # two torch threads made the inference 3-4x slower on a loaded 2-core machine; one is the
    # default (as training), an explicit `threads` is honoured, and torch's count is restored
    import torch

    from medsr.selfsr import members

    seen: list[int] = []
    original = members.restore_views

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(members, "restore_views", spy)
    case = simulate_thick_slices(brain_crop, axis=2, factor=4.0)
    before = torch.get_num_threads()
    for threads, expected in ((None, 1), (2, 2)):
        # the default network, warm-started: better than the interpolation from the first steps
        config = SelfSRConfig(
            budget="3it", patch=24, batch=2, threads=threads, ensemble=False, members=1
        )
        _, info = self_super_resolve(case.lr, case.factors, config)
        assert seen[-1] == expected and info["inference_threads"] == expected
        assert torch.get_num_threads() == before


def test_pairs_of_a_large_scan_are_interleaved(thick, monkeypatch) -> None:
    from medsr.selfsr import smore

    seen: list[bool] = []
    real = smore.make_training_pairs

    def spy(*args, **kwargs):
        seen.append(kwargs["interleave"])
        pairs = real(*args, **kwargs)
        seen.append(sum(a.shape[0] for a in pairs.inputs))
        return pairs

    monkeypatch.setattr(smore, "make_training_pairs", spy)
    _, small = self_super_resolve(thick.lr, thick.factors, SelfSRConfig(budget="2it", **TINY))
    monkeypatch.setattr(smore, "PAIR_BYTES_MAX", 1)  # every scan is "large" now
    _, large = self_super_resolve(thick.lr, thick.factors, SelfSRConfig(budget="2it", **TINY))
    assert small["pair_phases"] == {"phases": 4, "interleaved": False}
    assert large["pair_phases"] == {"phases": 4, "interleaved": True}
    assert seen[0] is False and seen[2] is True
    assert seen[1] == 4 * seen[3]  # interleaved: the planes of one lattice in all


def test_coarse_scale_pairs_on_an_anisotropic_in_plane_grid(brain_crop) -> None:
    """``pair_scales="auto"``: y at the target spacing, z 3x coarser -> the planes are also given
    thick slices along y at z's spacing (factor 3) and make more pairs; an isotropic in-plane
    grid makes none."""
    from medsr.selfsr.plan import plan_self_sr
    from medsr.selfsr.trainsets import coarse_scale

    coarse_z = simulate_thick_slices(brain_crop, axis=2, factor=3.0).lr  # 1 x 1 x 3 mm
    case = simulate_thick_slices(coarse_z, axis=0, factor=4.0)
    axis, factor = coarse_scale(case.lr, plan_self_sr(case.lr, case.factors))
    assert axis == 1 and factor == pytest.approx(3.0)
    iso = simulate_thick_slices(brain_crop, axis=0, factor=4.0)
    assert coarse_scale(iso.lr, plan_self_sr(iso.lr, iso.factors)) is None
    target = TargetGrid.from_factors(case.lr, case.factors)
    tiny = {"model_kwargs": {"channels": 8, "blocks": 1}, "patch": 24, "batch": 4,
            "budget": "3it", "members": 1, "threads": 1}
    out, info = _self_super_resolve(case.lr, target, SelfSRConfig(**tiny))
    plain, plain_info = _self_super_resolve(
        case.lr, target, SelfSRConfig(pair_scales="none", **tiny)
    )
    assert info["coarse_pairs"]["axis"] == 1 and plain_info["coarse_pairs"] is None
    more, base = info["stages"][0]["training_planes"], plain_info["stages"][0]["training_planes"]
    assert more > base  # the coarse planes were added to the scan's own
    assert out.shape == plain.shape == case.truth.shape
    with pytest.raises(MedsrError, match="pair_scales"):
        SelfSRConfig(pair_scales="all")
