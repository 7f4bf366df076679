"""Progressive GAN for medical image SR, trained stage by stage (review section 4, ref. [66]).

Mahapatra D., Bozorgtabar B., Garnavi R., "Image super-resolution using progressive generative
adversarial networks for medical image analysis", Computerized Medical Imaging and Graphics
71:30-39 (2019). The factor is reached by a cascade of x2 stages
(:class:`medsr.models.medical.progressive_gan.ProgressiveSRGenerator`): stage ``k`` up-samples the
image of stage ``k - 1`` by 2, and each stage has its own discriminator ``D_k`` judging images at
its resolution. Training goes stage by stage: stage ``k`` trains generator stage ``k`` (the
earlier ones fixed, ``progressive.freeze_previous``) and ``D_k``, with the generator loss

    L_k = content(S_k, HR_k) + w_adv L_adv(D_k, S_k) + w_tri L_tri,
    L_tri = max(0, d(S_k, HR_k) - d(S_k, up2(S_{k-1})) + margin),

where ``S_k`` is stage ``k``'s output, ``HR_k`` the HR patch resampled to its grid
(:func:`medsr.losses.multi.downscale_to`), ``S_{-1}`` the LR input and ``d`` the mean squared
difference per image: the triplet loss makes each stage's output closer to the truth (positive)
than to the previous stage's image (negative) by a margin, so every stage adds detail. The
content term is the recipe's ``loss.terms`` (the paper weights it by saliency maps:
``saliency_mse``). ``task: progressive_gan`` (:class:`ProgressiveGAN`).

Our reading where the paper leaves room: the stage lengths (``progressive.stage_steps``), the
margin, the per-image mean squared distance and bicubic/trilinear ``up2`` are options or choices
of ours; the discriminators are copies of the ``discriminator`` section's network.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import WeightedSum
from medsr.losses.multi import downscale_to
from medsr.train.config import Config
from medsr.train.tasks import AdversarialSR

__all__ = ["ProgressiveGAN", "triplet_loss"]


def _distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference per image, ``(N,)``."""
    return ((a - b) ** 2).flatten(1).mean(dim=1)


def triplet_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float
) -> torch.Tensor:
    """``mean_n max(0, d(anchor, positive) - d(anchor, negative) + margin)`` (Schroff et al.
    2015's form; Mahapatra et al. 2019 with the HR patch as positive and the previous stage's
    up-sampled image as negative)."""
    return F.relu(_distance(anchor, positive) - _distance(anchor, negative) + margin).mean()


def _up_to(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    mode = "bicubic" if x.ndim == 4 else "trilinear"
    return F.interpolate(x, size=shape, mode=mode, align_corners=False)


class ProgressiveGAN(AdversarialSR):
    """Stage-by-stage training of the progressive GAN (see the module docstring).

    Args:
        cfg: the validated config (``task: progressive_gan``, ``progressive`` section).
        model: a ``progressive_gan`` generator (``stages``, ``interps``).
        discriminators: one critic per stage, coarse to fine.
        loss: the content loss (``loss.terms``).
        val_data_range: intensity range for PSNR/SSIM (None: each image's HR range).
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        discriminators: list[nn.Module],
        loss: WeightedSum,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        if not isinstance(getattr(model, "stages", None), nn.ModuleList):
            raise MedsrError("config: model.name: task 'progressive_gan' needs the progressive_gan")
        if len(discriminators) != len(model.stages):
            raise MedsrError(
                f"progressive GAN: {len(model.stages)} stages but {len(discriminators)} critics"
            )
        super().__init__(cfg, model, discriminators[-1], loss, val_data_range=val_data_range)
        assert cfg.progressive is not None
        self.pcfg = cfg.progressive
        self.discriminators = nn.ModuleList(discriminators)
        self.ends: list[int] = []
        total = 0
        for n in self.pcfg.lengths(len(model.stages)):
            total += n
            self.ends.append(total)
        if self.ends and self.ends[-1] >= cfg.train.max_steps:
            raise MedsrError(
                f"config: progressive.stage_steps: the stages before the last end at step "
                f"{self.ends[-1]}, not before train.max_steps ({cfg.train.max_steps})"
            )

    def stage_at(self, step: int) -> int:
        """The stage (0-based) that trains at global step ``step``."""
        return sum(1 for end in self.ends if step >= end)

    def configure_optimizers(self) -> Any:
        return self._g_and_d_optimizers(
            self.model.named_parameters(), self.discriminators.named_parameters()
        )

    def stage_images(self, lr: torch.Tensor, stage: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input of stage k, output of stage k)``; earlier stages run without gradients when
        they are frozen."""
        model = self.model
        h = lr
        for i in range(stage + 1):
            grad = i == stage or not self.pcfg.freeze_previous
            with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
                y = model.stages[i](h)
                if model.interps is not None:
                    y = y + model.interps[i](h)
            if i < stage:
                h = y
        return h, y

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        k = self.stage_at(int(self.global_step))
        if self.pcfg.freeze_previous:
            for i, stage in enumerate(self.model.stages):
                stage.requires_grad_(i == k)
        disc = self.discriminators[k]
        adversarial_on = int(self.global_step) >= self.acfg.g_warmup_steps
        logs: dict[str, torch.Tensor] = {"train/stage": torch.tensor(float(k))}
        prev, out = self.stage_images(lr, k)
        target = downscale_to(hr, out.shape[2:])
        if adversarial_on:
            fake = out.detach()
            for j in range(self.acfg.d_steps):
                loss_d = self._d_loss(target, fake, disc, j)
                self._step_d(opt_d, loss_d, list(disc.parameters()), [disc])
            logs["train/loss_d"] = loss_d.detach()
        content, parts = self.regulariser.add(*self.loss(out, target))
        negative = _up_to(prev, tuple(out.shape[2:])).detach()
        tri = triplet_loss(out, target, negative, self.pcfg.margin)
        loss_g = content + self.pcfg.triplet_weight * tri
        logs["train/triplet"] = tri.detach()
        if adversarial_on:
            disc.requires_grad_(False)
            d_real = disc(target).detach() if self.adv.needs_real_for_generator else None
            adv_g = self.adv.generator_loss(disc(out), d_real)
            disc.requires_grad_(True)
            loss_g = loss_g + self.acfg.weight * adv_g
            logs["train/adv_g"] = adv_g.detach()
        params = [p for p in self.model.stages[k].parameters()]
        if not self.pcfg.freeze_previous:
            params = list(self.model.parameters())
        self._step_g(opt_g, loss_g, params)
        self._end_step(loss_g, parts, logs, hr.shape[0])
