"""Self-supervised super-resolution of one thick-slice scan (SMORE / SAA), medsr's default method.

Review section 4.2.2; refs. [83] SAA (Zhao, Carass, Dewey, Woo, Oh, Calabresi, Reich, Sati, Pham,
Prince, "A deep learning based anti-aliasing self super-resolution algorithm for MRI", MICCAI 2018,
LNCS 11070:100-108) and [84] SMORE (Zhao, Dewey, Pham, Calabresi, Reich, Prince, "SMORE: a
self-supervised anti-aliasing and super-resolution algorithm for MRI using deep learning",
*IEEE TMI* 40(3):805-817, 2021, on-line 2020; first in *Magn. Reson. Imaging* 64:132-141, 2019,
"Applications of a deep learning method for anti-aliasing and super-resolution in MRI").

No external training data: a 2D acquisition has a high in-plane resolution and thick slices, so

1. the in-plane planes (resampled to the target in-plane spacing) are degraded along one
   in-plane axis with the slice profile and spacing of the acquisition, then interpolated back
   (:mod:`medsr.selfsr.pairs`): pairs ``interpolated LR -> HR`` that look like the through-plane
   planes of the interpolated scan; with a whole-number factor ``f`` the planes are degraded
   at the ``f`` positions of the sampling lattice (``pair_phases``; above
   :data:`PAIR_BYTES_MAX` of pairs plane ``i`` only at position ``i mod f``), and patches start
   on the period ``f`` (``phase_align``), as the inference crops do: the network's 4 x 4 fold
   then always sees the slices at the same place (not in SMORE);
2. a compact 2D network learns to restore them (:mod:`medsr.selfsr.train`), for a budget of
   iterations or seconds; by default it starts from weights pre-trained on other data
   (:mod:`medsr.selfsr.prior`, ``init="auto"``: a warm start, not in the papers, which train from
   a random initialisation; ``init="none"`` does that);
3. the scan is interpolated onto the target grid and the network is applied to its through-plane
   planes in two orthogonal orientations (each plane with its flips, averaged: a self-ensemble;
   :mod:`medsr.selfsr.apply`), fused by Fourier burst accumulation as SMORE does
   (:mod:`medsr.selfsr.fusion`); by default two networks are trained side by side, one per CPU
   core, and their views averaged before the fusion (:mod:`medsr.selfsr.members`; not in SMORE),
   in bfloat16 on CPUs that have it (``precision``);
4. optionally (``self_training``, off by default; not in the papers), on an anisotropic in-plane
   grid a second pass trains on pairs made from the first pass's output and restores the planes of
   the fine in-plane axis (:mod:`medsr.selfsr.selftrain`);
5. optionally (``back_project``, off by default; not in the papers), the result is
   back-projected onto the thick slices (:func:`back_project_slices`): re-acquired with the
   assumed slice profile, it gives the scan back.

Only the thick axis is super-resolved: when the target grid is also finer than the in-plane
spacing, the in-plane axes are interpolated (step 1 resamples them first) and the network learns
from those interpolated planes, so it cannot add in-plane detail.

With a slice gap (thickness < spacing) the samples alias; the optional SAA stage first trains an
anti-aliasing network (aliased interpolated planes -> planes only blurred by the profile) and then
an SR network (blurred -> sharp), applied one after the other (opt-in, see
:class:`~medsr.selfsr.config.SelfSRConfig`: the single network trained on aliased pairs did better
in our budget). ``saa_order="papers"`` applies them as the papers order it: anti-aliasing on the
through-plane planes of one orientation, then SR on the planes of the other orientation;
``"both"`` (default) runs each network on both orientations (averaged).

Measured results (chris_t1, several acquisitions) and the commands: ``docs/benchmarks/selfsr.md``.
A wrong slice profile costs: give ``profile``/``slice_thickness`` when they are known.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from medsr.degrade import SliceProfile, thick_slice_operator
from medsr.interpolate import zoom_array
from medsr.normalise import robust_range
from medsr.runtime import resolve_precision, torch_seed, torch_threads
from medsr.selfsr.apply import fuse_views, plane_names
from medsr.selfsr.blend import blend_prior_views, unmatched_orientations
from medsr.selfsr.config import Budget, SelfSRConfig
from medsr.selfsr.members import MemberTask, average_views, fit_members
from medsr.selfsr.network import build_network
from medsr.selfsr.pairs import TrainingPairs, make_training_pairs, slice_period
from medsr.selfsr.plan import SelfSRPlan, plan_self_sr
from medsr.selfsr.prior import load_prior, warm_starts
from medsr.selfsr.selftrain import combine_views, fine_orientation, pseudo_pairs
from medsr.selfsr.trainsets import (
    MATCH_RATIO,
    blur_pairs,
    coarse_scale,
    pair_axes,
    spacing_ratios,
)
from medsr.volume import TargetGrid, Volume

__all__ = ["back_project_slices", "self_super_resolve"]

Progress = Callable[[float, str], None]


#: training pairs at every lattice position (``pair_phases``) larger than this are interleaved
#: (:func:`medsr.selfsr.pairs.make_training_pairs`): 1 GiB, about a 512 x 512 x 64 scan at x4
PAIR_BYTES_MAX = 1 << 30

#: the name of the second pass's stage in the sidecar (:mod:`medsr.selfsr.selftrain`)
SELF_TRAINING = "self-training"


def _blend_orientations(
    volume: Volume,
    plan: SelfSRPlan,
    config: SelfSRConfig,
    axes: list[int] | None,
    stage: str,
    papers_order: bool,
) -> list[int]:
    """The orientations whose views get the prior's estimate (:mod:`medsr.selfsr.blend`): with
    ``blend_prior="auto"``, in the super-resolution stage of a network that warm-starts from the
    prior, those no training pair resembles among the restored ones."""
    if (
        config.blend_prior != "auto"
        or stage != "super-resolution"
        or papers_order
        or not warm_starts(config.init, config.arch, config.preset, config.model_kwargs)
    ):
        return []
    unmatched = unmatched_orientations(
        spacing_ratios(volume, plan), plan.slice_axis, axes, MATCH_RATIO
    )
    return [o for o in unmatched if o < config.orientations]


def _prior_network(config: SelfSRConfig, factor: float) -> Any:
    """The network as pre-trained (:func:`medsr.selfsr.prior.load_prior`), not fine-tuned."""
    net = build_network(config.arch, config.preset, **config.model_kwargs)
    load_prior(
        net,
        arch=config.arch,
        preset=config.preset,
        model_kwargs=config.model_kwargs,
        factor=factor,
    )
    return net


def self_super_resolve(
    volume: Volume,
    target: TargetGrid,
    config: SelfSRConfig | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[Volume, dict[str, Any]]:
    """Super-resolve the thick-slice axis of ``volume`` onto ``target``.

    Args:
        volume: the scan (not modified, finite: the reader checked it). Multi-channel volumes share
            one network.
        target: the output grid (:class:`medsr.volume.TargetGrid`, from ``zoom_grid``); the thick
            axis is the one up-sampled most.
        config: options (:class:`SelfSRConfig`).
        progress: ``progress(fraction, message)`` callback.

    Returns:
        ``(volume on the target grid, info)`` where ``info`` holds the plan, the training curve,
        the held-out check on training pairs and the timings (JSON-serialisable).

    Raises:
        MedsrError: no thick axis, a 2D image, or an unusable network choice.
    """
    config = config or SelfSRConfig()
    t0 = time.perf_counter()
    plan = plan_self_sr(volume, target.factors, config.profile)
    target_shape = tuple(int(n) for n in target.shape)
    report = progress or (lambda f, m: None)
    rng = np.random.default_rng(config.seed)
    precision = resolve_precision(config.precision, config.device)
    with torch_seed(config.seed), torch_threads(config.threads) as threads_used:
        data = np.asarray(volume.data, dtype=np.float32)
        low, span = robust_range(data)
        normed = (data - low) / span
        # 1. the in-plane axes onto the target spacing (usually a no-op), slices untouched
        in_plane_factors = [1.0 if a == plan.slice_axis else plan.factors[a] for a in range(3)]
        hr = (
            normed
            if all(abs(f - 1) < 1e-9 for f in in_plane_factors)
            else zoom_array(normed, tuple(in_plane_factors), config.interpolation)
        )
        report(0.01, "making training pairs")
        axes = pair_axes(volume, plan, config.pair_axes)
        lattice = slice_period(plan.factor)  # 1: a factor with no fixed slice phase
        phases = lattice if config.pair_phases else 1
        # every plane at every lattice position, unless the pairs (2 axes x input and target)
        # would pass PAIR_BYTES_MAX: then plane i at position i mod phases (one lattice's memory)
        coarse = coarse_scale(volume, plan) if config.pair_scales == "auto" else None
        pair_bytes = hr.nbytes * (1.0 if coarse is None else 1.0 + 1.0 / coarse[1])
        interleave = phases > 1 and 4 * pair_bytes * phases > PAIR_BYTES_MAX
        use_saa = config.anti_alias is True or (config.anti_alias == "auto" and plan.has_gap)
        coarse_info: dict[str, float] | None = None
        if use_saa:
            stages = list(
                zip(
                    ("anti-aliasing", "super-resolution"),
                    blur_pairs(hr, plan, config.interpolation, axes),
                    strict=True,
                )
            )
        else:
            sources = [hr]
            coarse_info = None if coarse is None else {"axis": coarse[0], "factor": coarse[1]}
            if coarse is not None:  # the in-plane planes made isotropic at the coarse spacing
                axis, ratio = coarse
                sources.append(
                    thick_slice_operator(hr.shape[1:], axis, ratio, SliceProfile(), ratio).apply(hr)
                )
            per_source = [
                make_training_pairs(
                    source,
                    plan.slice_axis,
                    plan.factor,
                    plan.profile,
                    plan.fwhm_voxels,
                    interpolation=config.interpolation,
                    axes=axes,
                    phases=phases,
                    min_length=config.patch,
                    interleave=interleave,
                )
                for source in sources
            ]
            stages = [
                (
                    "super-resolution",
                    TrainingPairs(
                        [a for p in per_source for a in p.inputs],
                        [a for p in per_source for a in p.targets],
                    ),
                )
            ]
        t_pairs = time.perf_counter() - t0
        # 2. the thick axis onto the target grid: what the network restores
        slice_zoom = [1.0, 1.0, 1.0]
        slice_zoom[plan.slice_axis] = plan.factor
        current = zoom_array(hr, tuple(slice_zoom), config.interpolation)
        if current.shape[1:] != tuple(target_shape):
            raise RuntimeError(f"interpolated grid {current.shape[1:]} != target {target_shape}")
        period = lattice if config.phase_align else 1
        budget = config.budget
        per_stage = _split_budget(budget, len(stages))
        # a second pass on the first one's output (medsr.selfsr.selftrain): pairs made later
        fine_axis = coarse[0] if coarse is not None and not use_saa else None
        if fine_axis is not None and config.self_training == "auto":
            stages.append((SELF_TRAINING, TrainingPairs([], [])))
            per_stage = _pass_budget(budget, len(stages))
        train_share, info_stages = 0.8, []
        papers_order = use_saa and config.saa_order == "papers"
        interpolated, first_views = current, None
        for k, (name, pairs) in enumerate(stages):
            restore = current
            if name == SELF_TRAINING:
                if first_views is None:  # the first pass restored nothing to learn from
                    info_stages.append({"stage": name, "used": False, "reason": "no first pass"})
                    continue
                report(0.02 + train_share * k / len(stages), "making self-training pairs")
                pairs = pseudo_pairs(
                    current,
                    plan.slice_axis,
                    int(fine_axis),
                    plan.factor,
                    plan.profile,
                    plan.fwhm_voxels,
                    interpolation=config.interpolation,
                    phases=phases,
                    min_length=config.patch,
                )
                restore = interpolated
            lo = k / len(stages)
            hi = (k + 1) / len(stages)

            def stage_progress(f: float, m: str, lo: float = lo, hi: float = hi) -> None:
                report(0.02 + train_share * (lo + (hi - lo) * f), m)

            t_stage = time.perf_counter()
            task = MemberTask(
                pairs,
                restore,
                plan.slice_axis,
                plan.factor,
                config,
                patch_scaled_budget(per_stage, config.patch, pairs, config.patch_budget),
                stage=name,
                precision=precision,
                period=period,
                orientation=k if papers_order else None,
                orientations=1 if papers_order else config.orientations,
            )
            results = fit_members(
                task,
                config.members,
                config.seed,
                rng,
                stage=k,
                processes=config.member_processes,
                progress=stage_progress,
                apply_progress=lambda f, m, k=k: report(
                    0.02 + train_share + (1 - train_share - 0.02) * (k + f) / len(stages), m
                ),
            )
            views = average_views(results)
            blended = _blend_orientations(volume, plan, config, axes, name, papers_order)
            if views is not None and blended:
                views = blend_prior_views(
                    views,
                    _prior_network(config, plan.factor),
                    current,
                    plan.slice_axis,
                    blended,
                    config,
                    precision=precision,
                    row_period=period,
                )
            used = views is not None  # the pass's own networks beat the interpolation
            if name == SELF_TRAINING and first_views is not None:
                views = (
                    first_views
                    if views is None
                    else combine_views(
                        first_views, views, fine_orientation(plan.slice_axis, int(fine_axis))
                    )
                )
            elif name == "super-resolution":
                first_views = views
            if views is not None:
                current = fuse_views(views, config.fusion, config.fusion_power)
            info_stages.append(
                {
                    "stage": name,
                    **results[0].record,
                    "used": used,
                    "training_planes": pairs.n_planes,
                    "planes": plane_names(
                        plan.slice_axis, k if papers_order else None, config.orientations
                    ),
                    "members": [r.record for r in results] if len(results) > 1 else None,
                    "prior_blended": [plane_names(plan.slice_axis, o, 1)[0] for o in blended]
                    if views is not None
                    else [],
                    "stage_seconds": round(time.perf_counter() - t_stage, 2),
                }
            )
        t_bp = time.perf_counter()
        consistency = (
            back_project_slices(current, normed, volume, target, plan)
            if config.back_project and any(s["used"] for s in info_stages)
            else {"applied": False, "reason": "off" if not config.back_project else "no network"}
        )
        consistency["seconds"] = round(time.perf_counter() - t_bp, 2)
        out = current * span + low
    report(1.0, "done")
    info: dict[str, Any] = {
        "method": "self",
        "reference": "SMORE (Zhao et al., IEEE TMI 2021, ref. [84]) / SAA (Zhao et al., MICCAI "
        "2018, ref. [83])",
        "plan": plan.as_dict(),
        "arch": config.arch,
        "preset": config.preset,
        "budget": str(budget),
        "patch": config.patch,
        "batch": config.batch,
        "interpolation": config.interpolation,
        "orientations": config.orientations,
        "anti_aliasing": use_saa,
        "saa_order": config.saa_order if use_saa else None,
        "ensemble": config.ensemble,
        "fusion": config.fusion,
        "fusion_power": config.fusion_power,
        "views": config.views,
        "sampling": config.sampling,
        "init": config.init,
        "blend_prior": config.blend_prior,
        "pair_scales": config.pair_scales,
        "self_training": config.self_training,
        "coarse_pairs": coarse_info,
        "pair_axes": "both" if axes is None else ["xyz"[a] for a in axes],
        "intensity_normalisation": {"low": low, "span": span},
        "stages": info_stages,
        "back_projection": consistency,
        "phase_align": {"on": config.phase_align, "period": period},
        "pair_phases": {"phases": phases, "interleaved": interleave},
        "seconds": {"pairs": round(t_pairs, 2), "total": round(time.perf_counter() - t0, 2)},
        "torch_threads": int(threads_used),
        "precision": {"asked": config.precision, "used": precision},
        "members": config.members,
        "inference_threads": int(config.threads or 1),
    }
    if not all(s["used"] for s in info_stages):
        info["warning"] = (
            "a network did not beat the interpolation on held-out training pairs; "
            "its stage was skipped (try a larger budget)"
        )
    return volume.with_data(out.astype(np.float32, copy=False), target.affine.copy()), info


def back_project_slices(
    restored: np.ndarray,
    observed: np.ndarray,
    volume: Volume,
    target: TargetGrid,
    plan: SelfSRPlan,
) -> dict[str, Any]:
    """Make ``restored`` (``(C, *target.shape)``, in place) agree with the thick slices it came
    from: one step of iterative back-projection (Irani & Peleg 1991; the data consistency of
    review section 5), ``f += B (g - A f)`` with ``B = A^T (A A^T)^-1``.

    ``A`` is the forward model of review eq. 3 that self-SR assumes: the plan's slice profile
    along the slice axis (:func:`medsr.degrade.acquisition_operator`), ``g`` the normalised scan
    (``observed``). With the exact pseudo-inverse one step gives ``A f = g`` (up to rounding), and
    ``f - f_true`` becomes ``(I - B A)(f - f_true)``, an orthogonal projection: when the thick
    slices are ``A f_true`` the error can only shrink. Not in SMORE. On the five development
    cases of ``docs/benchmarks/selfsr_heldout.md`` it gained +0.02 to +0.10 dB (more iterations:
    no further change). Only the slice axis is corrected: when the target also refines the
    in-plane axes (interpolated, not restored) the step is skipped.

    Returns the record of the sidecar: whether it was applied and the data-consistency PSNR (dB,
    range of ``g``) before and after.
    """
    from medsr.degrade import acquisition_operator
    from medsr.infer.consistency import enforce_consistency

    if any(
        abs(float(f) - 1.0) > 1e-9 for a, f in enumerate(plan.factors) if a != plan.slice_axis
    ):
        return {"applied": False, "reason": "the in-plane axes are resampled too"}
    op = acquisition_operator(volume, target, plan.profile, slice_axes=(plan.slice_axis,))
    before, after = enforce_consistency(observed, restored, op, iterations=1)
    return {
        "applied": True,
        "method": "one step of iterative back-projection (Irani & Peleg 1991), A^T (A A^T)^-1",
        "consistency_psnr_db": {"before": round(before, 2), "after": round(after, 2)},
    }


def patch_scaled_budget(
    budget: Budget, patch: int, pairs: TrainingPairs, max_scale: float
) -> Budget:
    """More iterations when the planes clip the training patch (a budget fixed by the volume's
    size): the :class:`~medsr.selfsr.pairs.PatchSampler` clips the patch side to the smallest
    plane side ``p``, so a step costs about ``(p / patch)**2`` of a full one; the iteration budget
    is multiplied by ``min(max_scale, (patch / p)**2)`` (a time budget is left as it is)."""
    side = min([patch] + [min(a.shape[1], a.shape[2]) for a in pairs.inputs])
    if budget.iterations is None or side >= patch or max_scale <= 1:
        return budget
    scale = min(float(max_scale), (patch / side) ** 2)
    return Budget(iterations=round(budget.iterations * scale), seconds=budget.seconds)


def _pass_budget(budget: Budget, passes: int) -> Budget:
    """Each pass of self-training (:mod:`medsr.selfsr.selftrain`) gets the iterations of the
    budget (a budget fixed by the volume, as the first pass's) and its share of a time limit."""
    return Budget(
        iterations=budget.iterations,
        seconds=None if budget.seconds is None else budget.seconds / passes,
    )


def _split_budget(budget: Budget, parts: int) -> Budget:
    if parts == 1:
        return budget
    return Budget(
        iterations=None if budget.iterations is None else max(1, budget.iterations // parts),
        seconds=None if budget.seconds is None else budget.seconds / parts,
    )
