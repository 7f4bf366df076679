"""CinCGAN: unsupervised SR with cycle-in-cycle GANs on unpaired LR and HR sets (review section
2.5, ref. [52]).

Yuan Y., Liu S., Zhang J., Zhang Y., Dong C., Lin L., "Unsupervised image super-resolution using
cycle-in-cycle generative adversarial networks", CVPR Workshops 2018. The LR images ``x`` come
with an unknown degradation (noise, blur) and no HR counterpart; the HR images ``y`` are another
set. ``z = bicubic_down(y)`` is a *clean* LR image.

* Inner cycle (LR -> clean LR): ``G1`` cleans ``x``, ``G2`` maps back, ``D1`` tells ``G1(x)``
  from clean ``z``. ``L_LR = L_GAN + w_cyc ||G2(G1(x)) - x||^2 + w_idt ||G1(z) - z||_1 +
  w_tv TV(G1(x))`` (eqs. 1-5; weights 10, 5, 0.5).
* Outer cycle (clean LR -> HR): the SR network ``SR`` (``model``; EDSR in the paper) up-scales
  ``G1(x)``, ``G3`` maps HR back to the noisy LR domain, ``D2`` tells ``SR(G1(x))`` from ``y``.
  ``L_HR = L_GAN + w_cyc ||G3(SR(G1(x))) - x||^2 + w_idt ||SR(z) - y||_1 + w_tv TV(SR(G1(x)))``
  (eqs. 6-8; weights 10, 5, 2), trained jointly with ``G1``.

GAN terms are least squares (``L_GAN = E (D(G(.)) - 1)^2``, weighted by ``adversarial.weight``,
1 in the paper; the critics minimise ``E (D(real) - 1)^2 + E D(fake)^2``); TV is the sum of
the mean squared forward differences.
The paper trains the inner cycle first, then everything jointly: ``cincgan.inner_steps`` steps of
the inner cycle only, then joint steps (start the SR network from a bicubic-trained model with
``model.init_weights``, as the paper pre-trains EDSR, or set ``cincgan.sr_pretrain``: the inner
steps then also train ``SR`` on the bicubic pairs ``(z, y)`` of the HR domain,
``outer_identity_weight * ||SR(z) - y||_1``, logged as ``sr_pretrain``). The two GAN terms can be
weighed apart (``cincgan.inner_gan_weight`` / ``outer_gan_weight``).
Departure from the paper (opt-in): ``cincgan.d1_input: highpass`` makes ``D1`` judge
:func:`highpass` of ``z`` and ``G1(x)`` (the image minus its Gaussian blur of
``cincgan.d1_highpass_sigma`` LR pixels, times ``cincgan.d1_highpass_gain``) instead of the
images; white noise dominates that band, so the critic need not first learn to ignore the content
(the default ``image`` is the paper's).
Data (:func:`unpaired_domains`): the training images are split into two disjoint sets, whole
images/scans apart, the LR domain degraded by ``data.degradation`` (e.g.
``bicubic+gaussian:0.02``), the HR domain kept (and bicubic-downsampled for ``z``).

Simplified (our reading): ``G1``/``G2`` are ``conv-LReLU``, ``cincgan.generator_blocks``
residual blocks and a conv with a global skip (the paper's: three convs, six residual blocks,
three convs); ``G3`` is :class:`~medsr.train.nets.DownsamplingNet` (strided convolutions);
``D1``/``D2`` are two copies of the ``discriminator`` section (PatchGAN in the recipe). The
exported network is ``SR`` (it expects clean LR); validation runs the whole chain ``SR(G1(x))``
and ``G1`` is kept in the checkpoints (``g1.*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.losses import TVLoss, WeightedSum
from medsr.metrics import psnr_torch
from medsr.metrics.window import gaussian_blur
from medsr.models.blocks import ResidualBlock, conv
from medsr.train.config import Config
from medsr.train.gan.unpaired import UnpairedPatches, split_domains
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import Source
from medsr.train.tasks import AdversarialSR, _interp_like

__all__ = [
    "CinCGAN",
    "CleanupNet",
    "UnpairedDomains",
    "highpass",
    "split_domains",
    "squared_tv",
    "unpaired_domains",
]


# ---------------------------------------------------------------------- networks and losses
class CleanupNet(nn.Module):
    """``G1`` / ``G2`` of the inner cycle: LR -> LR on the same grid, ``x + body(x)``."""

    def __init__(self, dims: int, in_channels: int, channels: int = 64, blocks: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv(dims, in_channels, channels, 3), nn.LeakyReLU(0.2)]
        layers += [ResidualBlock(dims, channels, 3, act="lrelu") for _ in range(blocks)]
        layers += [conv(dims, channels, channels, 3), nn.LeakyReLU(0.2)]
        layers.append(conv(dims, channels, in_channels, 3))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def squared_tv(x: torch.Tensor) -> torch.Tensor:
    """CinCGAN's TV term: ``sum_d mean (D_d x)^2`` over the spatial axes of ``(N, C, *s)``."""
    total = x.new_zeros(())
    for d in range(2, x.ndim):
        if x.shape[d] > 1:
            total = total + torch.diff(x, dim=d).pow(2).mean()
    return total


def highpass(u: torch.Tensor, sigma: float) -> torch.Tensor:
    """``u - G_sigma * u`` per channel of ``(N, C, *s)`` (1-3 spatial axes): the detail band that
    ``cincgan.d1_input: highpass`` shows ``D1`` (not in Yuan et al. 2018). The blur is
    :func:`medsr.metrics.window.gaussian_blur` (taps reaching ``3 sigma`` pixels, reflected
    borders), so a constant image gives 0."""
    return u - gaussian_blur(u, sigma)


def _lsgan_g(logits: torch.Tensor) -> torch.Tensor:
    return ((logits - 1.0) ** 2).mean()


def _lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return ((real - 1.0) ** 2).mean() + (fake**2).mean()


# ---------------------------------------------------------------------- data
class UnpairedDomains(UnpairedPatches):
    """Training samples of CinCGAN: ``{"lr": x, "hr": y, "lr_clean": z, "lr_source",
    "hr_source"}``.

    ``x`` is a patch of an LR-domain image degraded by ``spec.degradation``; ``y`` a patch of an
    HR-domain image, ``z`` its bicubic down-sampling; ``lr_source``/``hr_source`` index
    :attr:`all_sources` (the two domains share no image). Each item is a pure function of
    ``(seed, epoch, index)``.
    """

    def __init__(
        self,
        lr_sources: Sequence[Source],
        hr_sources: Sequence[Source],
        spec: SamplingSpec,
        length: int,
        seed: int = 0,
    ) -> None:
        clean = SamplingSpec(**{**spec.__dict__, "degradation": "bicubic", "unpaired": False})
        noisy = SamplingSpec(**{**spec.__dict__, "unpaired": False})
        super().__init__(lr_sources, hr_sources, clean, noisy, length, seed)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        item, (z, src_y) = self.draw_pair(epoch, index)
        return {**item, "lr_clean": self.tensor(z, src_y, self.spec)}


def unpaired_domains(cfg: Config, sources: Sequence[Source], spec: SamplingSpec) -> UnpairedDomains:
    """The CinCGAN training set of a config (called by ``build_datamodule`` for ``task:
    cincgan``)."""
    assert cfg.cincgan is not None
    lr_sources, hr_sources = split_domains(sources, cfg.cincgan.lr_share)
    return UnpairedDomains(
        lr_sources,
        hr_sources,
        spec,
        length=cfg.samples_per_epoch(),
        seed=cfg.seed,
    )


# ---------------------------------------------------------------------- task
class CinCGAN(AdversarialSR):
    """CinCGAN (Yuan et al. 2018) as a Lightning task (see the module docstring).

    Sub-networks: ``g1``, ``g2`` (inner generators), ``model`` (SR), ``g3`` (HR -> noisy LR),
    ``discriminator`` (``D1``, LR domain) and ``discriminator_hr`` (``D2``). One optimiser holds
    the generators, one the critics (``adversarial.d_optim``). ``loss.terms`` are not used (the
    data are unpaired; the config refuses them).
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        d_lr: nn.Module,
        d_hr: nn.Module,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        # AdversarialSR's content loss is unused (unpaired data): a zero-weight placeholder
        placeholder = WeightedSum({"tv": (TVLoss(), 0.0)})
        super().__init__(cfg, model, d_lr, placeholder, val_data_range=val_data_range)
        assert cfg.cincgan is not None
        c = cfg.cincgan
        self.ccfg = c
        dims, ch = cfg.model.dims, cfg.model.in_channels
        self.g1 = CleanupNet(dims, ch, c.generator_channels, c.generator_blocks)
        self.g2 = CleanupNet(dims, ch, c.generator_channels, c.generator_blocks)
        from medsr.train.nets import DownsamplingNet

        self.g3 = DownsamplingNet(dims, ch, cfg.model.scale_tuple(), c.generator_channels, 4)
        self.discriminator_hr = d_hr

    def configure_optimizers(self) -> Any:

        g_params = [
            (f"{tag}.{n}", p)
            for tag, net in (("SR", self.model), ("G1", self.g1), ("G2", self.g2), ("G3", self.g3))
            for n, p in net.named_parameters()
        ]
        d_params = [(f"D1.{n}", p) for n, p in self.discriminator.named_parameters()]
        d_params += [(f"D2.{n}", p) for n, p in self.discriminator_hr.named_parameters()]
        return self._g_and_d_optimizers(g_params, d_params)

    def joint(self) -> bool:
        """Whether the outer cycle trains at this step (after ``cincgan.inner_steps``)."""
        return int(self.global_step) >= self.ccfg.inner_steps

    def gan_weights(self) -> tuple[float, float]:
        """Weights of the inner and outer LSGAN terms (``cincgan.inner_gan_weight`` /
        ``outer_gan_weight``, each ``adversarial.weight`` when unset; 1 in the paper)."""
        c, w = self.ccfg, self.acfg.weight
        inner = w if c.inner_gan_weight is None else c.inner_gan_weight
        outer = w if c.outer_gan_weight is None else c.outer_gan_weight
        return inner, outer

    def d1_view(self, u: torch.Tensor) -> torch.Tensor:
        """What ``D1`` sees of an LR image: ``u`` itself (the paper) or :func:`highpass` of it
        (``cincgan.d1_input: highpass``) times ``cincgan.d1_highpass_gain``."""
        if self.ccfg.d1_input == "highpass":
            return self.ccfg.d1_highpass_gain * highpass(u, self.ccfg.d1_highpass_sigma)
        return u

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        x, y, z = batch["lr"], batch["hr"], batch["lr_clean"]
        c, joint = self.ccfg, self.joint()
        d1, d2 = self.discriminator, self.discriminator_hr
        for d in (d1, d2):
            d.requires_grad_(False)
        # ---- inner cycle: noisy LR -> clean LR
        clean = self.g1(x)
        parts: dict[str, torch.Tensor] = {
            "inner_gan": _lsgan_g(d1(self.d1_view(clean))),
            "inner_cycle": F.mse_loss(self.g2(clean), x),
            "inner_identity": F.l1_loss(self.g1(z), z),
            "inner_tv": squared_tv(clean),
        }
        w_in, w_out = self.gan_weights()  # both 1 in the paper
        loss_g = (
            w_in * parts["inner_gan"]
            + c.cycle_weight * parts["inner_cycle"]
            + c.identity_weight * parts["inner_identity"]
            + c.tv_weight * parts["inner_tv"]
        )
        # ---- outer cycle: clean LR -> HR, jointly with G1
        sr = None
        if joint:
            sr = self.model(clean)
            parts["outer_gan"] = _lsgan_g(d2(sr))
            parts["outer_cycle"] = F.mse_loss(self.g3(sr), x)
            parts["outer_identity"] = F.l1_loss(self.model(z), y)
            parts["outer_tv"] = squared_tv(sr)
            loss_g = (
                loss_g
                + w_out * parts["outer_gan"]
                + c.outer_cycle_weight * parts["outer_cycle"]
                + c.outer_identity_weight * parts["outer_identity"]
                + c.outer_tv_weight * parts["outer_tv"]
            )
        elif c.sr_pretrain:
            # the paper's SR network starts as an EDSR trained on bicubic pairs: the same
            # pre-training here, on the HR domain's (z, y) pairs, while the inner cycle trains
            parts["sr_pretrain"] = F.l1_loss(self.model(z), y)
            loss_g = loss_g + c.outer_identity_weight * parts["sr_pretrain"]
        for d in (d1, d2):
            d.requires_grad_(True)
        loss_g, parts = self.regulariser.add(loss_g, parts)
        params = [p for n in (self.model, self.g1, self.g2, self.g3) for p in n.parameters()]
        self._step_g(opt_g, loss_g, params)
        # ---- critics: D1 on clean LR z vs G1(x); D2 on HR y vs SR(G1(x)); ``d_steps`` updates
        # on this batch (the generators' outputs of this step), as the other GAN tasks do
        for _ in range(self.acfg.d_steps):
            loss_d = _lsgan_d(d1(self.d1_view(z)), d1(self.d1_view(clean.detach())))
            logs = {"train/loss_d1": loss_d.detach()}
            if sr is not None:
                loss_d2 = _lsgan_d(d2(y), d2(sr.detach()))
                logs["train/loss_d2"] = loss_d2.detach()
                loss_d = loss_d + loss_d2
            self._step_d(opt_d, loss_d, list(d1.parameters()) + list(d2.parameters()), [d1, d2])
        logs["train/loss_d"] = loss_d.detach()
        parts = {k: v.detach() for k, v in parts.items()}
        self._end_step(loss_g, parts, logs, y.shape[0])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Validates the whole chain ``SR(G1(x))``; ``val/psnr_interp`` is the interpolation of
        the cleaned ``G1(x)``, ``val/psnr_interp_raw`` that of the degraded input ``x``."""
        lr, hr = batch["lr"], batch["hr"]
        super().validation_step({"lr": self.g1(lr), "hr": hr}, batch_idx)
        base = _interp_like(lr, hr).float()
        rng = self._val_range(hr)
        raw = psnr_torch(hr.float(), base, data_range=rng.float(), mse_floor=1e-20).mean()
        self.log("val/psnr_interp_raw", raw, on_epoch=True, sync_dist=True, batch_size=hr.shape[0])
