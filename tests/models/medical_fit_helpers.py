"""Helpers of the medical-network tests: a real MR slice pair and a short fit.

Imported by the test modules of this folder (``from medical_fit_helpers import ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from medsr.degrade import imresize
from medsr.io import read


def t1_slice_pair(shared_data: Path, scale: int = 2, size: int = 48) -> tuple[torch.Tensor, ...]:
    """A central axial ``size`` x ``size`` crop of the real T1 MRI (chris_t1), scaled to [0, 1]
    by its 99.5th percentile, and its MATLAB-bicubic LR version: ``(lr, hr)``, (1, 1, H, W)."""
    vol = read(shared_data / "medical" / "chris_t1.nii.gz")
    x = vol.data[0]
    cx, cy, cz = (np.asarray(x.shape) // 2).tolist()
    h = size // 2
    hr = x[cx - h : cx + h, cy - h : cy + h, cz].astype(np.float32)
    hr = hr / float(np.percentile(x, 99.5))
    lr = imresize(hr, (1.0 / scale, 1.0 / scale)).astype(np.float32)
    return torch.from_numpy(lr)[None, None], torch.from_numpy(hr)[None, None]


def fit(
    net: torch.nn.Module,
    inputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    steps: int = 30,
    lr: float = 1e-3,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> list[float]:
    """``steps`` Adam steps of ``loss_fn(net(*inputs), target)`` (MSE by default); the losses."""
    loss_fn = loss_fn or torch.nn.functional.mse_loss
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(net(*inputs), target)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
