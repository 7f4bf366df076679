"""Optimisation pieces: learning-rate groups, VDSR's adjustable clipping, the EMA of weights."""

import pytest
import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.train.config import ClipSection, OptimSection, ScheduleSection
from medsr.train.optim import EMA, build_optimizer, build_scheduler, clip_gradients


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(1, 4, 3, padding=1)
        self.last = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        return self.last(torch.relu(self.first(x)))


def test_optimiser_groups_follow_lr_mult():
    net = _Net()
    opt = build_optimizer(
        net.named_parameters(), OptimSection(name="sgd", lr=0.1, lr_mult={r"^last\.": 0.1})
    )
    lrs = sorted(g["lr"] for g in opt.param_groups)
    assert lrs == pytest.approx([0.01, 0.1])
    assert {
        id(p)
        for p in opt.param_groups[[g["lr"] for g in opt.param_groups].index(pytest.approx(0.01))][
            "params"
        ]
    } == {
        id(net.last.weight),
        id(net.last.bias),
    }
    with pytest.raises(MedsrError, match=r"optim.lr_mult: '\^head' matches no parameter"):
        build_optimizer(net.named_parameters(), OptimSection(lr_mult={"^head": 0.1}))


def test_vdsr_clipping_bounds_gradients_by_theta_over_lr():
    net = _Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for p in net.parameters():
        p.grad = torch.full_like(p, 5.0)
    clip_gradients(net.parameters(), opt, ClipSection(kind="vdsr", value=0.01))
    assert max(p.grad.abs().max().item() for p in net.parameters()) == pytest.approx(0.1)
    for g in opt.param_groups:
        g["lr"] = 0.001  # a smaller rate allows larger gradients (Kim et al. 2016, sec. 3.2)
    for p in net.parameters():
        p.grad = torch.full_like(p, 5.0)
    clip_gradients(net.parameters(), opt, ClipSection(kind="vdsr", value=0.01))
    assert max(p.grad.abs().max().item() for p in net.parameters()) == pytest.approx(5.0)
    clip_gradients(net.parameters(), opt, ClipSection(kind="norm", value=1.0))
    total = torch.sqrt(sum((p.grad**2).sum() for p in net.parameters()))
    assert total.item() == pytest.approx(1.0, rel=1e-4)


def test_ema_is_the_exponential_average():
    net = _Net()
    ema = EMA(net, 0.9)
    start = net.first.weight.detach().clone()
    with torch.no_grad():
        net.first.weight.add_(1.0)
    ema.update(net)
    assert torch.allclose(ema.module.first.weight, start + 0.1)
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_schedules_count_optimiser_steps():
    net = _Net()
    opt = build_optimizer(net.named_parameters(), OptimSection(name="sgd", lr=1.0))
    assert build_scheduler(opt, ScheduleSection(kind="none"), 10) is None
    sched = build_scheduler(
        opt, ScheduleSection(kind="multistep", milestones=[3, 1], gamma=0.1), 10
    )
    lrs = []
    for _ in range(4):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01])
    opt = build_optimizer(net.named_parameters(), OptimSection(name="sgd", lr=1.0))
    cosine = build_scheduler(opt, ScheduleSection(kind="cosine", min_lr=0.0), 4)
    for _ in range(4):
        opt.step()
        cosine.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # T_max = max_steps
