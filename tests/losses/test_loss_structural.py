"""SSIM loss in 2D and 3D, checked against medsr.metrics' SSIM."""

import numpy as np
import pytest
import torch

from medsr.losses import SSIMLoss
from medsr.metrics import ssim_torch


def _images(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(shape, generator=g)
    noisy = (ref + 0.1 * torch.randn(shape, generator=g)).clamp(0, 1)
    return ref, noisy


@pytest.mark.parametrize("shape", [(2, 1, 32, 32), (1, 2, 16, 16, 16)])
def test_ssim_loss_zero_for_identical_and_positive_otherwise(shape):
    ref, noisy = _images(shape)
    loss = SSIMLoss()
    assert loss(ref, ref).item() == pytest.approx(0.0, abs=1e-6)
    value = loss(noisy, ref).item()
    assert 0.0 < value < 2.0


@pytest.mark.parametrize("shape", [(2, 1, 32, 24), (1, 1, 16, 20, 12)])
def test_ssim_matches_the_metrics_package(shape):
    ref, noisy = _images(shape, 1)
    mine = 1.0 - SSIMLoss()(noisy.double(), ref.double()).item()
    theirs = ssim_torch(ref.double(), noisy.double(), data_range=1.0, reduction="mean").item()
    assert mine == pytest.approx(theirs, abs=1e-10)


def test_ssim_matches_numpy_metric_2d():
    metrics = pytest.importorskip("medsr.metrics")
    ref, noisy = _images((1, 1, 40, 36), 2)
    theirs = metrics.ssim(
        ref[0, 0].numpy().astype(np.float64), noisy[0, 0].numpy().astype(np.float64), data_range=1.0
    )
    mine = 1.0 - SSIMLoss()(noisy.double(), ref.double()).item()
    assert mine == pytest.approx(float(theirs), abs=1e-6)


def test_ssim_loss_gradients_flow_and_thin_volumes_work():
    ref, noisy = _images((1, 1, 12, 12, 3))  # Z thinner than the 11-tap window
    x = noisy.clone().requires_grad_(True)
    SSIMLoss()(x, ref).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_thin_volumes_use_the_metric_with_a_shrunk_window():
    metrics = pytest.importorskip("medsr.metrics")
    ref, noisy = _images((1, 1, 12, 14, 3), 3)  # Z = 3: the window shrinks to 3 taps
    mine = 1.0 - SSIMLoss()(noisy.double(), ref.double()).item()
    theirs = metrics.ssim(
        ref[0, 0].numpy().astype(np.float64),
        noisy[0, 0].numpy().astype(np.float64),
        data_range=1.0,
        win_size=3,
    )
    assert mine == pytest.approx(float(theirs), abs=1e-6)
