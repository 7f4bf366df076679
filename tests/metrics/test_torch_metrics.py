"""Torch PSNR/SSIM agree with the numpy versions and are differentiable."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from medsr.errors import MedsrError
from medsr.metrics import psnr, psnr_torch, ssim, ssim_torch


def _batch(shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = gaussian_filter(rng.random(shape), (0, 0) + (1.5,) * (len(shape) - 2))
    test = ref + rng.normal(0, 0.02, shape)
    return ref, test


@pytest.mark.parametrize("shape", [(3, 2, 32, 28), (2, 1, 16, 14, 12)])
def test_ssim_torch_matches_numpy(shape: tuple[int, ...]) -> None:
    ref, test = _batch(shape, 0)
    got = ssim_torch(torch.from_numpy(ref), torch.from_numpy(test), data_range=1.0)
    assert got.shape == (shape[0],)
    for i in range(shape[0]):
        expected = np.mean([ssim(ref[i, c], test[i, c], data_range=1.0) for c in range(shape[1])])
        assert float(got[i]) == pytest.approx(expected, abs=1e-10)
    mean = ssim_torch(
        torch.from_numpy(ref), torch.from_numpy(test), data_range=1.0, reduction="mean"
    )
    assert float(mean) == pytest.approx(float(got.mean()))


def test_psnr_torch_matches_numpy() -> None:
    ref, test = _batch((2, 1, 20, 20), 1)
    got = psnr_torch(torch.from_numpy(ref), torch.from_numpy(test), data_range=1.0)
    for i in range(2):
        assert float(got[i]) == pytest.approx(psnr(ref[i], test[i], data_range=1.0), abs=1e-9)


def test_ssim_torch_is_differentiable() -> None:
    ref, test = _batch((1, 1, 24, 24), 2)
    x = torch.from_numpy(test).requires_grad_(True)
    loss = 1 - ssim_torch(torch.from_numpy(ref), x, data_range=1.0).mean()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # a small step against the gradient improves SSIM
    with torch.no_grad():
        better = x - 1e-3 * x.grad / x.grad.abs().max()
        assert ssim_torch(torch.from_numpy(ref), better, data_range=1.0) > 1 - loss
    small = torch.from_numpy(test[..., :12, :12]).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda t: ssim_torch(torch.from_numpy(ref[..., :12, :12]), t, data_range=1.0, win_size=5),
        (small,),
    )


def test_torch_errors() -> None:
    a = torch.zeros(1, 1, 8, 8)
    with pytest.raises(MedsrError, match="smaller than the SSIM window"):
        ssim_torch(a, a, data_range=1.0)
    with pytest.raises(MedsrError, match="differ in shape"):
        psnr_torch(a, torch.zeros(1, 1, 8, 7), data_range=1.0)


def test_psnr_torch_per_sample_range_and_floor() -> None:
    ref, test = _batch((3, 1, 10, 12), 3)
    r = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    got = psnr_torch(torch.from_numpy(ref), torch.from_numpy(test), data_range=r)
    for i in range(3):
        expected = psnr(ref[i], test[i], data_range=float(r[i]))
        assert float(got[i]) == pytest.approx(expected, abs=1e-9)
    a = torch.from_numpy(ref)
    assert torch.isinf(psnr_torch(a, a, data_range=1.0)).all()
    floored = psnr_torch(a, a, data_range=1.0, mse_floor=1e-20)
    assert torch.allclose(floored, torch.full((3,), 200.0, dtype=torch.float64))
    with pytest.raises(MedsrError, match="one value per sample"):
        psnr_torch(a, a, data_range=torch.ones(2))
    with pytest.raises(MedsrError, match="positive for every sample"):
        psnr_torch(a, a, data_range=torch.tensor([1.0, 0.0, 1.0]))


def test_ssim_torch_fit_window_shrinks_to_thin_axes() -> None:
    ref, test = _batch((2, 1, 14, 12, 5), 4)
    got = ssim_torch(torch.from_numpy(ref), torch.from_numpy(test), data_range=1.0, fit_window=True)
    for i in range(2):
        expected = ssim(ref[i, 0], test[i, 0], data_range=1.0, win_size=5)
        assert float(got[i]) == pytest.approx(expected, abs=1e-10)
    with pytest.raises(MedsrError, match="smaller than the SSIM window"):
        ssim_torch(torch.from_numpy(ref), torch.from_numpy(test), data_range=1.0)
