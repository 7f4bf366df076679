"""The training tasks, as PyTorch Lightning modules.

* :class:`SupervisedSR` — one network, one optimiser, a weighted sum of content losses (review
  section 2.4) or multi-output supervision (DRCN, LapSRN); gradient clipping including VDSR's
  adjustable clipping; an exponential moving average of the weights; LR schedules. With
  ``train.mode: noise2noise`` the data module hands it noisy targets (Lehtinen et al. 2018) and
  nothing else changes: the L2 loss against independent noisy copies has the clean image as its
  minimiser. The ``regularise`` section's penalties (L1 weight sparsity, DeCov; review section
  2.4, :mod:`medsr.train.regularise`) are added to the loss of every task. The auto-encoder of
  the learned feature loss trains with this task too.
* :class:`AdversarialSR` — generator + discriminator in alternating steps (review section 3.3;
  SRGAN, ESRGAN, mDCSRN-GAN): content loss + ``weight`` x adversarial loss for G, any
  :class:`~medsr.losses.AdversarialLoss` for D (weight clipping for WGAN, gradient penalty for
  WGAN-GP).
* :class:`CycleSR` — two generators (LR -> HR and HR -> LR) and two discriminators with cycle and
  identity losses (GAN-CIRCLE, You et al. 2019; CycleGAN, Zhu et al. 2017).

All validate with PSNR/SSIM on normalised intensities (and the interpolation baseline), and keep
the Python/numpy/torch random states in their checkpoints so a resumed run continues exactly.
Step counting: Lightning's ``global_step`` equals the number of training batches in every task
(in the GAN tasks only the generator's optimiser step is counted; the discriminator's optimiser is
stepped directly, which is why 16-bit mixed precision, needing a gradient scaler, is not offered
for them — bf16 is). Optimisers, schedules, gradient clipping and the EMA come from
:mod:`medsr.train.optim`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import (
    AdversarialLoss,
    CycleConsistencyLoss,
    IdentityLoss,
    MultiOutputLoss,
    WeightedSum,
    clip_weights,
    gradient_penalty,
)
from medsr.metrics import psnr_torch, ssim_torch
from medsr.runtime import generator
from medsr.train.config import AdversarialSection, Config, OptimSection
from medsr.train.optim import EMA, build_optimizer, build_scheduler, clip_gradients
from medsr.train.regularise import Regulariser

__all__ = ["AdversarialSR", "CycleSR", "SupervisedSR"]


def _interp_like(lr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    if lr.shape[2:] == hr.shape[2:]:
        return lr
    mode = "bicubic" if lr.ndim == 4 else "trilinear"
    return F.interpolate(lr, size=hr.shape[2:], mode=mode, align_corners=False)


# ---------------------------------------------------------------------- base task
class _SRTask(L.LightningModule):
    """What every task shares: the generator, EMA, validation metrics, RNG state in checkpoints."""

    def __init__(
        self, cfg: Config, model: nn.Module, *, val_data_range: float | None = 1.0
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.model = model
        self.ema = EMA(model, cfg.train.ema_decay) if cfg.train.ema_decay else None
        self.val_data_range = val_data_range
        self._clip = cfg.optim.clip
        # after the EMA copy: the feature hook stays on the trained network only
        self.regulariser = Regulariser(cfg.regularise, model)

    # ----------------------------------------------------------------- networks
    @property
    def export_model(self) -> nn.Module:
        """The network to validate and save (the EMA copy when enabled)."""
        return self.ema.module if self.ema is not None else self.model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _update_ema(self) -> None:
        if self.ema is not None:
            self.ema.update(self.model)

    def _rng_for_step(self, device: torch.device, draw: int = 0) -> torch.Generator:
        """A generator seeded from (seed, step, draw): stochastic loss terms stay reproducible."""
        seed = (int(self.cfg.seed) * 1_000_003 + int(self.global_step)) * 1009 + draw
        return generator(seed, device)

    def _check_finite(self, loss: torch.Tensor, remedy: str) -> None:
        """Stop with one line when the training loss is NaN or infinite (``remedy``: what to
        lower or enable)."""
        if not torch.isfinite(loss):
            raise MedsrError(
                f"the training loss became {loss.item()} at step {self.global_step}; lower {remedy}"
            )

    def _log_training_loss(
        self,
        loss: torch.Tensor,
        parts: dict[str, torch.Tensor],
        batch_size: int,
        remedy: str = "optim.lr or enable optim.clip",
    ) -> torch.Tensor:
        """Check the batch's total ``loss`` (:meth:`_check_finite`), log it as ``train/loss`` (on
        the progress bar) and each term of ``parts`` as ``train/<name>``; returns ``loss``."""
        self._check_finite(loss, remedy)
        self.log(
            "train/loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=batch_size
        )
        for name, value in parts.items():
            self.log(f"train/{name}", value, on_step=True, on_epoch=False, batch_size=batch_size)
        return loss

    # ----------------------------------------------------------------- validation
    def _val_range(self, hr: torch.Tensor) -> torch.Tensor:
        """The intensity range of PSNR/SSIM per image of the batch: ``val_data_range``, or each
        HR's own range when it is None."""
        if self.val_data_range is None:
            return (hr.flatten(1).amax(1) - hr.flatten(1).amin(1)).clamp_min(1e-6)
        return torch.full((hr.shape[0],), float(self.val_data_range), device=hr.device)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        lr, hr = batch["lr"], batch["hr"]
        sr = self.export_model(lr).float()
        rng = self._val_range(hr)
        r = float(rng.mean())
        metrics = {
            "val/psnr": psnr_torch(hr.float(), sr, data_range=rng.float(), mse_floor=1e-20).mean(),
            "val/ssim": ssim_torch(hr.float(), sr, data_range=r, reduction="mean", fit_window=True),
            "val/l1": (sr - hr.float()).abs().mean(),
        }
        base = _interp_like(lr, hr).float()
        if not torch.equal(base, hr.float()):  # the baseline: interpolation (or the noisy input)
            metrics["val/psnr_interp"] = psnr_torch(
                hr.float(), base, data_range=rng.float(), mse_floor=1e-20
            ).mean()
        if "protocol" in batch:  # the benchmark's scores (Table 1 / head mask): val_protocol
            from medsr.train.val_protocol import protocol_metrics

            has_base = "val/psnr_interp" in metrics
            metrics.update(protocol_metrics(batch["protocol"], hr, sr, base if has_base else None))
        self.log_dict(metrics, on_step=False, on_epoch=True, sync_dist=True, batch_size=hr.shape[0])

    # ----------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        # plain types and tensors only: checkpoints load with torch.load(weights_only=True)
        state = {
            "torch": torch.get_rng_state(),
            "numpy": [
                str(kind),
                torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                int(pos),
                int(has_gauss),
                float(cached),
            ],
            "python": random.getstate(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        checkpoint["medsr_rng"] = state

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("medsr_rng")
        if not state:
            return
        torch.set_rng_state(state["torch"])
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        random.setstate(state["python"])
        if (
            "cuda" in state
            and torch.cuda.is_available()
            and len(state["cuda"]) == torch.cuda.device_count()
        ):
            torch.cuda.set_rng_state_all(state["cuda"])

    def _sched(self, optimizer: torch.optim.Optimizer, cfg: OptimSection) -> list[dict[str, Any]]:
        sch = build_scheduler(optimizer, cfg.schedule, self.cfg.train.max_steps)
        return [] if sch is None else [{"scheduler": sch, "interval": "step", "frequency": 1}]

    def _schedulers(self) -> list[Any]:
        """The learning-rate schedulers of this task, as a list (stepped once per batch)."""
        s = self.lr_schedulers()
        if s is None:
            return []
        return list(s) if isinstance(s, list) else [s]


# ---------------------------------------------------------------------- supervised
class SupervisedSR(_SRTask):
    """Supervised SR: ``min_theta L(f_theta(LR), HR)`` (review eq. 4) with the configured loss.

    Args:
        cfg: the validated config.
        model: the network (``create_model``).
        loss: a :class:`~medsr.losses.WeightedSum` of content terms.
        multi_output: DRCN / LapSRN supervision over ``model.forward_all`` (replaces ``loss``).
        val_data_range: intensity range for PSNR/SSIM (None: each image's HR range).
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        loss: WeightedSum,
        *,
        multi_output: MultiOutputLoss | None = None,
        val_data_range: float | None = 1.0,
    ) -> None:
        super().__init__(cfg, model, val_data_range=val_data_range)
        self.loss = loss
        self.multi_output = multi_output
        if multi_output is not None and not callable(getattr(model, "forward_all", None)):
            raise MedsrError(
                f"config: loss.multi_output: {cfg.model.name} has no forward_all(); remove "
                "multi_output"
            )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        lr, hr = batch["lr"], batch["hr"]
        if self.multi_output is not None:
            outputs = self.model.forward_all(lr)
            loss = self.multi_output(outputs, hr, step=int(self.global_step))
            parts: dict[str, torch.Tensor] = {
                "alpha": torch.tensor(self.multi_output.alpha(int(self.global_step)))
            }
        else:
            sr = self.model(lr)
            loss, parts = self.loss(sr, hr)
        loss, parts = self.regulariser.add(loss, parts)
        return self._log_training_loss(loss, parts, hr.shape[0])

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: Any = None,
        gradient_clip_algorithm: Any = None,
    ) -> None:
        clip_gradients(self.model.parameters(), optimizer, self._clip)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        # the EMA follows each step here, before callbacks (checkpointing) see the batch's end
        super().optimizer_step(*args, **kwargs)
        self._update_ema()

    def configure_optimizers(self) -> Any:
        opt = build_optimizer(self.model.named_parameters(), self.cfg.optim)
        sched = self._sched(opt, self.cfg.optim)
        return {"optimizer": opt, "lr_scheduler": sched[0]} if sched else opt


# ---------------------------------------------------------------------- adversarial
class AdversarialSR(_SRTask):
    """GAN training of an SR generator (SRGAN, Ledig et al. 2017; ESRGAN, Wang et al. 2018;
    mDCSRN-GAN, Chen et al. 2018).

    Each batch: ``d_steps`` discriminator updates on (HR, G(LR)) with the configured objective (plus
    the gradient penalty for WGAN-GP, weight clipping for WGAN), then one generator update on
    ``content(G(LR), HR) + weight * adversarial``. The first ``g_warmup_steps`` batches train G
    with the content loss only (a PSNR-oriented start, as SRGAN/ESRGAN initialise G).
    Deviation: extra critic iterations (``d_steps > 1``) reuse the batch rather than drawing new
    ones (WGAN's Algorithm 1 draws fresh batches), which keeps one batch per counted step.
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        discriminator: nn.Module,
        loss: WeightedSum,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        super().__init__(cfg, model, val_data_range=val_data_range)
        self.automatic_optimization = False
        self.discriminator = discriminator
        self.loss = loss
        acfg = cfg.adversarial or AdversarialSection()
        self.acfg = acfg
        self.adv = AdversarialLoss(
            acfg.kind,
            saturating=acfg.saturating,
            clip_value=acfg.clip_value,
            gp_weight=acfg.gp_weight,
        )

    def configure_optimizers(self) -> Any:
        return self._g_and_d_optimizers(
            self.model.named_parameters(), self.discriminator.named_parameters()
        )

    def _g_and_d_optimizers(
        self,
        g_params: Iterable[tuple[str, nn.Parameter]],
        d_params: Iterable[tuple[str, nn.Parameter]],
    ) -> Any:
        """The generators' optimiser (``optim``) and the critics' (``adversarial.d_optim``, else
        ``optim``) over named parameters, with their schedules: Lightning's optimiser config."""
        d_cfg = self.acfg.d_optim or self.cfg.optim
        opt_g = build_optimizer(g_params, self.cfg.optim)
        opt_d = build_optimizer(d_params, d_cfg, where="adversarial.d_optim")
        scheds = self._sched(opt_g, self.cfg.optim) + self._sched(opt_d, d_cfg)
        return [opt_g, opt_d], scheds

    def _g_adv(self, disc: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial term of ``fake`` against critic ``disc`` (the critic's
        score of ``real`` is passed, detached, to relativistic losses that need it)."""
        d_real = disc(real).detach() if self.adv.needs_real_for_generator else None
        return self.adv.generator_loss(disc(fake), d_real)

    def _d_loss(
        self, real: torch.Tensor, fake: torch.Tensor, disc: nn.Module, draw: int = 0
    ) -> torch.Tensor:
        """The critic's loss (plus the gradient penalty, its mixing weights seeded by the step
        and ``draw`` so that repeated critic updates use fresh interpolates)."""
        loss_d = self.adv.discriminator_loss(disc(real), disc(fake))
        if self.adv.gp_weight > 0:
            loss_d = loss_d + self.adv.gp_weight * gradient_penalty(
                disc, real, fake, generator=self._rng_for_step(real.device, draw)
            )
        return loss_d

    def _step_d(
        self,
        opt_d: Any,
        loss_d: torch.Tensor,
        disc_params: list[nn.Parameter],
        discs: list[nn.Module],
    ) -> None:
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        clip_gradients(disc_params, opt_d.optimizer, self._clip)
        opt_d.optimizer.step()  # the raw optimiser: only G's steps count as global steps
        if self.adv.clip_value is not None:
            for d in discs:
                clip_weights(d, self.adv.clip_value)

    def _step_g(self, opt_g: Any, loss_g: torch.Tensor, params: Iterable[nn.Parameter]) -> None:
        """One generator update (gradients clipped over ``params``); counts as a global step."""
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        clip_gradients(params, opt_g.optimizer, self._clip)
        opt_g.step()

    def _end_step(
        self,
        loss_g: torch.Tensor,
        parts: dict[str, torch.Tensor],
        logs: dict[str, torch.Tensor],
        batch_size: int,
    ) -> None:
        """After the optimiser steps: the schedulers, the EMA, then the step's logs."""
        for sch in self._schedulers():
            sch.step()
        self._update_ema()
        logs["train/loss"] = loss_g.detach()
        logs.update({f"train/{k}": v for k, v in parts.items()})
        step = {"on_step": True, "on_epoch": False, "batch_size": batch_size}
        self.log_dict(logs, prog_bar=False, **step)
        self.log("loss", loss_g.detach(), prog_bar=True, **step)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        adversarial_on = int(self.global_step) >= self.acfg.g_warmup_steps
        logs: dict[str, torch.Tensor] = {}
        if adversarial_on:
            with torch.no_grad():
                fake = self.model(lr).detach()
            for k in range(self.acfg.d_steps):
                loss_d = self._d_loss(hr, fake, self.discriminator, k)
                self._step_d(
                    opt_d, loss_d, list(self.discriminator.parameters()), [self.discriminator]
                )
            logs["train/loss_d"] = loss_d.detach()
        sr = self.model(lr)
        content, parts = self.regulariser.add(*self.loss(sr, hr))
        loss_g = content
        if adversarial_on:
            self.discriminator.requires_grad_(False)
            d_fake = self.discriminator(sr)
            d_real = self.discriminator(hr).detach() if self.adv.needs_real_for_generator else None
            adv_g = self.adv.generator_loss(d_fake, d_real)
            self.discriminator.requires_grad_(True)
            loss_g = loss_g + self.acfg.weight * adv_g
            logs["train/adv_g"] = adv_g.detach()
        self._step_g(opt_g, loss_g, self.model.parameters())
        self._end_step(loss_g, parts, logs, hr.shape[0])


# ---------------------------------------------------------------------- cycle
class CycleSR(AdversarialSR):
    """Cycle-consistent SR with two generators and two discriminators (GAN-CIRCLE, You et al. 2019;
    CycleGAN, Zhu et al. 2017).

    ``G = model`` maps LR -> HR, ``F = down`` maps HR -> LR; ``D_hr`` judges HR-domain images,
    ``D_lr`` LR-domain ones. Generator loss:
    ``w_adv (L_adv(D_hr, G(x)) + L_adv(D_lr, F(y))) + w_cyc L_cyc + w_idt L_idt + content``, where
    ``content`` holds ``loss.terms`` (supervised terms need paired data: ``cycle.unpaired: false``;
    unpaired runs keep only target-free terms such as ``tv``, GAN-CIRCLE's joint sparsifying term).
    Then both discriminators are updated.
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        down: nn.Module,
        discriminator_hr: nn.Module,
        discriminator_lr: nn.Module,
        loss: WeightedSum,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        super().__init__(cfg, model, discriminator_hr, loss, val_data_range=val_data_range)
        assert cfg.cycle is not None
        self.ccfg = cfg.cycle
        self.down = down
        self.discriminator_lr = discriminator_lr
        self.cycle_loss = CycleConsistencyLoss(cfg.cycle.criterion)
        self.identity_loss = IdentityLoss(cfg.cycle.criterion)

    def configure_optimizers(self) -> Any:
        g_params = [(f"G.{n}", p) for n, p in self.model.named_parameters()]
        g_params += [(f"F.{n}", p) for n, p in self.down.named_parameters()]
        d_params = [(f"D_hr.{n}", p) for n, p in self.discriminator.named_parameters()]
        d_params += [(f"D_lr.{n}", p) for n, p in self.discriminator_lr.named_parameters()]
        return self._g_and_d_optimizers(g_params, d_params)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        adversarial_on = int(self.global_step) >= self.acfg.g_warmup_steps
        # ---- generators
        sr = self.model(lr)  # G(x)
        lr_fake = self.down(hr)  # F(y)
        cyc = self.cycle_loss(lr, self.down(sr), hr, self.model(lr_fake))
        loss_g = self.ccfg.cycle_weight * cyc
        logs = {"train/cycle": cyc.detach()}
        if self.ccfg.identity_weight > 0:
            idt = self.identity_loss(self.model(hr), hr, self.down(lr), lr)
            loss_g = loss_g + self.ccfg.identity_weight * idt
            logs["train/identity"] = idt.detach()
        content, parts = self.regulariser.add(*self.loss(sr, hr))
        loss_g = loss_g + content
        if adversarial_on:
            for d in (self.discriminator, self.discriminator_lr):
                d.requires_grad_(False)
            adv_g = self._g_adv(self.discriminator, sr, hr) + self._g_adv(
                self.discriminator_lr, lr_fake, lr
            )
            for d in (self.discriminator, self.discriminator_lr):
                d.requires_grad_(True)
            loss_g = loss_g + self.acfg.weight * adv_g
            logs["train/adv_g"] = adv_g.detach()
        self._step_g(opt_g, loss_g, list(self.model.parameters()) + list(self.down.parameters()))
        # ---- discriminators
        if adversarial_on:
            fake_hr, fake_lr = sr.detach(), lr_fake.detach()
            for k in range(self.acfg.d_steps):
                loss_d = self._d_loss(hr, fake_hr, self.discriminator, 2 * k)
                loss_d = loss_d + self._d_loss(lr, fake_lr, self.discriminator_lr, 2 * k + 1)
                params = list(self.discriminator.parameters()) + list(
                    self.discriminator_lr.parameters()
                )
                self._step_d(opt_d, loss_d, params, [self.discriminator, self.discriminator_lr])
            logs["train/loss_d"] = loss_d.detach()
        self._end_step(loss_g, parts, logs, hr.shape[0])
