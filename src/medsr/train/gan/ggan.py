"""G-GAN: gradual least-squares GAN training with a growing up-sampling factor (review section
2.5, ref. [53]).

Shamsolmoali P., Zareapoor M., Wang R., Jain D. K., Yang J., "G-GANISR: Gradual generative
adversarial network for image super resolution", Neurocomputing 366:140-153 (2019). Two ideas:
the discriminator is trained with the least-squares loss (Mao et al. 2017, LSGAN,
``L_D = 1/2 E (D(y) - 1)^2 + 1/2 E D(G(x))^2``, ``L_G = 1/2 E (D(G(x)) - 1)^2``), and training is
gradual, "from simple to advanced": from the small up-sampling factor to the large one.

Here the generator is a cascade of x2 levels (``forward_all`` gives the image after each level,
x2, x4, x8: ``progressive_gan``, ``lapsrn``, ``ddpn``). Stage ``k`` (``k = 1 .. K``) trains the
output of level ``k`` -- factor ``2**k`` of the fixed LR input -- against the HR patch resampled to
that size (:func:`medsr.losses.multi.downscale_to`) with ``content + weight * L_G``, and the
discriminator on the same resolution; stage ``k + 1`` starts from the weights of stage ``k`` and
adds the next level. With ``gradual.fade_steps`` a new level fades in as in progressive growing
(Karras et al. 2018): ``alpha * level_k + (1 - alpha) * up2(level_{k-1})``, ``alpha`` 0 -> 1.

Simplified (our reading, the paper's code is not public): one discriminator with adaptive pooling
judges every resolution (the paper's discriminator grows with the generator); the stage lengths
are options (``gradual.stage_steps``), not the paper's.

>>> # configs/ggan.yaml: task: ggan, model: progressive_gan x4, adversarial: {kind: lsgan},
>>> # gradual: {stage_steps: [50000], fade_steps: 5000}
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import WeightedSum
from medsr.losses.multi import downscale_to
from medsr.train.config import Config
from medsr.train.tasks import AdversarialSR

__all__ = ["GradualGAN", "Stage", "stage_at"]


@dataclass(frozen=True)
class Stage:
    """Where the gradual schedule stands: level ``index`` (0-based) trained, ``factor`` = 2**(index
    + 1), ``alpha`` the fade-in weight of that level (1 = fully in)."""

    index: int
    alpha: float

    @property
    def factor(self) -> int:
        return 2 ** (self.index + 1)


def stage_at(step: int, lengths: list[int], fade_steps: int = 0) -> Stage:
    """The stage of global step ``step`` for stage ``lengths`` (all but the last stage).

    >>> stage_at(0, [10, 10]), stage_at(10, [10, 10], 5), stage_at(25, [10, 10])
    (Stage(index=0, alpha=1.0), Stage(index=1, alpha=0.0), Stage(index=2, alpha=1.0))
    """
    start = 0
    index = 0
    for n in lengths:
        if step < start + n:
            break
        start += n
        index += 1
    if index == 0 or fade_steps <= 0:
        return Stage(index, 1.0)
    return Stage(index, min(1.0, (step - start) / float(fade_steps)))


def _up2(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    mode = "bicubic" if x.ndim == 4 else "trilinear"
    return F.interpolate(x, size=tuple(size), mode=mode, align_corners=False)


class GradualGAN(AdversarialSR):
    """G-GAN (Shamsolmoali et al. 2019): :class:`~medsr.train.tasks.AdversarialSR` trained level
    by level on a growing factor with the least-squares GAN loss (see the module docstring).

    Args:
        cfg: the config (``task: ggan``, a ``gradual`` section, ``adversarial.kind: lsgan``).
        model: a generator with ``forward_all`` whose outputs are x2 apart.
        discriminator: a critic that accepts every level's size (adaptive pooling or patches).
        loss: the content terms (MSE in the paper), applied per stage against the resized HR.
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
        super().__init__(cfg, model, discriminator, loss, val_data_range=val_data_range)
        if not callable(getattr(model, "forward_all", None)):
            raise MedsrError(
                f"config: model.name: G-GAN trains the levels of a cascade; {cfg.model.name} has "
                "no forward_all (use progressive_gan, lapsrn or ddpn)"
            )
        if self.adv.kind != "lsgan":
            raise MedsrError("config: adversarial.kind: G-GAN is a least-squares GAN; set lsgan")
        assert cfg.gradual is not None
        self.gcfg = cfg.gradual
        n_levels = 0
        s = max(int(f) for f in cfg.model.scale_tuple())
        while s > 1:
            s //= 2
            n_levels += 1
        self.n_levels = n_levels
        self.lengths = self.gcfg.lengths(n_levels)

    def stage(self) -> Stage:
        """The stage of the current global step."""
        return stage_at(int(self.global_step), self.lengths, self.gcfg.fade_steps)

    def stage_output(self, lr: torch.Tensor, stage: Stage) -> torch.Tensor:
        """The generator's image at the stage's level (faded in over the previous level)."""
        outs = self.model.forward_all(lr)
        if len(outs) != self.n_levels:
            raise MedsrError(
                f"config: model: G-GAN needs one output per x2 level ({self.n_levels}); "
                f"{self.cfg.model.name} gives {len(outs)}"
            )
        out = outs[stage.index]
        if stage.alpha < 1.0 and stage.index > 0:
            prev = _up2(outs[stage.index - 1], out.shape[2:])
            out = stage.alpha * out + (1.0 - stage.alpha) * prev
        return out

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        stage = self.stage()
        adversarial_on = int(self.global_step) >= self.acfg.g_warmup_steps
        logs: dict[str, torch.Tensor] = {
            "train/stage": torch.tensor(float(stage.index + 1)),
            "train/factor": torch.tensor(float(stage.factor)),
            "train/alpha": torch.tensor(stage.alpha),
        }
        out = self.stage_output(lr, stage)
        target = downscale_to(hr, out.shape[2:])
        if adversarial_on:
            fake = out.detach()
            for k in range(self.acfg.d_steps):
                loss_d = self._d_loss(target, fake, self.discriminator, k)
                self._step_d(
                    opt_d, loss_d, list(self.discriminator.parameters()), [self.discriminator]
                )
            logs["train/loss_d"] = loss_d.detach()
        loss_g, parts = self.regulariser.add(*self.loss(out, target))
        if adversarial_on:
            self.discriminator.requires_grad_(False)
            adv_g = self.adv.generator_loss(self.discriminator(out))
            self.discriminator.requires_grad_(True)
            loss_g = loss_g + self.acfg.weight * adv_g
            logs["train/adv_g"] = adv_g.detach()
        self._step_g(opt_g, loss_g, self.model.parameters())
        self._end_step(loss_g, parts, logs, hr.shape[0])
