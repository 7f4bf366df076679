"""Cycle-consistency and identity losses for unpaired SR (review section 4: GAN-CIRCLE, You et al.
2019; built on CycleGAN, Zhu et al. 2017; cycle-in-cycle GAN, Yuan et al. 2018).

With ``G: LR -> HR`` and ``F: HR -> LR``, the cycle loss (CycleGAN eq. 2; GAN-CIRCLE eq. 3)
``||F(G(x)) - x||_1 + ||G(F(y)) - y||_1`` asks that a round trip returns the input, which keeps the
generators faithful when LR and HR images are not paired. The identity loss (CycleGAN section 5.2;
GAN-CIRCLE eq. 4) ``||G(y) - y||_1 + ||F(x) - x||_1`` asks a generator to leave images already in
its target domain unchanged; it needs generators that keep the grid (LR given on the HR grid, as in
GAN-CIRCLE where the LR images are interpolated to the HR size first).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError

__all__ = ["CycleConsistencyLoss", "IdentityLoss"]


def _dist(criterion: str):
    if criterion == "l1":
        return F.l1_loss
    if criterion in ("l2", "mse"):
        return F.mse_loss
    raise MedsrError(f"cycle/identity criterion must be l1 or l2, got {criterion!r}")


def _pair(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    if a.shape != b.shape:
        raise MedsrError(f"{what}: shapes differ {tuple(a.shape)} vs {tuple(b.shape)}")


_Term = tuple[torch.Tensor, torch.Tensor, str]  # (output, reference, what for the error)


class _PairedDistance(nn.Module):
    """``d(out_1, ref_1) + d(out_2, ref_2)`` with ``d`` the mean L1 (or L2) distance; both pairs'
    shapes are checked first."""

    def __init__(self, criterion: str = "l1") -> None:
        super().__init__()
        self.dist = _dist(criterion)

    def _sum(self, first: _Term, second: _Term) -> torch.Tensor:
        for out, ref, what in (first, second):
            _pair(out, ref, what)
        return self.dist(first[0], first[1]) + self.dist(second[0], second[1])


class CycleConsistencyLoss(_PairedDistance):
    """``d(F(G(x)), x) + d(G(F(y)), y)`` with ``d`` the mean L1 (or L2) distance."""

    def forward(
        self, lr: torch.Tensor, lr_cycled: torch.Tensor, hr: torch.Tensor, hr_cycled: torch.Tensor
    ) -> torch.Tensor:
        return self._sum(
            (lr_cycled, lr, "cycle loss (LR -> HR -> LR)"),
            (hr_cycled, hr, "cycle loss (HR -> LR -> HR)"),
        )


class IdentityLoss(_PairedDistance):
    """``d(G(y), y) + d(F(x), x)``: each generator fed an image of its output domain."""

    def forward(
        self, g_of_hr: torch.Tensor, hr: torch.Tensor, f_of_lr: torch.Tensor, lr: torch.Tensor
    ) -> torch.Tensor:
        return self._sum(
            (g_of_hr, hr, "identity loss (G on HR)"), (f_of_lr, lr, "identity loss (F on LR)")
        )
