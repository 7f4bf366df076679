"""Adversarial objectives: known values, relativistic symmetry, WGAN-GP penalty of linear
critics."""

import math

import pytest
import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import AdversarialLoss, clip_weights, gradient_penalty


def test_vanilla_known_values():
    loss = AdversarialLoss("vanilla")
    zero = torch.zeros(4, 1)
    assert loss.discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert loss.generator_loss(zero).item() == pytest.approx(math.log(2))
    big = torch.full((4, 1), 30.0)
    assert loss.discriminator_loss(big, -big).item() == pytest.approx(0.0, abs=1e-10)
    # saturating form of review eq. 7: log(1 - D(G(z))) -> -log 2 at D = 1/2
    assert AdversarialLoss("vanilla", saturating=True).generator_loss(zero).item() == pytest.approx(
        -math.log(2)
    )


def test_least_squares_wasserstein_hinge_known_values():
    real = torch.tensor([1.0, 0.5])
    fake = torch.tensor([0.0, 0.5])
    ls = AdversarialLoss("lsgan")
    assert ls.discriminator_loss(real, fake).item() == pytest.approx(0.5 * 0.125 + 0.5 * 0.125)
    assert ls.generator_loss(fake).item() == pytest.approx(0.5 * (1.0 + 0.25) / 2)
    w = AdversarialLoss("wgan")
    assert w.discriminator_loss(real, fake).item() == pytest.approx(0.25 - 0.75)
    assert w.generator_loss(fake).item() == pytest.approx(-0.25)
    h = AdversarialLoss("hinge")
    assert h.discriminator_loss(real, fake).item() == pytest.approx(
        (0.0 + 0.5) / 2 + (1.0 + 1.5) / 2
    )
    assert h.generator_loss(fake).item() == pytest.approx(-0.25)


def test_relativistic_average_symmetry():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 1, generator=g), torch.randn(8, 1, generator=g)
    ra = AdversarialLoss("ragan")
    # G's loss is D's loss with the roles of real and fake exchanged (ESRGAN eqs. 1-2)
    assert ra.generator_loss(fake=a, real=b).item() == pytest.approx(
        ra.discriminator_loss(real=a, fake=b).item()
    )
    # only the differences to the other set's mean matter: a common shift changes nothing
    assert ra.discriminator_loss(a + 5.0, b + 5.0).item() == pytest.approx(
        ra.discriminator_loss(a, b).item()
    )
    # indistinguishable sets: log 2 per term
    same = torch.zeros(8, 1)
    assert ra.discriminator_loss(same, same).item() == pytest.approx(math.log(2))
    assert ra.needs_real_for_generator
    with pytest.raises(MedsrError):
        ra.generator_loss(a)


class _Linear(nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) * self.w).sum(dim=1, keepdim=True)


def test_gradient_penalty_of_linear_critics():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.rand(6, 1, 4, 4, generator=g), torch.rand(6, 1, 4, 4, generator=g)
    w = torch.randn(16, generator=g)
    unit = _Linear(w / w.norm())  # 1-Lipschitz, gradient norm exactly 1 everywhere
    assert gradient_penalty(
        unit, real, fake, generator=torch.Generator().manual_seed(0)
    ).item() == pytest.approx(0.0, abs=1e-10)
    double = _Linear(2 * w / w.norm())  # gradient norm 2: penalty (2 - 1)^2
    pen = gradient_penalty(double, real, fake)
    assert pen.item() == pytest.approx(1.0, rel=1e-5)
    pen.backward()  # the penalty trains the critic
    assert double.w.grad is not None and double.w.grad.norm() > 0


def test_weight_clipping_and_kind_checks():
    critic = _Linear(torch.tensor([-1.0, 0.005, 2.0]))
    clip_weights(critic, 0.01)
    assert critic.w.detach().tolist() == pytest.approx([-0.01, 0.005, 0.01])
    assert AdversarialLoss("wgan", clip_value=0.02).clip_value == 0.02
    assert (
        AdversarialLoss("wgan_gp").gp_weight == 10.0 and AdversarialLoss("vanilla").gp_weight == 0.0
    )
    with pytest.raises(MedsrError, match="unknown adversarial loss"):
        AdversarialLoss("minimax")
