"""Optimisation pieces shared by the training tasks: optimisers, LR schedules, gradient clipping,
and the exponential moving average of the weights.

* :func:`build_optimizer` — Adam (Kingma & Ba 2015, the review's most common choice), AdamW, SGD
  with momentum or RMSprop, with per-layer learning-rate multipliers (``optim.lr_mult``, regexes on
  parameter names, e.g. SRCNN's 10x smaller rate for its last layer, Dong et al. 2016);
* :func:`build_scheduler` — step / multistep / cosine schedules counted in optimiser steps;
* :func:`clip_gradients` — by total norm, by value, or VDSR's adjustable clipping to
  ``[-theta/lr, theta/lr]`` (Kim, Lee & Lee 2016, section 3.2);
* :class:`EMA` — Polyak averaging of the weights, used for validation and export.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.train.config import ClipSection, OptimSection, ScheduleSection

__all__ = ["EMA", "build_optimizer", "build_scheduler", "clip_gradients"]


def build_optimizer(
    named_params: Iterable[tuple[str, nn.Parameter]], cfg: OptimSection, *, where: str = "optim"
) -> torch.optim.Optimizer:
    """An optimiser over ``named_params`` with ``cfg.lr_mult`` groups (regex on names)."""
    named = [(n, p) for n, p in named_params if p.requires_grad]
    if not named:
        raise MedsrError(f"{where}: the network has no trainable parameters")
    groups: dict[float, list[nn.Parameter]] = {}
    used = {pattern: False for pattern in cfg.lr_mult}
    for name, p in named:
        mult = 1.0
        for pattern, m in cfg.lr_mult.items():
            if re.search(pattern, name):
                mult, used[pattern] = float(m), True
                break
        groups.setdefault(mult, []).append(p)
    for pattern, hit in used.items():
        if not hit:
            raise MedsrError(
                f"config: {where}.lr_mult: {pattern!r} matches no parameter (names look like "
                f"{named[-1][0]!r})"
            )
    param_groups = [{"params": ps, "lr": cfg.lr * m} for m, ps in groups.items()]
    if cfg.name == "adam":
        return torch.optim.Adam(
            param_groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            param_groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "sgd":
        return torch.optim.SGD(
            param_groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.RMSprop(
        param_groups, lr=cfg.lr, momentum=cfg.momentum, eps=cfg.eps, weight_decay=cfg.weight_decay
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleSection, max_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Step / multistep / cosine schedules, all counted in optimiser steps."""
    if cfg.kind == "none":
        return None
    if cfg.kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.kind == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=sorted(cfg.milestones), gamma=cfg.gamma
        )
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, max_steps), eta_min=cfg.min_lr
    )


def clip_gradients(
    params: Iterable[nn.Parameter], optimizer: torch.optim.Optimizer, cfg: ClipSection
) -> None:
    """Clip gradients in place: total norm, per-value, or VDSR's ``[-theta/lr, theta/lr]``
    (Kim, Lee & Lee 2016, section 3.2: with a high learning rate the bound tightens)."""
    if cfg.kind == "none" or cfg.value <= 0:
        return
    params = [p for p in params if p.grad is not None]
    if cfg.kind == "norm":
        torch.nn.utils.clip_grad_norm_(params, cfg.value)
    elif cfg.kind == "value":
        torch.nn.utils.clip_grad_value_(params, cfg.value)
    else:  # each parameter group against its own current learning rate
        wanted = {id(p) for p in params}
        for group in optimizer.param_groups:
            mine = [p for p in group["params"] if id(p) in wanted]
            if mine:
                bound = cfg.value / max(float(group["lr"]), 1e-12)
                torch.nn.utils.clip_grad_value_(mine, bound)


class EMA(nn.Module):
    """Exponential moving average of a network's weights (Polyak averaging; used for evaluation and
    export, e.g. by later ESRGAN-family training recipes). Buffers (BatchNorm statistics) are
    copied."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        super().__init__()
        self.decay = float(decay)
        self.module = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for e, p in zip(self.module.parameters(), model.parameters()):
            e.mul_(self.decay).add_(p.detach(), alpha=1.0 - self.decay)
        for e, b in zip(self.module.buffers(), model.buffers()):
            e.copy_(b)
