"""Does an HR second contrast help SR? Single- vs multi-contrast SR on real same-subject scans.

The experiment of Zeng et al., "Simultaneous single- and multi-contrast super-resolution for brain
MRI images based on a convolutional neural network", Comput. Biol. Med. 99:133-141 (2018; review
section 4, ref. [78]), on the data medsr has: ``chris_PD`` (proton density, 0.86 mm in plane,
2.4 mm slices) is the target contrast and ``chris_t1`` (T1, 0.88 mm isotropic, same subject) the
reference, put on the PD grid through both affines (:func:`medsr.interpolate.resample_onto`; the
scanner's headers are the only registration).

Protocol: the PD slices are the truth; a further in-plane degradation (MATLAB bicubic x2, the
recipe's ``data.degradation``) makes the LR input. The PD volume is split along its slice axis:
training slices ``[0, split)`` and held-out test slices ``[split + gap, end)`` (the gap keeps
neighbouring slices out of the test). ``configs/multicontrast.yaml`` (profile ``cpu``) trains the
same ``multicontrast_sr`` network twice with the same steps and seed: single-contrast (no
reference: the SSR sub-network alone, as the paper's SSR) and multi-contrast (SSR + MSR with the
T1). Both run through the engine (:func:`medsr.infer.pipeline.upscale`; the multi-contrast one with
``UpscaleConfig.reference``) on the held-out LR slices and are scored against the PD truth inside
the head mask (:func:`medsr.bench.selfsr.head_mask`), beside cubic interpolation. With
``register`` a third network trains with the T1 translated onto the PD training slices by
:func:`register_translation` (mutual information; the headers alone are about 1 cm apart).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.volume import TargetGrid, Volume, crop_affine

__all__ = ["MultiContrastSettings", "held_out_case", "run_multicontrast"]


@dataclass
class MultiContrastSettings:
    """The experiment's inputs and budget (``steps`` per network, same for both)."""

    pd: Path
    t1: Path
    out: Path
    config: Path = Path("configs/multicontrast.yaml")
    profile: str = "cpu"
    steps: int = 200
    split: int = 34
    gap: int = 4
    threads: int = 1
    seed: int = 0
    #: also train with the T1 aligned by :func:`register_translation` (the headers alone leave
    #: these two scans about a centimetre apart).
    register: bool = True


@dataclass
class HeldOut:
    """The test slices: PD truth, its LR input, the T1 on the PD grid, the mask."""

    truth: Volume
    lr: Volume
    reference: Volume
    target: TargetGrid
    mask: np.ndarray


def _slab(volume: Volume, z0: int, z1: int, x_even: bool = True) -> Volume:
    nx = volume.shape[0] - (volume.shape[0] % 2 if x_even else 0)
    ny = volume.shape[1] - volume.shape[1] % 2
    return volume.with_data(
        np.ascontiguousarray(volume.data[:, :nx, :ny, z0:z1], dtype=np.float32),
        affine=crop_affine(volume.affine, (0, 0, z0)),
    )


def _shifted(affine: np.ndarray, shift: np.ndarray) -> np.ndarray:
    out = np.array(affine, dtype=np.float64)
    out[:3, 3] += shift
    return out


def held_out_case(pd: Volume, t1: Volume, z0: int, z1: int, degradation: str) -> HeldOut:
    """PD slices ``[z0, z1)`` (even in-plane size), their LR by the recipe's in-plane
    ``degradation`` (x2), the T1 resampled onto the PD slab and the head mask of the truth."""
    from medsr.bench.selfsr import head_mask
    from medsr.interpolate import resample_onto
    from medsr.train.degradation import make_degradation

    truth = _slab(pd, z0, z1)
    op = make_degradation(degradation, (2.0, 2.0, 1.0))
    if op is None:
        raise MedsrError("the multi-contrast experiment needs a degradation, not 'none'")
    lr = op(truth)
    target = TargetGrid.from_factors(lr, (2, 2, 1))
    if target.shape != truth.shape or not np.allclose(target.affine, truth.affine, atol=1e-6):
        raise AssertionError("the x2 grid of the LR slab is not the truth grid")
    reference = resample_onto(t1, truth.shape, truth.affine)
    return HeldOut(truth, lr, reference, target, head_mask(truth.data[0]))


def mutual_information(a: np.ndarray, b: np.ndarray, bins: int = 32) -> float:
    """Mutual information (nats) of the joint intensity histogram of two equal-size samples."""
    h, _, _ = np.histogram2d(np.ravel(a), np.ravel(b), bins)
    h = h / max(h.sum(), 1.0)
    outer = h.sum(1, keepdims=True) @ h.sum(0, keepdims=True)
    nz = h > 0
    return float((h[nz] * np.log(h[nz] / outer[nz])).sum())


def register_translation(
    moving: Volume, fixed: Volume, *, steps: Sequence[float] = (8.0, 4.0, 2.0, 1.0)
) -> tuple[np.ndarray, float]:
    """The world translation (mm) of ``moving`` maximising its mutual information with ``fixed``
    (Viola & Wells / Maes et al. 1997) inside ``fixed``'s foreground: a pattern search over the
    three axes with the given step sizes, linear resampling on every second in-plane voxel of
    ``fixed``. Returns ``(shift, mutual information)``; apply the shift to ``moving.affine[:3,
    3]`` (the samples are not touched). Translation only: a rigid rotation is not searched."""
    from medsr.interpolate import resample_onto

    coarse = fixed.affine @ np.diag([2.0, 2.0, 1.0, 1.0])
    target = fixed.data[0, ::2, ::2, :]
    mask = target > np.percentile(target, 40)

    def score(shift: np.ndarray) -> float:
        affine = moving.affine.copy()
        affine[:3, 3] += shift
        r = resample_onto(Volume(moving.data[:1], affine), target.shape, coarse, order=1)
        return mutual_information(target[mask], r.data[0][mask])

    shift, best = np.zeros(3), score(np.zeros(3))
    for step in steps:
        improved = True
        while improved:
            improved = False
            for axis in range(3):
                for sign in (1.0, -1.0):
                    trial = shift.copy()
                    trial[axis] += sign * step
                    value = score(trial)
                    if value > best + 1e-6:
                        shift, best, improved = trial, value, True
    return shift, best


def _score(case: HeldOut, output: Volume) -> dict[str, float]:
    from medsr.metrics import psnr, ssim

    t, o = case.truth.data[0], output.data[0]
    r = float(t.max() - t.min())
    return {
        "psnr": round(psnr(t, o, data_range=r, mask=case.mask), 3),
        "ssim": round(ssim(t, o, data_range=r, mask=case.mask), 4),
    }


def run_multicontrast(
    settings: MultiContrastSettings, *, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train both networks, score them on the held-out slices; returns the rows and the verdict
    (``reference_gain_db``: multi minus single PSNR)."""
    from medsr.infer.pipeline import UpscaleConfig, upscale
    from medsr.infer.predictor import Predictor
    from medsr.io import read, write
    from medsr.runtime import torch_threads
    from medsr.train import load_config, train

    s = settings
    s.out.mkdir(parents=True, exist_ok=True)
    pd, t1 = read(s.pd), read(s.t1)
    nz = pd.shape[2]
    if not 0 < s.split < s.split + s.gap < nz:
        raise MedsrError(f"split {s.split} + gap {s.gap} must leave test slices of {nz}")
    train_pd = _slab(pd, 0, s.split, x_even=False)
    data = s.out / "data"
    data.mkdir(exist_ok=True)
    write(train_pd, data / "pd_train.nii.gz", dtype="float32", overwrite=True)
    cfg0 = load_config(s.config, [f"profile={s.profile}"])
    case = held_out_case(pd, t1, s.split + s.gap, nz, cfg0.data.degradation)
    references = {"multi": (s.t1, case.reference)}
    registration: dict[str, Any] = {}
    if s.register:  # the training slices alone decide the alignment (never the test slices)
        shift, mi = register_translation(t1, train_pd)
        moved = t1.with_data(t1.data, affine=_shifted(t1.affine, shift))
        write(moved, data / "t1_registered.nii.gz", dtype="float32", overwrite=True)
        registration = {"shift_mm": [round(float(v), 2) for v in shift], "mutual_information": mi}
        log(f"T1 registered to the PD training slices: shift {registration['shift_mm']} mm")
        reg_case = held_out_case(pd, moved, s.split + s.gap, nz, cfg0.data.degradation)
        references["multi-registered"] = (data / "t1_registered.nii.gz", reg_case.reference)
    base = [
        f"profile={s.profile}",
        f"data.train.hr_dir={data / 'pd_train.nii.gz'}",
        "data.val=null",  # scored on the held-out test slices below, not by the recipe's validation
        f"train.max_steps={s.steps}",
        f"train.threads={s.threads}",
        f"seed={s.seed}",
        "train.progress=plain",
    ]
    runs = {"single": base + ["data.train.reference=null", f"output_dir={s.out / 'single'}"]}
    for name, (path, _) in references.items():
        runs[name] = base + [f"data.train.reference={path}", f"output_dir={s.out / name}"]
    rows: list[dict[str, Any]] = []
    with torch_threads(s.threads):
        cubic = upscale(case.lr, case.target, method="cubic").volume
        rows.append({"method": "cubic", **_score(case, cubic)})
        for name, overrides in runs.items():
            log(f"training {name}-contrast ({s.steps} steps)")
            t0 = time.perf_counter()
            result = train(load_config(s.config, overrides))
            seconds = time.perf_counter() - t0
            predictor = Predictor.from_weights(result.weights)
            ref = references[name][1] if name in references else None
            out = upscale(
                case.lr, case.target, predictor=predictor, config=UpscaleConfig(reference=ref)
            ).volume
            rows.append(
                {
                    "method": f"{name}-contrast",
                    **_score(case, out),
                    "train_steps": int(result.global_step),
                    "train_seconds": round(seconds, 1),
                    "weights": str(result.weights),
                }
            )
            log(f"{name}: {rows[-1]}")
    by = {r["method"]: r for r in rows}
    gain = by["multi-contrast"]["psnr"] - by["single-contrast"]["psnr"]
    extra = {}
    if registration:
        registration["reference_gain_db"] = round(
            by["multi-registered-contrast"]["psnr"] - by["single-contrast"]["psnr"], 3
        )
        extra["registered"] = registration
    return {
        "rows": rows,
        "reference_gain_db": round(gain, 3),
        **extra,
        "test_slices": [s.split + s.gap, nz],
        "train_slices": [0, s.split],
        "steps": s.steps,
        "profile": s.profile,
    }


NOTES = (
    (
        "Notes: the scanner headers alone leave the two scans about a centimetre apart along z "
        "(the mutual-information search finds the shift; translation only). At this CPU budget the "
        "T1 adds under 0.1 dB either way, header-placed or registered: the recorded run does not "
        "show the gain Zeng et al. report, which needs the paper's deeper networks, longer "
        "training and well-registered contrasts. Both networks are the same `multicontrast_sr` "
        "cascade (cpu profile: 32 channels, SSR 6 + MSR 4 layers); the single-contrast run trains "
        "the SSR part alone (no reference), the multi-contrast runs train both with the summed SSR "
        "+ MSR loss of Zeng et al. and are scored on their MSR output."
    ),
)


def markdown(result: dict[str, Any], command: str, notes: Sequence[str] = ()) -> str:
    """The results page (docs/benchmarks/multicontrast.md)."""
    tr, te = result["train_slices"], result["test_slices"]
    lines = [
        "# Multi-contrast SR: does the T1 reference help? (Zeng et al. 2018, review ref. [78])",
        "",
        f"Command (repository root): `{command}`",
        "",
        (
            f"PD target (`chris_PD`), T1 reference (`chris_t1`) on the PD grid through the "
            f"headers' affines; in-plane bicubic x2; trained on PD slices {tr[0]}-{tr[1] - 1}, "
            f"scored on held-out slices {te[0]}-{te[1] - 1} inside the head mask; "
            f"{result['steps']} steps each, recipe `configs/multicontrast.yaml --profile "
            f"{result['profile']}`."
        ),
        "",
        "| method | PSNR (dB) | SSIM | train steps | train s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r.get('train_steps', '')} | {r.get('train_seconds', '')} |"
        )
    lines += [
        "",
        (
            f"Reference gain (multi - single): **{result['reference_gain_db']:+.2f} dB** "
            "with the T1 placed by the scanner headers alone."
        ),
    ]
    reg = result.get("registered")
    if reg:
        lines += [
            "",
            (
                f"With the T1 translated by {reg['shift_mm']} mm (mutual-information registration "
                "to the PD training slices, translation only; `multi-registered-contrast`): "
                f"**{reg['reference_gain_db']:+.2f} dB** over single-contrast."
            ),
        ]
    lines += ["", *(notes or NOTES)]
    return "\n".join(lines) + "\n"
