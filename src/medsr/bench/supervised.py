"""The supervised row of the medical benchmark: VDSR trained for thick slices on the MNI brain.

Supervised networks (review section 3) learn ``LR -> HR`` from pairs made by a known degradation
(``g = A f``, review eq. 3). The medical benchmark (:mod:`medsr.bench.medical`) trains one, VDSR
(Kim et al. CVPR 2016; review section 3.4.2), on *another* brain than the one it is scored on --
the built-in MNI template -- with the project's trainer (:func:`medsr.train.run.train`), so that
its row shows what a network trained elsewhere does on a new scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medsr.bench.medical import BenchSettings

__all__ = ["SUPERVISED", "SupervisedModel", "train_supervised"]

#: the row name of the supervised network trained on the MNI template
SUPERVISED = "vdsr-mni"


@dataclass
class SupervisedModel:
    """A network trained by :func:`train_supervised`: its run folder and what training did."""

    run_dir: Path
    weights: Path
    factor: int
    steps: int
    seconds: float
    cpu_seconds: float


def train_supervised(
    factor: int,
    axis: int,
    out_dir: Path,
    settings: BenchSettings,
    *,
    data: str | Path | None = None,
) -> SupervisedModel:
    """Train VDSR (Kim et al. 2016; review section 3.4.2) for thick slices along ``axis`` on the
    built-in MNI brain with the project's trainer (:func:`medsr.train.run.train`).

    The network is 2D and sees planes that contain the slice axis (cut across the first other
    axis: sagittal planes for slices along z), with
    per-axis scale ``(1, factor)``: its fixed cubic pre-upsampling enlarges the slice axis only and
    ``layers`` 3x3 convolutions (VDSR has 20 of 64 channels; fewer and narrower here, for minutes
    of CPU) learn the residual (VDSR's global residual learning). LR patches come from
    ``thick:profile=gaussian`` (:class:`medsr.degrade.ThickSlice`, FWHM = ``factor`` voxels), the
    operator of the simulation. Training stops at ``settings.supervised_steps`` steps or
    ``settings.supervised_seconds`` (Lightning's Timer), whichever comes first; intensities are
    normalised per volume (percentiles 0.5/99.5, stored in model.json and inverted at inference),
    so that scans of other scanners land on a similar scale.
    """
    import datetime as dt

    from lightning.pytorch.callbacks import Timer

    from medsr.data import sample_path
    from medsr.train.config import parse_config
    from medsr.train.run import train

    cut = next(a for a in range(3) if a != axis)  # planes that contain the slice axis
    model_axes = [a for a in range(3) if a != cut]
    scale = [float(factor) if a == axis else 1.0 for a in model_axes]
    patch = [int(settings.supervised_patch // factor * factor)] * 2
    steps = settings.supervised_steps
    run_dir = Path(out_dir) / f"supervised_x{factor}"
    cfg = parse_config(
        {
            "name": f"medical-bench-vdsr-x{factor}",
            "task": "supervised",
            "seed": settings.seed,
            "description": (
                "medsr medical benchmark: VDSR for thick slices, trained on the MNI template"
            ),
            "output_dir": str(run_dir),
            "model": {
                "name": "vdsr",
                "preset": "paper",
                "kwargs": dict(settings.supervised_model),
                "scale": scale,
                "dims": 2,
                "in_channels": 1,
            },
            "data": {
                "train": {"hr_dir": str(data or sample_path("brain"))},
                "degradation": "thick:profile=gaussian",
                "normalisation": {"kind": "percentile", "params": {"low": 0.5, "high": 99.5}},
                "patch_size": patch,
                "slice_axis": cut,
                "batch_size": settings.supervised_batch,
                "foreground": {"method": "otsu", "probability": 0.9},
            },
            "loss": {"terms": {"l1": {"weight": 1.0}}},
            "optim": {
                "name": "adam",
                "lr": settings.supervised_lr,
                "clip": {"kind": "norm", "value": 1.0},
            },
            "train": {
                "max_steps": steps,
                "checkpoint_every": steps,
                "log_every": max(1, min(50, steps)),
                "progress": "none",
                "accelerator": "cpu",
                "deterministic": False,
                "threads": settings.threads,
            },
        }
    )
    timer = Timer(
        duration=dt.timedelta(seconds=float(settings.supervised_seconds)),
        interval="step",
        verbose=False,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(cfg, callbacks=[timer])
    if result.weights is None:
        raise RuntimeError("training wrote no weights")
    return SupervisedModel(
        run_dir,
        result.weights,
        int(factor),
        int(result.global_step),
        time.perf_counter() - t0,
        time.process_time() - c0,
    )
