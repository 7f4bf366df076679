"""Training with a reference image as second input (multi-contrast SR, review ref. [78]).

Zeng K. et al., "Simultaneous single- and multi-contrast super-resolution for brain MRI images
based on a convolutional neural network", Comput. Biol. Med. 99:133-141 (2018). The network
(``multicontrast_sr``) cascades a single-contrast SR sub-network (SSR) on the LR target contrast
and a multi-contrast sub-network (MSR) that also sees the registered HR reference; both outputs
are supervised, the training loss being the sum of the two errors,
``L = L(SSR(x), y) + L(MSR(SSR(x), r), y)`` with ``L`` the recipe's ``loss.terms`` (the paper's
MSE: ``{mse: {weight: 1}}``). Networks without ``forward_all`` are trained on ``model(lr, ref)``.
Batches come from :class:`medsr.train.reference.ReferenceSplit` (keys ``lr``, ``hr``, ``ref``).
"""

from __future__ import annotations

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import WeightedSum
from medsr.metrics import psnr_torch, ssim_torch
from medsr.train.config import Config
from medsr.train.tasks import SupervisedSR, _interp_like

__all__ = ["ReferenceSR"]


class ReferenceSR(SupervisedSR):
    """Supervised SR of ``model(lr, ref)``; with ``forward_all`` every output is supervised and
    the losses add up (Zeng et al.'s SSR + MSR loss). Logged terms: ``out0_*`` (SSR), ``out1_*``
    (MSR)."""

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        loss: WeightedSum,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        if cfg.task != "supervised" or cfg.train.mode != "standard" or cfg.loss.multi_output:
            raise MedsrError(
                "config: data.train.reference: a reference trains with task: supervised, "
                "train.mode: standard and no loss.multi_output"
            )
        super().__init__(cfg, model, loss, val_data_range=val_data_range)

    def outputs(self, lr: torch.Tensor, ref: torch.Tensor) -> list[torch.Tensor]:
        """Every supervised output of the network for ``(lr, ref)``."""
        forward_all = getattr(self.model, "forward_all", None)
        try:
            if callable(forward_all):
                return list(forward_all(lr, ref))
            return [self.model(lr, ref)]
        except TypeError as err:
            raise MedsrError(
                f"config: data.train.reference: {self.cfg.model.name} takes no reference input "
                f"({err}); use a multi-input network such as multicontrast_sr"
            ) from None

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        lr, hr, ref = batch["lr"], batch["hr"], batch["ref"]
        total = torch.zeros((), device=hr.device)
        parts: dict[str, torch.Tensor] = {}
        for i, out in enumerate(self.outputs(lr, ref)):
            term, sub = self.loss(out, hr)
            total = total + term
            parts[f"out{i}"] = term.detach()
            parts.update({f"out{i}_{k}": v for k, v in sub.items()})
        loss, parts = self.regulariser.add(total, parts)
        return self._log_training_loss(loss, parts, hr.shape[0])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        lr, hr, ref = batch["lr"], batch["hr"].float(), batch["ref"]
        sr = self.export_model(lr, ref).float()
        rng = self._val_range(hr)
        metrics = {
            "val/psnr": psnr_torch(hr, sr, data_range=rng, mse_floor=1e-20).mean(),
            "val/ssim": ssim_torch(
                hr, sr, data_range=float(rng.mean()), reduction="mean", fit_window=True
            ),
            "val/l1": (sr - hr).abs().mean(),
            "val/psnr_interp": psnr_torch(
                hr, _interp_like(lr, hr).float(), data_range=rng, mse_floor=1e-20
            ).mean(),
        }
        self.log_dict(metrics, on_step=False, on_epoch=True, sync_dist=True, batch_size=hr.shape[0])
