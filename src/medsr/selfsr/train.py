"""Training and slice-wise application of the self-SR restoration network.

Kept apart from :mod:`medsr.selfsr.smore` (the pipeline) so the anti-aliasing stage (SAA) and the
SR stage share them. The training loop is a plain PyTorch loop rather than a Lightning task: it
runs for seconds to minutes on one scan, with a wall-clock budget, inside another command's
progress bar, and Lightning's trainer start-up alone would take a noticeable part of that.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from medsr.selfsr.config import Budget
from medsr.selfsr.pairs import PatchSampler, TrainingPairs

__all__ = ["TrainResult", "train_restoration", "apply_through_plane"]

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
        }


def _psnr(ref: np.ndarray, x: np.ndarray) -> float:
    mse = float(np.mean((ref.astype(np.float64) - x) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)  # data normalised to ~[0, 1]


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
    batch: int,
    lr: float,
    rng: np.random.Generator,
    device: str = "cpu",
    progress: Progress | None = None,
    label: str = "training",
    clip: float | None = 0.5,
    auto_threads: bool = True,
) -> TrainResult:
    """Train ``net`` (interpolated LR -> HR) with L1 loss and Adam on random patches of ``pairs``.

    L1 rather than L2 follows EDSR (Lim et al. 2017), the network SMORE uses. The learning rate
    follows the fraction of the budget spent (iterations or seconds, whichever is further); the
    gradient norm is clipped at ``clip`` for stability (Pascanu et al. 2013; VDSR clips too).

    With ``auto_threads`` on a CPU with several torch threads, the first steps are timed with all
    threads and with one, and training continues with the faster: for these small batches, extra
    threads often cost more in synchronisation than they bring, above all on a busy machine.
    Torch's thread count is restored on return.
    """
    sampler = PatchSampler(pairs, patch, rng)
    val_x, val_y = sampler.sample(max(16, batch), split="val")
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    result = TrainResult()
    start = time.perf_counter()
    running, count, it = 0.0, 0, 0
    report_every = 25
    threads = torch.get_num_threads()
    trial = auto_threads and device == "cpu" and threads > 1
    warm, probe = 2, 6  # steps: warm-up, then timed with all threads, then timed with one
    step_times: list[float] = []
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
        loss = torch.nn.functional.l1_loss(net(xt), yt)
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
    torch.set_num_threads(threads)
    if count:
        result.curve.append((it, time.perf_counter() - start, running / count))
    result.iterations = it
    result.threads = result.threads or torch.get_num_threads()
    result.seconds = time.perf_counter() - start
    net.eval()
    with torch.inference_mode():
        out = net(torch.from_numpy(val_x).to(device)).cpu().numpy()
    result.val_psnr_input = _psnr(val_y, val_x)
    result.val_psnr_output = _psnr(val_y, out)
    return result


def _foreground_box(
    planes: np.ndarray, threshold: float, margin: int
) -> tuple[slice, slice] | None:
    """Bounding box (rows, cols) of voxels above ``threshold`` in a ``(N, R, W)`` stack, widened."""
    mask = planes > threshold
    rows = np.flatnonzero(mask.any(axis=(0, 2)))
    cols = np.flatnonzero(mask.any(axis=(0, 1)))
    if rows.size == 0:
        return None
    r0, r1 = max(0, rows[0] - margin), min(planes.shape[1], rows[-1] + 1 + margin)
    c0, c1 = max(0, cols[0] - margin), min(planes.shape[2], cols[-1] + 1 + margin)
    return slice(int(r0), int(r1)), slice(int(c0), int(c1))


def apply_through_plane(
    net: nn.Module,
    volume: np.ndarray,
    slice_axis: int,
    *,
    orientations: int = 2,
    batch: int = 8,
    device: str = "cpu",
    threshold: float = 0.05,
    margin: int = 16,
    progress: Progress | None = None,
    label: str = "applying",
) -> np.ndarray:
    """Run a 2D restoration network on the planes that contain ``slice_axis`` and fuse them.

    Each plane is shown with the slice axis along its rows (as in training). The planes of the two
    orthogonal orientations through the slice axis are processed and averaged (SMORE fuses the
    orientations; Zhao et al. use Fourier burst accumulation, a plain average is used here). Only
    the bounding box of the foreground (plus ``margin``, wider than the receptive field's reach
    into air) of each chunk of planes is computed; the air around the head keeps the input values.

    Args:
        net: restoration network (grid in = grid out).
        volume: ``(C, X, Y, Z)`` interpolated volume, normalised.
        slice_axis: the thick axis.
        orientations: 1 (first in-plane axis only) or 2 (both, averaged).

    Returns:
        The restored ``(C, X, Y, Z)`` float32 volume.
    """
    net.to(device).eval()
    in_plane = [a for a in range(3) if a != slice_axis]
    outs = []
    chosen = in_plane[:orientations]
    total = sum(
        volume.shape[0] * volume.shape[1 + [b for b in in_plane if b != c][0]] for c in chosen
    )
    done = 0
    for cols_axis in chosen:
        iter_axis = [b for b in in_plane if b != cols_axis][0]
        order = [0, iter_axis + 1, slice_axis + 1, cols_axis + 1]
        planes = np.ascontiguousarray(np.transpose(volume, order))  # (C, N, R, W)
        c_, n_, r_, w_ = planes.shape
        flat = planes.reshape(c_ * n_, r_, w_)
        result = flat.copy()
        with torch.inference_mode():
            for start in range(0, flat.shape[0], batch):
                chunk = flat[start : start + batch]
                box = _foreground_box(chunk, threshold, margin)
                done += chunk.shape[0]
                if box is None:
                    continue
                x = torch.from_numpy(np.ascontiguousarray(chunk[:, box[0], box[1]])[:, None]).to(
                    device
                )
                result[start : start + batch, box[0], box[1]] = net(x)[:, 0].cpu().numpy()
                if progress is not None:
                    progress(done / total, f"{label}: plane {done}/{total}")
        inverse = np.argsort(order)
        outs.append(np.transpose(result.reshape(c_, n_, r_, w_), inverse))
    fused = outs[0] if len(outs) == 1 else 0.5 * (outs[0] + outs[1])
    return np.ascontiguousarray(fused, dtype=np.float32)
