"""Cycle and identity losses (GAN-CIRCLE, CycleGAN)."""

import pytest
import torch

from medsr.errors import MedsrError
from medsr.losses import CycleConsistencyLoss, IdentityLoss


def test_cycle_loss_zero_for_perfect_inverses_and_known_otherwise():
    lr = torch.rand(2, 1, 4, 4)
    hr = torch.rand(2, 1, 8, 8)

    def up(x):
        return torch.repeat_interleave(torch.repeat_interleave(x, 2, 2), 2, 3)

    def down(y):
        return torch.nn.functional.avg_pool2d(y, 2)

    cyc = CycleConsistencyLoss("l1")
    assert cyc(lr, down(up(lr)), hr, up(down(hr))).item() > 0  # F(G(x)) = x but G(F(y)) != y
    assert cyc(lr, down(up(lr)), up(lr), up(down(up(lr)))).item() == pytest.approx(0.0)
    assert cyc(lr, lr + 0.5, hr, hr - 0.25).item() == pytest.approx(0.75)
    assert CycleConsistencyLoss("l2")(lr, lr + 0.5, hr, hr - 0.25).item() == pytest.approx(0.3125)


def test_identity_loss_and_shape_errors():
    x = torch.rand(1, 1, 8, 8)
    idt = IdentityLoss()
    assert idt(x, x, x, x).item() == 0.0
    assert idt(x + 1.0, x, x, x).item() == pytest.approx(1.0)
    with pytest.raises(MedsrError, match="identity loss"):
        idt(torch.rand(1, 1, 16, 16), x, x, x)
    with pytest.raises(MedsrError):
        CycleConsistencyLoss("huber")
