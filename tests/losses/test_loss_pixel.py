"""Pixel losses: known values (review section 2.4; LapSRN's Charbonnier)."""

import math

import pytest
import torch

from medsr.errors import MedsrError
from medsr.losses import CharbonnierLoss, L1Loss, L2Loss, SmoothL1Loss, build_loss_term
from medsr.losses.pixel import charbonnier


def _pair():
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 1, 8, 8, generator=g), torch.rand(2, 1, 8, 8, generator=g)


def test_l1_l2_known_values():
    a = torch.zeros(1, 1, 2, 2)
    b = torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]]])
    assert L1Loss()(a, b).item() == pytest.approx(1.0)  # (1 + 1 + 2 + 0) / 4
    assert L2Loss()(a, b).item() == pytest.approx(1.5)  # (1 + 1 + 4 + 0) / 4


def test_charbonnier_tends_to_l1_and_equals_eps_at_zero():
    a, b = _pair()
    l1 = L1Loss()(a, b).item()
    errs = [abs(charbonnier(a, b, eps).item() - l1) for eps in (1e-1, 1e-2, 1e-3, 1e-5)]
    assert errs == sorted(errs, reverse=True)
    assert errs[-1] < 1e-4
    assert CharbonnierLoss(eps=0.25)(a, a).item() == pytest.approx(0.25)
    # near zero it is quadratic: eps + d^2 / (2 eps)
    d = torch.full((1, 1, 1, 1), 1e-4)
    assert charbonnier(d, torch.zeros_like(d), 1e-2).item() == pytest.approx(
        1e-2 + 1e-8 / 2e-2, rel=1e-6
    )


def test_charbonnier_is_differentiable_at_zero():
    a = torch.zeros(1, 1, 3, 3, requires_grad=True)
    CharbonnierLoss(1e-3)(a, torch.zeros_like(a)).backward()
    assert torch.isfinite(a.grad).all() and a.grad.abs().max() == 0


def test_smooth_l1_switches_at_beta():
    z = torch.zeros(1, 1, 1, 2)
    t = torch.tensor([[[[0.5, 3.0]]]])
    # 0.5 * 0.5^2 / 1 = 0.125 ; 3 - 0.5 = 2.5 ; mean = 1.3125
    assert SmoothL1Loss(beta=1.0)(z, t).item() == pytest.approx(1.3125)


def test_shape_mismatch_and_bad_parameters_are_user_errors():
    with pytest.raises(MedsrError, match="shape"):
        L1Loss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 8, 8))
    with pytest.raises(MedsrError):
        CharbonnierLoss(eps=0)
    with pytest.raises(MedsrError, match="epss"):
        build_loss_term("charbonnier", {"epss": 1e-3})
    with pytest.raises(MedsrError, match="unknown loss term 'l3'"):
        build_loss_term("l3")
    assert isinstance(build_loss_term("charbonnier", {"eps": 1e-3}), CharbonnierLoss)
    assert math.isclose(build_loss_term("charbonnier", {"eps": 0.5}).eps, 0.5)
