"""Smart augmentation (review section 5, ref. [85]: Lemley, Bazrafkan & Corcoran, "Smart
Augmentation: Learning an Optimal Data Augmentation Strategy", IEEE Access 2017).

A small network A takes ``k`` training samples of the same class, stacked as channels, and
produces one new sample; the target network B trains on it. Both are trained together: A's loss
is ``L_A = alpha * L_B(A(x_1..x_k)) + beta * L_sim(A(x_1..x_k), x_t)`` (the paper's eq. for network
A), where ``L_B`` is B's loss on the generated sample and ``L_sim`` the mean squared error to
another sample ``x_t`` of the same class, which keeps the blend a plausible member of it.

For super-resolution (:class:`SmartAugmentSR`): every patch of the training set is "the same
class"; A blends ``k`` HR patches of the batch (each patch with the next ``k - 1`` of the batch,
``torch.roll``), the blend's LR input is made from it by antialiased bicubic down-sampling (a
differentiable stand-in for ``data.degradation: bicubic``, MATLAB's kernel), and its target for
``L_sim`` is the patch ``k`` places further. The SR network's loss is its usual loss on the real
pair plus ``alpha`` x its loss on the blended pair; one optimiser steps both networks:

    L = L_B(f(LR), HR) + alpha * L_B(f(down(A(HR_1..HR_k))), A(HR_1..HR_k))
        + beta * ||A(HR_1..HR_k) - HR_t||^2

Recipe option (2D models, ``data.degradation: bicubic``, ``data.batch_size >= k + 1``)::

    data:
      augment: {smart: {inputs: 2, sr_weight: 0.3, similarity_weight: 0.7}}

Simplified: the SR loss's gradient reaches A through B (as in the paper) but the LR of the
blend uses torch's antialiased bicubic instead of the exact MATLAB ``imresize``; A is the
paper's kind of small 4-layer CNN, not its exact layer sizes. A is not exported with the model.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.train.tasks import SupervisedSR

__all__ = ["BlendNet", "SmartAugmentSR", "check_smart_config"]


class BlendNet(nn.Module):
    """Network A: ``k`` images stacked as channels -> one image (4 convolutions, ReLU between,
    kernels 3, 5, 7, 5 with 'same' padding as the paper's small augmentation networks)."""

    def __init__(self, channels: int, inputs: int = 2, features: int = 16) -> None:
        super().__init__()
        self.inputs = int(inputs)
        f = int(features)
        self.body = nn.Sequential(
            nn.Conv2d(channels * inputs, f, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(f, f, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(f, 2 * f, 7, padding=3),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * f, channels, 5, padding=2),
        )

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        """``samples``: ``(N, k * C, H, W)`` -> ``(N, C, H, W)``."""
        return self.body(samples)


def check_smart_config(cfg: Any) -> None:
    """The settings smart augmentation works with (raises :class:`MedsrError` naming the key)."""
    smart = cfg.data.augment.smart
    if cfg.task != "supervised" or cfg.train.mode != "standard":
        raise MedsrError("config: data.augment.smart: works with task: supervised, mode standard")
    if cfg.model.dims != 2:
        raise MedsrError("config: data.augment.smart: works with 2D models (model.dims: 2)")
    if cfg.data.degradation != "bicubic":
        raise MedsrError(
            "config: data.augment.smart: the blend's LR is made by bicubic down-sampling; use "
            "data.degradation: bicubic"
        )
    if cfg.loss.multi_output is not None:
        raise MedsrError("config: data.augment.smart: not with loss.multi_output")
    if cfg.data.batch_size < smart.inputs + 1:
        raise MedsrError(
            f"config: data.batch_size: smart augmentation blends {smart.inputs} patches and "
            f"compares with one more; use a batch of at least {smart.inputs + 1}"
        )


class SmartAugmentSR(SupervisedSR):
    """Supervised SR trained jointly with a blending network A (see the module docstring).

    Logs ``train/smart_sr`` (B's loss on the blended pair), ``train/smart_similarity`` (A's
    similarity loss) besides the usual terms.
    """

    def __init__(self, cfg: Any, model: nn.Module, loss: Any, **kw: Any) -> None:
        check_smart_config(cfg)
        super().__init__(cfg, model, loss, **kw)
        s = cfg.data.augment.smart
        self.smart = s
        self.augmenter = BlendNet(cfg.model.in_channels, s.inputs, s.features)

    def blend(self, hr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(A's blend, the stacked inputs (N, k*C, ...), the similarity target)`` of a batch
        of HR patches."""
        k = self.smart.inputs
        stacked = torch.cat([torch.roll(hr, -i, dims=0) for i in range(k)], dim=1)
        return self.augmenter(stacked), stacked, torch.roll(hr, -k, dims=0)

    def _degrade(self, hr: torch.Tensor, lr_like: torch.Tensor) -> torch.Tensor:
        """Antialiased bicubic down-sampling onto the LR grid of the batch (differentiable)."""
        if self.cfg.data.interpolate_lr:
            scale = self.cfg.model.scale_tuple()
            size = [max(1, round(n / s)) for n, s in zip(hr.shape[2:], scale)]
            small = F.interpolate(hr, size=size, mode="bicubic", antialias=True)
            return F.interpolate(small, size=lr_like.shape[2:], mode="bicubic")
        return F.interpolate(hr, size=lr_like.shape[2:], mode="bicubic", antialias=True)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        lr, hr = batch["lr"], batch["hr"]
        loss, parts = self.loss(self.model(lr), hr)
        mixed, _, target = self.blend(hr)
        smart_sr, _ = self.loss(self.model(self._degrade(mixed, lr)), mixed)
        similarity = F.mse_loss(mixed, target)
        loss = loss + self.smart.sr_weight * smart_sr + self.smart.similarity_weight * similarity
        parts = {**parts, "smart_sr": smart_sr.detach(), "smart_similarity": similarity.detach()}
        loss, parts = self.regulariser.add(loss, parts)
        return self._log_training_loss(
            loss, parts, hr.shape[0], remedy="optim.lr or the data.augment.smart weights"
        )

    def configure_optimizers(self) -> Any:
        from medsr.train.optim import build_optimizer

        opt = build_optimizer(self.model.named_parameters(), self.cfg.optim)
        opt.add_param_group(  # A's own group (before the schedule sees the groups)
            {
                "params": list(self.augmenter.parameters()),
                "lr": self.cfg.optim.lr * self.smart.lr_mult,
            }
        )
        sched = self._sched(opt, self.cfg.optim)
        return {"optimizer": opt, "lr_scheduler": sched[0]} if sched else opt

    def configure_gradient_clipping(self, optimizer: Any, *args: Any, **kw: Any) -> None:
        from medsr.train.optim import clip_gradients

        params = [*self.model.parameters(), *self.augmenter.parameters()]
        clip_gradients(params, optimizer, self._clip)
