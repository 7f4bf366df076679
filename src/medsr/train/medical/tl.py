"""The T-L network and anatomically constrained SR (ACNN-SR) as one two-stage training task.

Review section 4, ref. [80]: Oktay O. et al., "Anatomically constrained neural networks (ACNNs):
application to cardiac image enhancement and segmentation", IEEE Trans. Med. Imaging 37(2):384-395
(2018). The network is :class:`medsr.models.medical.tl_net.ACNNSR` (registry ``tl_net``): the SR
network plus, as ``.prior``, the T-L network (label encoder ``f``, decoder ``g``, image predictor
``p``; after Girdhar et al., ECCV 2016).

``task: tl_net`` (:class:`TLNetSR`) trains it as the paper does, in two stages of one run:

1. **T-L stage** (steps ``0 .. tl.prior_steps - 1``): on HR patches and their segmentation maps
   (one-hot ``y``, :class:`medsr.train.medical.labels.LabelledPatchDataset`), the label
   auto-encoder learns ``g(f(y)) ~ y`` (cross-entropy) and the predictor ``p(HR) ~ f(y)``
   (squared Euclidean distance, weight ``tl.code_weight``); only the T-L network is updated.
2. **SR stage** (to ``train.max_steps``): the T-L network is frozen and the SR network ``phi``
   minimises the paper's objective (section II-C, its SR form of eq. 4)
   ``L = L_pix(phi(x), HR) + lambda ||p(phi(x)) - p(HR)||_2^2``, with ``L_pix`` the configured
   ``loss.terms`` (the paper: smooth L1) and ``lambda = tl.latent_weight``. The global term
   compares the codes of the SR output and of the truth in the learned anatomical space.

ACNN-SR has no segmentation head (the segmentation model ACNN-Seg has one); the L path
``g(p(image))`` of the trained prior gives a segmentation of any image (``model.prior(image)``).
Paper departures (say so in the review map): brain tissue labels (CSF/GM/WM of the MNI template)
instead of cardiac ones; the layer counts of the model preset are assumptions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import WeightedSum
from medsr.train.config import Config
from medsr.train.optim import build_optimizer, clip_gradients
from medsr.train.tasks import _SRTask

__all__ = ["TLNetSR"]


class TLNetSR(_SRTask):
    """Two-stage ACNN-SR training (see the module docstring).

    Args:
        cfg: the validated config (``task: tl_net`` with a ``tl`` section).
        model: an :class:`~medsr.models.medical.tl_net.ACNNSR` (``.prior``, ``.shape_code``,
            ``.sr_parameters``).
        loss: the pixel loss of the SR stage (``loss.terms``; smooth L1 in the recipe).
        val_data_range: intensity range for PSNR/SSIM (None: each image's HR range).
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        loss: WeightedSum,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        super().__init__(cfg, model, val_data_range=val_data_range)
        for attr in ("prior", "shape_code", "sr_parameters"):
            if not hasattr(model, attr):
                raise MedsrError(
                    f"config: model.name: task 'tl_net' needs the tl_net network (no {attr})"
                )
        assert cfg.tl is not None
        self.tl = cfg.tl
        self.loss = loss
        self.automatic_optimization = False

    # ----------------------------------------------------------------- optimisers
    def configure_optimizers(self) -> Any:
        prior_cfg = self.cfg.optim.model_copy(update={"lr": self.tl.prior_lr or self.cfg.optim.lr})
        opt_prior = build_optimizer(
            [(f"prior.{n}", p) for n, p in self.model.prior.named_parameters()],
            prior_cfg,
            where="tl.prior_lr",
        )
        sr = {id(p) for p in self.model.sr_parameters()}
        opt_sr = build_optimizer(
            [(n, p) for n, p in self.model.named_parameters() if id(p) in sr], self.cfg.optim
        )
        return [opt_prior, opt_sr], self._sched(opt_sr, self.cfg.optim)

    def in_prior_stage(self) -> bool:
        """Whether the current step belongs to the T-L stage."""
        return int(self.global_step) < self.tl.prior_steps

    # ----------------------------------------------------------------- losses
    def prior_losses(
        self, hr: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage 1: ``(cross-entropy of g(f(y)) vs y, ||p(HR) - f(y)||^2)``."""
        prior = self.model.prior
        code = prior.encode(labels)
        logits = prior.decode(code, labels.shape[2:])
        ce = F.cross_entropy(logits, labels.argmax(dim=1))
        code_err = F.mse_loss(prior.predict(hr), code)
        return ce, code_err

    def latent_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """Stage 2's global term ``||p(SR) - p(HR)||^2`` (the truth's code without gradient)."""
        with torch.no_grad():
            target = self.model.shape_code(hr)
        return F.mse_loss(self.model.shape_code(sr), target)

    # ----------------------------------------------------------------- training
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_prior, opt_sr = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        logs: dict[str, torch.Tensor] = {}
        if self.in_prior_stage():
            if "labels" not in batch:
                raise MedsrError("task tl_net: the training batches carry no labels (tl.labels)")
            self.model.prior.requires_grad_(True).train()
            ce, code_err = self.prior_losses(hr, batch["labels"])
            loss = ce + self.tl.code_weight * code_err
            opt, params = opt_prior, list(self.model.prior.parameters())
            logs.update({"train/prior_ce": ce.detach(), "train/prior_code": code_err.detach()})
        else:
            self.model.freeze_prior()
            self.model.prior.eval()
            sr = self.model(lr)
            pixel, parts = self.regulariser.add(*self.loss(sr, hr))
            latent = self.latent_loss(sr, hr)
            loss = pixel + self.tl.latent_weight * latent
            opt, params = opt_sr, self.model.sr_parameters()
            logs["train/latent"] = latent.detach()
            logs.update({f"train/{k}": v for k, v in parts.items()})
        self._check_finite(loss, "optim.lr (or tl.prior_lr)")
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        clip_gradients(params, opt.optimizer, self._clip)
        opt.step()  # one counted step per batch, in either stage
        if opt is opt_sr:
            for sch in self._schedulers():
                sch.step()
        self._update_ema()
        logs["train/loss"] = loss.detach()
        step = {"on_step": True, "on_epoch": False, "batch_size": hr.shape[0]}
        self.log_dict(logs, prog_bar=False, **step)
        self.log("loss", loss.detach(), prog_bar=True, **step)
