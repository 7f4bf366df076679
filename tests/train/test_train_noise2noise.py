"""Noise2Noise (review ref. [90], Lehtinen et al. 2018): zero-mean noise vs the Rician bias.

A tiny CNN is trained on slices of the real T1 block with the noisy copies of
:func:`medsr.train.sampling.add_noise` (the ones the trainer uses in ``train.mode: noise2noise``):
with zero-mean Gaussian targets it lands within 0.5 dB of training on clean targets; with Rician
targets (not zero-mean) its output is biased upwards on the dark background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from medsr.io import read
from medsr.metrics import psnr
from medsr.runtime import torch_seed, torch_threads
from medsr.train import load_config
from medsr.train.sampling import add_noise

SIGMA = 0.1
REPO = Path(__file__).resolve().parents[2]


def _slices(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """Axial slices of the real T1 (with their dark background), 4x box-averaged: 47x64."""
    data = read(shared_data / "medical" / "chris_t1.nii.gz").data[0, :, :, 60:140:4]
    data = data.reshape(47, 4, 64, 4, -1).mean(axis=(1, 3))
    data = (data - data.min()) / (np.percentile(data, 99.5) - data.min())
    sl = np.moveaxis(data, 2, 0).astype(np.float32)  # (20, 47, 64)
    return sl[::2], sl[1::2]


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _train(clean: np.ndarray, target_noise: str | None, steps: int, seed: int = 0) -> nn.Module:
    """Fit a small CNN: noisy input -> target (clean, or an independent noisy copy)."""
    rng = np.random.default_rng(seed)
    with torch_threads(1), torch_seed(seed):
        net = _Net()
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        for _ in range(steps):
            idx = rng.choice(len(clean), 4)
            x = np.stack([add_noise(clean[i], SIGMA, "gaussian", rng) for i in idx])
            if target_noise is None:
                y = clean[idx]
            else:
                y = np.stack([add_noise(clean[i], SIGMA, target_noise, rng) for i in idx])
            loss = ((net(torch.from_numpy(x[:, None])) - torch.from_numpy(y[:, None])) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


def _evaluate(net: nn.Module, clean: np.ndarray) -> tuple[float, float]:
    """(PSNR against the clean slices, mean output - clean on the dark background)."""
    rng = np.random.default_rng(123)
    noisy = np.stack([add_noise(c, SIGMA, "gaussian", rng) for c in clean])
    with torch.no_grad(), torch_threads(1):
        out = net(torch.from_numpy(noisy[:, None]))[:, 0].numpy()
    dark = clean < 0.02
    return psnr(clean, out, data_range=1.0), float((out - clean)[dark].mean())


def _check(shared_data: Path, steps: int) -> None:
    train, val = _slices(shared_data)
    p_clean, _b_clean = _evaluate(_train(train, None, steps), val)
    p_n2n, b_n2n = _evaluate(_train(train, "gaussian", steps), val)
    p_ric, b_ric = _evaluate(_train(train, "rician", steps), val)
    noisy_psnr = 20 * np.log10(1.0 / SIGMA)
    assert p_clean > noisy_psnr + 3  # the training denoises
    assert p_n2n > p_clean - 0.5, (p_n2n, p_clean)  # zero-mean N2N ~ clean targets
    # Rician targets: the minimiser is E|x + n| > x; at x = 0 about sigma * sqrt(pi / 2)
    assert abs(b_n2n) < 0.02, b_n2n
    assert b_ric > 0.5 * SIGMA * np.sqrt(np.pi / 2), b_ric
    assert p_ric < p_n2n - 1.0, (p_ric, p_n2n)


def test_rician_copies_are_biased_gaussian_are_not() -> None:
    """The L2 minimiser of noisy targets is their mean: Rician is biased, Gaussian is not."""
    rng = np.random.default_rng(0)
    x = np.zeros((200_000,), np.float32)
    assert abs(add_noise(x, SIGMA, "gaussian", rng).mean()) < 1e-3
    assert add_noise(x, SIGMA, "rician", rng).mean() == pytest.approx(
        SIGMA * np.sqrt(np.pi / 2), rel=0.02
    )


def test_noise2noise_recipe_uses_zero_mean_noise() -> None:
    cfg = load_config(REPO / "configs" / "noise2noise.yaml")
    assert cfg.train.mode == "noise2noise"
    assert cfg.train.noise2noise.noise == "gaussian"


def test_noise2noise_zero_mean_matches_clean_targets_fast(shared_data: Path) -> None:
    _check(shared_data, steps=60)


@pytest.mark.slow
def test_noise2noise_zero_mean_matches_clean_targets(shared_data: Path) -> None:
    _check(shared_data, steps=400)
