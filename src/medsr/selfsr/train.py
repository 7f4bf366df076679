"""Training and slice-wise application of the self-SR restoration network.

Kept apart from :mod:`medsr.selfsr.smore` (the pipeline) so the anti-aliasing stage (SAA) and the
SR stage share them. The training loop is a plain PyTorch loop rather than a Lightning task: it
runs for seconds to minutes on one scan, with an iteration or time budget, in another command's
progress bar, and Lightning's trainer start-up alone would take a noticeable part of that.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from medsr.metrics import psnr
from medsr.runtime import autocast, torch_threads
from medsr.selfsr.config import Budget
from medsr.selfsr.pairs import PatchSampler, TrainingPairs

__all__ = ["BATCH_MAX", "STEP_PIXELS", "TrainResult", "step_batch", "train_restoration"]

#: pixels of one training step when the batch is chosen from the window (``batch=None``): 16
#: windows of 48 x 48, the former default, whatever the window's size.
STEP_PIXELS = 16 * 48 * 48
#: at most this many windows per step when the batch is chosen (small windows of thin planes
#: keep the former 16 rather than 4x the pixels: no gain for 4x the cost on the development crops).
BATCH_MAX = 16


def step_batch(window: tuple[int, int]) -> int:
    """The batch of a step of about :data:`STEP_PIXELS` pixels of ``window`` (rows, columns)
    windows, at most :data:`BATCH_MAX`."""
    return max(1, min(BATCH_MAX, round(STEP_PIXELS / (int(window[0]) * int(window[1])))))

Progress = Callable[[float, str], None]


@dataclass
class TrainResult:
    """What training did: the curve ``[(iteration, seconds, mean L1)]`` and the PSNR of the input
    and of the network on a batch of held-out planes (normalised intensities)."""

    iterations: int = 0
    seconds: float = 0.0
    curve: list[tuple[int, float, float]] = field(default_factory=list)
    val_psnr_input: float = float("nan")
    val_psnr_output: float = float("nan")
    threads: int = 0
    batch: int = 0
    window: tuple[int, int] = (0, 0)

    @property
    def val_gain_db(self) -> float:
        return self.val_psnr_output - self.val_psnr_input

    def as_dict(self) -> dict[str, object]:
        return {
            "iterations": self.iterations,
            "seconds": round(self.seconds, 2),
            "curve": [[i, round(t, 2), round(v, 6)] for i, t, v in self.curve],
            "val_psnr_interpolated": round(self.val_psnr_input, 3),
            "val_psnr_network": round(self.val_psnr_output, 3),
            "train_threads": self.threads,
            "batch": self.batch,
            "window": list(self.window),
        }


def _lr_factor(fraction: float, warmup: float = 0.03, floor: float = 0.01) -> float:
    """Linear warm-up then cosine decay to ``floor`` over the budget (SGDR-style, one cycle)."""
    if fraction < warmup:
        return max(fraction / warmup, 0.05)
    t = (fraction - warmup) / (1 - warmup)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def train_restoration(
    net: nn.Module,
    pairs: TrainingPairs,
    *,
    budget: Budget,
    patch: int,
    batch: int | None,
    lr: float,
    rng: np.random.Generator,
    device: str = "cpu",
    progress: Progress | None = None,
    label: str = "training",
    clip: float | None = 0.5,
    auto_threads: bool = False,
    sampling: str = "uniform",
    row_period: int = 1,
    precision: str = "fp32",
    patch_shape: str = "square",
) -> TrainResult:
    """Train ``net`` (interpolated LR -> HR) with L1 loss and Adam on random patches of ``pairs``.

    L1 rather than L2 follows EDSR (Lim et al. 2017), the network SMORE uses. The learning rate
    follows the fraction of the budget spent (iterations or seconds, whichever is further); the
    gradient norm is clipped at ``clip`` for stability (Pascanu et al. 2013; VDSR clips too).

    On a CPU, training runs on **one** torch thread by default: the sums of a backward pass split
    across threads in a different order, so a thread count that depended on the machine would give
    other voxels for the same scan and seed; for these small batches one thread is also the faster
    choice on a busy machine (it was chosen in every measured run of the former probe). With
    ``auto_threads`` the first steps are timed with all threads and with one and training continues
    with the faster (faster on some idle machines, but the choice, and so the result, can change
    with the load). Torch's thread count is restored on return. ``sampling`` is the
    :class:`~medsr.selfsr.pairs.PatchSampler` weighting (``"uniform"`` or ``"residual"``) and
    ``patch_shape`` its window shape (``"square"`` or ``"area"``). ``batch=None`` chooses the
    batch from the sampler's window (:func:`step_batch`: about :data:`STEP_PIXELS` pixels per
    step, at most :data:`BATCH_MAX` windows).
    ``precision`` (``"fp32"`` or ``"bf16"``, :func:`medsr.runtime.autocast`) is that of the
    forward and backward passes; the loss, the weights and Adam's state stay float32.
    """
    sampler = PatchSampler(
        pairs, patch, rng, weighting=sampling, row_period=row_period, shape=patch_shape
    )
    window = max(sampler.shapes, key=lambda shape: shape[0] * shape[1])
    batch = step_batch(window) if batch is None else int(batch)
    val_x, val_y = sampler.sample(max(16, batch), split="val")
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    result = TrainResult(batch=batch, window=window)
    start = time.perf_counter()
    running, count, it = 0.0, 0, 0
    report_every = 25
    threads = torch.get_num_threads()
    trial = auto_threads and device == "cpu" and threads > 1
    warm, probe = 2, 6  # steps: warm-up, then timed with all threads, then timed with one
    step_times: list[float] = []
    fixed = device == "cpu" and not auto_threads
    # one thread (reproducible), or the probe below changes the count; restored on exit
    with torch_threads(1 if fixed else None):
        while True:
            elapsed = time.perf_counter() - start
            frac = budget.fraction(it, elapsed)
            if frac >= 1.0:
                break
            for group in opt.param_groups:
                group["lr"] = lr * _lr_factor(frac)
            if trial and it == warm + probe:
                torch.set_num_threads(1)
            t_step = time.perf_counter()
            x, y = sampler.sample(batch)
            xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            with autocast(precision, device):
                pred = net(xt)
            loss = torch.nn.functional.l1_loss(pred.float(), yt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
            it += 1
            if trial:
                step_times.append(time.perf_counter() - t_step)
                if it == warm + 2 * probe:
                    many = float(np.median(step_times[warm : warm + probe]))
                    one = float(np.median(step_times[warm + probe :]))
                    torch.set_num_threads(threads if many < one else 1)
                    result.threads = threads if many < one else 1
                    trial = False
            running += float(loss.detach())
            count += 1
            if it % report_every == 0:
                result.curve.append((it, time.perf_counter() - start, running / count))
                running, count = 0.0, 0
                if progress is not None:
                    progress(frac, f"{label}: step {it}, L1 {result.curve[-1][2]:.4f}")
        training_threads = torch.get_num_threads()
    if count:
        result.curve.append((it, time.perf_counter() - start, running / count))
    result.iterations = it
    result.threads = result.threads or training_threads
    result.seconds = time.perf_counter() - start
    net.eval()
    with torch.inference_mode(), autocast(precision, device):
        out = net(torch.from_numpy(val_x).to(device)).float().cpu().numpy()
    # PSNR with R = 1: the data are normalised to about [0, 1]
    result.val_psnr_input = psnr(val_y, val_x, data_range=1.0)
    result.val_psnr_output = psnr(val_y, out, data_range=1.0)
    return result
