"""Losses over the several outputs of a network (``model.forward_all(x) -> list[Tensor]``).

* DRCN recursive supervision (Kim, Lee & Lee 2016, eqs. 8-10): every recursion ``d = 1..D`` makes a
  prediction ``y_d`` and the final output ``y`` is their learned weighted average. The loss is
  ``alpha * mean_d l(y_d, t) + (1 - alpha) * l(y, t)``, with ``alpha`` decayed during training so
  that supervision moves from the intermediate outputs (which ease training of the deep recursion)
  to the final one. ``forward_all`` returns ``[y_1, ..., y_D, y]`` (the final output last).
* LapSRN multi-level supervision (Lai et al. 2017, eq. 4): the pyramid predicts the image at
  x2, x4, ... and each level is compared (Charbonnier) with the HR image downscaled to that level.
  Deviation: the per-level targets are made on the fly with torch's antialiased bicubic (2D) or area
  (3D) resampling, not MATLAB's ``imresize``; for integer factors the difference is tiny and it
  keeps the loss on the training device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError

__all__ = ["MultiOutputLoss", "downscale_to"]


def downscale_to(target: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """``target`` (N, C, *spatial) resampled to ``shape`` (antialiased bicubic in 2D, area in
    3D)."""
    shape = tuple(int(s) for s in shape)
    if tuple(target.shape[2:]) == shape:
        return target
    if target.ndim == 4:
        return F.interpolate(
            target, size=shape, mode="bicubic", align_corners=False, antialias=True
        )
    return F.interpolate(target, size=shape, mode="area")


class MultiOutputLoss(nn.Module):
    """Supervise every output of a multi-output network.

    Args:
        base: the per-output loss, ``base(pred, target) -> Tensor`` (MSE for DRCN, Charbonnier for
            LapSRN).
        mode: "drcn" (recursive supervision) or "lapsrn" (one term per pyramid level).
        alpha: DRCN's initial weight of the intermediate outputs (1 in the paper's early epochs).
        alpha_min: the value alpha decays to.
        alpha_decay_steps: steps over which alpha decays linearly from ``alpha`` to ``alpha_min``
            (0: constant).
    """

    def __init__(
        self,
        base: nn.Module,
        mode: str = "drcn",
        *,
        alpha: float = 1.0,
        alpha_min: float = 0.0,
        alpha_decay_steps: int = 0,
    ) -> None:
        super().__init__()
        if mode not in ("drcn", "lapsrn"):
            raise MedsrError(f"multi-output loss mode must be drcn or lapsrn, got {mode!r}")
        if not (0.0 <= alpha_min <= 1.0 and 0.0 <= alpha <= 1.0):
            raise MedsrError("multi-output alpha and alpha_min must lie in [0, 1]")
        self.base = base
        self.mode = mode
        self.alpha0 = float(alpha)
        self.alpha_min = float(alpha_min)
        self.decay = int(alpha_decay_steps)

    def alpha(self, step: int) -> float:
        """DRCN's alpha at a training step (linear decay, then constant)."""
        if self.decay <= 0:
            return self.alpha0
        t = min(max(step, 0) / self.decay, 1.0)
        return self.alpha0 + (self.alpha_min - self.alpha0) * t

    def forward(
        self, outputs: Sequence[torch.Tensor], target: torch.Tensor, step: int = 0
    ) -> torch.Tensor:
        outputs = list(outputs)
        if not outputs:
            raise MedsrError("the network's forward_all returned no outputs")
        if self.mode == "lapsrn":
            total = target.new_zeros(())
            for out in outputs:
                total = total + self.base(out, downscale_to(target, out.shape[2:]).detach())
            return total
        final = self.base(outputs[-1], target)
        if len(outputs) == 1:
            return final
        inter = sum(self.base(o, target) for o in outputs[:-1]) / (len(outputs) - 1)
        a = self.alpha(step)
        return a * inter + (1.0 - a) * final
