"""Typed options of self-supervised SR and Deep Image Prior, and the compute budget.

A budget is a number of iterations, a number of seconds, or both (training stops at whichever
comes first; the learning-rate schedule follows the fraction of the budget spent, so a time budget
still ends with a small step size). The default is iterations only: reproducible results.
``"150s"``, ``"2.5m"``, ``"800it"`` and ``"800it,150s"`` are accepted on the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from medsr.degrade import SliceProfile
from medsr.errors import MedsrError
from medsr.runtime import PRECISIONS
from medsr.selfsr.blend import BLENDS
from medsr.selfsr.fusion import FUSIONS
from medsr.selfsr.pairs import PATCH_SHAPES
from medsr.selfsr.selftrain import SELF_TRAINING

__all__ = ["DEFAULT_BUDGET", "Budget", "SelfSRConfig", "parse_budget"]


@dataclass(frozen=True)
class Budget:
    """Stop after ``iterations`` steps or ``seconds`` of training, whichever comes first."""

    iterations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.iterations is None and self.seconds is None:
            raise MedsrError("a budget needs iterations or seconds, e.g. 150s or 800it")
        if self.iterations is not None and self.iterations < 1:
            raise MedsrError(f"the iteration budget must be >= 1, got {self.iterations}")
        if self.seconds is not None and not self.seconds > 0:
            raise MedsrError(f"the time budget must be > 0 s, got {self.seconds}")

    def fraction(self, iteration: int, elapsed: float) -> float:
        """How much of the budget is spent, in [0, 1]."""
        parts = []
        if self.iterations is not None:
            parts.append(iteration / self.iterations)
        if self.seconds is not None:
            parts.append(elapsed / self.seconds)
        return float(min(1.0, max(parts)))

    def __str__(self) -> str:
        parts = []
        if self.iterations is not None:
            parts.append(f"{self.iterations}it")
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}s")
        return ",".join(parts)


_PART = re.compile(
    r"^\s*([0-9]*\.?[0-9]+)\s*(it|iter|iters|iterations|s|sec|m|min)?\s*$", re.IGNORECASE
)


def parse_budget(value: Budget | str | float) -> Budget:
    """``"150s"``, ``"2.5m"``, ``"800it"``, ``"800it,150s"``; a bare int is iterations, a float
    (from Python) seconds."""
    if isinstance(value, Budget):
        return value
    if isinstance(value, bool):
        raise MedsrError(f"invalid budget {value!r}; write e.g. 150s or 800it")
    if isinstance(value, int):
        return Budget(iterations=value)
    if isinstance(value, float):
        return Budget(seconds=value)
    iterations: int | None = None
    seconds: float | None = None
    for part in str(value).split(","):
        m = _PART.match(part)
        if not m:
            raise MedsrError(f"invalid budget {value!r}; write e.g. 150s, 2m, 800it or 800it,150s")
        number, unit = float(m.group(1)), (m.group(2) or "it").lower()
        if unit.startswith("it"):
            if number != int(number):
                raise MedsrError(f"an iteration budget must be a whole number, got {part!r}")
            iterations = int(number)
        elif unit.startswith("m"):
            seconds = number * 60.0
        else:
            seconds = number
    return Budget(iterations=iterations, seconds=seconds)


#: Default training budget: a number of iterations, so that the same scan, seed and machine give
#: the same output voxels whatever the machine's load (a wall-clock limit made the result depend
#: on it). 2000 steps of batch 16 cost about as much as the former 150 s limit on an idle 2-core
#: machine (one training step of the built-in network: 0.073 CPU-s, about 14 steps/s); a time
#: limit stays available (``"150s"`` or ``"2000it,150s"``). See ``medsr demo`` in the README.
DEFAULT_BUDGET = Budget(iterations=2000)


@dataclass
class SelfSRConfig:
    """Options of :func:`medsr.selfsr.smore.self_super_resolve`.

    Attributes:
        profile: the slice profile (Gaussian with FWHM = thickness by default).
        arch: network: ``"selfsr"`` (built-in compact residual network) or any 2D registry name.
        preset: registry preset (e.g. "tiny"); None for the network's default.
        model_kwargs: extra constructor arguments of the network.
        budget: training budget (see :class:`Budget`).
        patch: training patch side (voxels), clipped to the smallest plane side. 64 with the
            default batch (the same pixels per step) gained +0.075 / +0.077 dB on chris_t1 with
            2.64 mm slices (two seeds) and +0.011 dB on chris_t1 x4 along z, but lost 0.046 dB on
            the held-out chris_PD (whose 54-slice planes then kept one sampling lattice, the
            ``pair_phases`` crops being tied to the patch): 48 stays the default
            (``docs/benchmarks/selfsr_heldout.md``).
        patch_shape: ``"square"`` (default: ``patch x patch``, clipped to the smallest plane
            side) or ``"area"`` (on planes thinner than ``patch``, e.g. the 512 x 24 planes of a
            24-slice scan, windows as long as needed to keep about ``patch**2`` pixels:
            :class:`medsr.selfsr.pairs.PatchSampler` ``shape``). Not in SMORE.
        batch: patches per step; None (default): about 16 x 48 x 48 pixels per step, at most 16
            windows (:func:`medsr.selfsr.train.step_batch`: 16 windows of 48 x 48 or smaller, 9 of
            64 x 64), so that a larger ``patch`` keeps the cost of a step.
        lr: peak Adam learning rate (cosine decay to 1 % over the budget, after a short warm-up).
        interpolation: how the thick slices are first brought onto the target grid (the network
            learns to restore this interpolation).
        orientations: through-plane orientations whose outputs are averaged (1 or 2).
        anti_alias: run the SAA anti-aliasing stage (Zhao et al. 2018, ref. [83]) before SR;
            ``"auto"``: only when the slices have a gap (thickness < spacing). Off by default:
            on chris_t1 with 2-voxel slabs every 4 voxels (a gap of 2), one network trained on
            the aliased pairs gained +2.77 dB over B-spline, the two SAA stages (half the budget
            each) +1.77 dB; SMORE's own SR network also trains on the aliased pairs.
        saa_order: how the two SAA networks are applied. ``"both"`` (default): each network on
            the planes of ``orientations`` orientations through the slice axis, averaged, one
            after the other. ``"papers"``: as Zhao et al. 2018 (ref. [83]) and SMORE (ref. [84])
            order it -- the anti-aliasing network on the planes of one orientation, then the SR
            network on the planes of the other (orthogonal) orientation.
        seed: random seed (None: not reproducible).
        device: "cpu" or "cuda".
        threads: torch CPU threads of the inference (None: one). Training runs on one thread
            (:func:`medsr.selfsr.train.train_restoration`); so does inference by default: on the
            shared 2-core machine at a load of about 4.5, the default ensemble + FBA inference of
            a 512 x 512 x 24 volume took 39.5 CPU s (79 s wall) on one thread and 129.7 CPU s
            (251 s wall) on two (``docs/benchmarks/selfsr_heldout.md``).
        infer_batch: slices per forward pass at inference.
        ensemble: geometric self-ensemble at inference (EDSR+, Lim et al. 2017, section 4.4;
            review section 5): every through-plane plane is restored as is and flipped along its
            rows, its columns and both, and the 4 outputs, flipped back, are averaged. Flips only
            (no transpose): the network restores a blur along the rows. 4x the inference cost
            (about 8 -> 31 CPU s for a 188 x 256 x 63 volume, against 146 s of training). On by
            default since 2026-12-01: with ``fusion="fba"`` it gained +0.14 / +0.19 dB on the two
            development copies of chris_t1 (``docs/benchmarks/selfsr_heldout.md``).
        fusion: how the restorations of the two orientations are fused: ``"fba"`` (default:
            Fourier burst accumulation of power ``fusion_power``, as SMORE does;
            :func:`medsr.selfsr.fusion.fourier_burst_accumulation`) or ``"mean"`` (the plain
            average, medsr's former default). FBA lost 0.00-0.03 dB against the mean without the
            ensemble and gained 0.05-0.07 dB with it on the development cases.
        fusion_power: FBA's power ``p`` (0 is the mean; larger keeps the sharper orientation
            per frequency).
        sampling: training patches: ``"uniform"`` over the foreground, or ``"residual"`` (half of
            each batch drawn in proportion to the interpolation's error |HR - interpolated LR|;
            :class:`medsr.selfsr.pairs.PatchSampler`).
        init: how the super-resolution network starts: ``"none"`` (random initialisation, as
            SMORE) or ``"prior"`` (warm start from the shipped pre-trained weights,
            :func:`medsr.selfsr.prior.load_prior`; at x4 the prior pre-trained on x4 alone,
            :func:`medsr.selfsr.prior.prior_folder`; only for the default ``selfsr`` network) or
            ``"auto"`` (default: ``prior`` for the default network, ``none`` for any other). On
            the development brain (x4 along z, seed 0) the warm start gained +4.39 dB over
            B-spline in 1000 iterations (cold: +3.90) and +4.58 dB in 2000 (cold: +4.43);
            ``docs/benchmarks/selfsr_heldout.md``.
        pair_axes: which in-plane axes the training planes are degraded along: ``"all"`` (both,
            as SMORE) or ``"matched"`` (only those whose spacing is within a factor
            :data:`medsr.selfsr.trainsets.MATCH_RATIO` of the slice axis's target spacing, both when
            none is: the pairs then look like the through-plane planes the network restores; the
            same as ``"all"`` when the in-plane spacing is isotropic and equals the target).
            ``"matched"`` lost 0.21 dB on chris_t1 made 2.64 mm thick along z, x4 along x
            (``docs/benchmarks/selfsr_heldout.md``): off by default.
        patch_budget: when the planes are smaller than ``patch`` (a scan with few slices: the
            patch is clipped to the smallest plane side ``p``), the iteration budget is multiplied
            by ``min(patch_budget, (patch / p)**2)`` (about the same training pixels as full
            patches; :func:`medsr.selfsr.smore.patch_scaled_budget`); 1 (default): no change.
            4x the iterations lost 0.17 dB on a 24-slice copy of chris_t1 (the network over-fits
            the pairs; ``docs/benchmarks/selfsr_heldout.md``).
        views: the through-plane planes restored and fused: ``"axes"`` (default: the planes of
            the two orientations, as SMORE) or ``"diagonals"`` (also the planes along the two
            in-plane voxel diagonals, cut exactly by a whole-voxel shear,
            :mod:`medsr.selfsr.views`: 2x the inference cost). Not in SMORE. With one network per
            case, FBA of the four against FBA of the two: +0.14 dB on t1-aniso-24, -0.05 dB on
            t1-aniso, +0.02 dB on the built-in brain (x4 along z): off by default
            (``docs/benchmarks/selfsr_heldout.md``).
        back_project: after the fusion, one step of back-projection onto the thick slices
            (:func:`medsr.selfsr.smore.back_project_slices`: the output then re-acquires to the
            scan with the assumed slice profile). Not in SMORE. Off by default: on slices
            simulated with the assumed profile it gained +0.02 to +0.10 dB on the five
            development cases and +0.02 / +0.13 dB on the held-out chris_PD / CT_pitch, but a real
            scan's profile is not known, and on a real PD crop it deepened the undershoot of
            the background (1st percentile 54 -> 50.0 with it, 50.6 without;
            ``docs/benchmarks/selfsr_heldout.md``).
        phase_align: when the slice factor is a whole number ``f``, the training patches start on
            rows that are multiples of ``f`` and the inference crops too
            (:class:`medsr.selfsr.pairs.PatchSampler` ``row_period``,
            :class:`medsr.infer.slicewise.ForegroundCrop` ``row_period``): the default network
            folds 4 x 4 pixels, so it is not shift-invariant, and it then always sees the slices
            at the same place in its fold, in training and at inference. Not in SMORE.
        pair_phases: with ``phase_align``'s whole-number factor ``f``, every in-plane plane is
            degraded at the ``f`` positions of the sampling lattice
            (:func:`medsr.selfsr.pairs.make_training_pairs` ``phases``): ``f`` times more distinct
            training pairs from the same planes. Not in SMORE. Together with ``phase_align`` and
            a prior pre-trained the same way, on by default since 2026-12-02: +0.21 to +0.65 dB
            on the four development crops, +0.09 / +0.01 dB on the held-out chris_PD / T1 DICOM
            (``docs/benchmarks/selfsr_heldout.md``).
        precision: the arithmetic of the network's training and inference
            (:func:`medsr.runtime.autocast`): ``"fp32"``, ``"bf16"`` (mixed precision: bfloat16
            convolutions, float32 weights, loss and optimiser) or ``"auto"`` (default: ``bf16`` on
            CPUs that multiply bfloat16 natively, AMX or AVX-512 BF16, else ``fp32``;
            :func:`medsr.runtime.resolve_precision`; a property of the machine, never of its
            load). Not in SMORE. On the three 24-slice development crops, two seeds each, bf16
            scored +3.80 / +2.91 / +4.21 dB over B-spline against +3.82 / +2.91 / +4.12 in fp32,
            with a training step 1.5-1.9x and the inference 2-4x faster on this machine's AMX
            (``docs/benchmarks/selfsr_heldout.md``).
        members: networks trained per scan, each with its own seed, their views averaged
            before the fusion (:mod:`medsr.selfsr.members`; not in SMORE). Default 2: on a
            machine with two cores they train side by side in about the time of one; on one
            core one after the other, with the same voxels. On the three 24-slice development
            crops two bf16 networks gained +0.02 / +0.01 / +0.06 dB over the mean of the two
            alone (``docs/benchmarks/selfsr_heldout.md``).
        member_processes: processes the members run in (None: one per CPU core this process
            may use, at most ``members``; 1: all in this process).
        blend_prior: ``"auto"``: on the through-plane planes that no training pair resembles
            (an anisotropic in-plane grid: the planes of the fine in-plane axis), the views are
            the mean of the fine-tuned networks' and of the pre-trained prior's estimates
            (:mod:`medsr.selfsr.blend`; only when the network warm-starts from the prior,
            ``init``; nothing changes on an isotropic in-plane grid). ``"none"`` (default): the
            fine-tuned networks alone. Not in SMORE. ``auto`` gained +0.04 / +0.15 / +0.41 /
            -0.01 dB on the four chris_t1 development crops, but on the held-out scans +0.02 dB
            (T1 DICOM), -0.30 dB (chris_PD) and -1.92 dB (CT_pitch): the prior, pre-trained on
            T1 brain and natural images, misleads on other contrasts
            (``docs/benchmarks/selfsr_heldout.md``).
        pair_scales: ``"auto"`` (default): when the in-plane grid is anisotropic (one in-plane
            axis at the target spacing, the other coarser by more than
            :data:`medsr.selfsr.trainsets.MATCH_RATIO`: no in-plane plane looks like the isotropic
            through-plane planes of the fine axis), more training pairs are made from the
            in-plane planes first given thick slices along the fine axis at the coarse axis's
            spacing (Gaussian, FWHM = spacing): isotropic planes at the coarse scale, whose
            structures at that scale stand in for the fine ones (the cross-scale self-similarity
            of ZSSR, Shocher et al., CVPR 2018; not with the anti-aliasing stage). ``"none"``: the
            pairs of SMORE only. Not in SMORE. +0.04 to +0.39 dB on the four chris_t1 development
            crops; +0.09 / +0.13 / +0.25 dB on the held-out chris_PD, T1 DICOM and CT_pitch
            (``docs/benchmarks/selfsr_heldout.md``).
        self_training: ``"auto"``: where ``pair_scales`` applies (an anisotropic in-plane
            grid; not with the anti-aliasing stage), a second pass: pairs made from the first
            pass's output, its planes through the fine in-plane axis degraded along that
            (measured) axis, train a second network per member, which restores those planes;
            the other view stays the first pass's (:mod:`medsr.selfsr.selftrain`). Twice the
            training (an iteration budget applies to each pass, a time limit is shared).
            ``"none"`` (default): one pass. Not in SMORE. ``auto`` gained +0.14 to +0.43 dB on
            the four 24-slice chris_t1 development cases but lost 0.07 / 0.08 dB on the
            held-out T1 DICOM series and chris_PD (``docs/benchmarks/selfsr_heldout.md``).
    """

    profile: SliceProfile = field(default_factory=SliceProfile)
    arch: str = "selfsr"
    preset: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    budget: Budget = DEFAULT_BUDGET
    patch: int = 48
    patch_shape: str = "square"
    batch: int | None = None
    lr: float = 1e-3
    interpolation: str = "bspline"
    orientations: int = 2
    anti_alias: bool | str = False
    saa_order: str = "both"
    seed: int | None = 0
    device: str = "cpu"
    threads: int | None = None
    infer_batch: int = 8
    ensemble: bool = True
    fusion: str = "fba"
    fusion_power: float = 8.0
    sampling: str = "uniform"
    init: str = "auto"
    pair_axes: str = "all"
    patch_budget: float = 1.0
    views: str = "axes"
    back_project: bool = False
    phase_align: bool = True
    pair_phases: bool = True
    precision: str = "auto"
    members: int = 2
    member_processes: int | None = None
    blend_prior: str = "none"
    pair_scales: str = "auto"
    self_training: str = "none"

    def __post_init__(self) -> None:
        self.budget = parse_budget(self.budget)
        if self.orientations not in (1, 2):
            raise MedsrError(f"orientations must be 1 or 2, got {self.orientations}")
        if self.patch < 8 or (self.batch is not None and self.batch < 1):
            raise MedsrError(f"patch must be >= 8 and batch >= 1, got {self.patch}, {self.batch}")
        if not self.lr > 0:
            raise MedsrError(f"the learning rate must be > 0, got {self.lr}")
        if self.anti_alias not in (True, False, "auto"):
            raise MedsrError(f"anti_alias must be true, false or auto, got {self.anti_alias!r}")
        if self.fusion not in FUSIONS:
            raise MedsrError(f"fusion must be {' or '.join(FUSIONS)}, got {self.fusion!r}")
        if not self.fusion_power >= 0:
            raise MedsrError(f"fusion_power must be >= 0, got {self.fusion_power}")
        if self.sampling not in ("uniform", "residual"):
            raise MedsrError(f"sampling must be uniform or residual, got {self.sampling!r}")
        if self.init not in ("none", "prior", "auto"):
            raise MedsrError(f"init must be none, prior or auto, got {self.init!r}")
        if not self.patch_budget >= 1:
            raise MedsrError(f"patch_budget must be >= 1, got {self.patch_budget}")
        if self.pair_axes not in ("all", "matched"):
            raise MedsrError(f"pair_axes must be all or matched, got {self.pair_axes!r}")
        if self.patch_shape not in PATCH_SHAPES:
            raise MedsrError(
                f"patch_shape must be {' or '.join(PATCH_SHAPES)}, got {self.patch_shape!r}"
            )
        if self.members < 1:
            raise MedsrError(f"members must be >= 1, got {self.members}")
        if self.member_processes is not None and self.member_processes < 1:
            raise MedsrError(f"member_processes must be >= 1, got {self.member_processes}")
        if self.precision not in PRECISIONS:
            raise MedsrError(
                f"precision must be {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.self_training not in SELF_TRAINING:
            raise MedsrError(
                f"self_training must be {' or '.join(SELF_TRAINING)}, got {self.self_training!r}"
            )
        if self.pair_scales not in ("auto", "none"):
            raise MedsrError(f"pair_scales must be auto or none, got {self.pair_scales!r}")
        if self.blend_prior not in BLENDS:
            raise MedsrError(
                f"blend_prior must be {' or '.join(BLENDS)}, got {self.blend_prior!r}"
            )
        if self.views not in ("axes", "diagonals"):
            raise MedsrError(f"views must be axes or diagonals, got {self.views!r}")
        if self.saa_order not in ("both", "papers"):
            raise MedsrError(f"saa_order must be both or papers, got {self.saa_order!r}")
