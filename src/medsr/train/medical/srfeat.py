"""SRFeat: GAN training with an image discriminator *and* a feature discriminator.

Review section 3.4 (GAN-based SR), ref. [63]: Park S.-J., Son H., Cho S., Hong K.-S., Lee S.,
"SRFeat: single image super-resolution with feature discrimination", ECCV 2018. Besides the usual
discriminator on pixels ``D_i``, a second one ``D_f`` judges VGG-19 feature maps (conv5) of SR and
HR images, so that the generator is pushed towards realistic *structural* features rather than
only realistic pixels (high-frequency noise fools ``D_i`` but not ``D_f``). The generator loss
(paper eq. 6) is

    L_g = L_p + lambda (L_a^i + L_a^f),

with ``L_p`` the perceptual loss on VGG-19 ``conv5`` (the recipe's ``loss.terms.perceptual``),
``L_a^i = -log D_i(G(x))`` on images and ``L_a^f = -log D_f(phi(G(x)))`` on their feature maps
``phi`` (``lambda = 1e-3``: ``adversarial.weight`` and ``srfeat.feature_weight``). Both critics
minimise their own GAN loss (any :class:`~medsr.losses.AdversarialLoss` kind; the paper: the
standard one). ``task: srfeat`` (:class:`SRFeatSR`) runs it; the VGG weights come from a local
file as the perceptual loss's (``srfeat.weights``), the feature critic is ``srfeat_fd``
(``srfeat.discriminator``), its input channels those of ``srfeat.layer``.

Without a VGG file, ``srfeat.weights: random:SEED`` gives the feature critic the maps of a
seeded, randomly initialised frozen VGG (:func:`medsr.losses.perceptual.random_vgg19`): random
CNN features are a known stand-in for trained ones (He, Wang & Hopcroft, "A powerful generative
model using random weights for the deep image representation", NeurIPS 2016; Ulyanov et al.,
"Deep Image Prior", CVPR 2018), but this is a **simplification** of SRFeat, whose ``D_f`` judges
ImageNet VGG-19 features; the run says so in a warning. The recipe's ``cpu`` profile uses it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import WeightedSum
from medsr.losses.perceptual import load_vgg19, random_vgg19
from medsr.train.config import Config
from medsr.train.medical.sections import SRFeatSection
from medsr.train.tasks import AdversarialSR

__all__ = ["FrozenFeatureMaps", "SRFeatSR", "build_feature_critic"]


class FrozenFeatureMaps(nn.Module):
    """``x -> phi_layer(x)``: frozen VGG features of one layer, kept outside the module tree (not
    in checkpoints or optimisers; it follows ``.to(device)`` only).

    ``weights``: a VGG safetensors file (:func:`~medsr.losses.perceptual.load_vgg19`), or
    ``"random"`` / ``"random:SEED"``: a seeded random He-normal VGG
    (:func:`~medsr.losses.perceptual.random_vgg19`; see the module docstring), announced by a
    one-line warning since SRFeat's feature critic judges ImageNet VGG-19 features.
    """

    def __init__(
        self,
        weights: str | os.PathLike[str],
        layer: str,
        input_range: tuple[float, float] = (0.0, 1.0),
        network: str = "vgg19",
    ) -> None:
        super().__init__()
        try:
            seed = SRFeatSection.random_seed(weights) if isinstance(weights, str) else None
        except ValueError as err:
            raise MedsrError(f"weights {weights!r}: {err}") from None
        rng = tuple(input_range)
        if seed is not None:
            net = random_vgg19((layer,), rng, network, seed)  # type: ignore[arg-type]
            warnings.warn(
                f"srfeat.weights: random:{seed}: the feature critic judges the {layer} maps of a "
                f"randomly initialised {network.upper()}, a simplification of SRFeat; set "
                f"srfeat.weights to a VGG-19 safetensors file for the paper's setting",
                stacklevel=2,
            )
        else:
            net = load_vgg19(weights, (layer,), rng, network)  # type: ignore[arg-type]
        net.eval().requires_grad_(False)
        self._frozen = [net]
        self.layer = layer
        convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
        self.channels = int(convs[-1].out_channels)

    def _apply(self, fn: Any, recurse: bool = True) -> FrozenFeatureMaps:  # type: ignore[override]
        self._frozen[0] = self._frozen[0]._apply(fn)
        return super()._apply(fn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._frozen[0](x)[self.layer]


def build_feature_critic(cfg: Config, channels: int) -> nn.Module:
    """The feature discriminator of ``srfeat.discriminator`` for ``channels`` feature maps."""
    from medsr.models import create_model

    assert cfg.srfeat is not None
    d = cfg.srfeat.discriminator
    try:
        return create_model(d.name, dims=2, in_channels=channels, preset=d.preset, **d.kwargs)
    except MedsrError as err:
        raise MedsrError(f"config: srfeat.discriminator: {err}") from None
    except TypeError as err:
        raise MedsrError(f"config: srfeat.discriminator.kwargs: {err}") from None


class SRFeatSR(AdversarialSR):
    """SRFeat training (see the module docstring).

    Each batch: ``d_steps`` updates of both critics (``D_i`` on HR vs SR images, ``D_f`` on their
    VGG feature maps; one optimiser over both, as :class:`~medsr.train.tasks.CycleSR`), then one
    generator update on ``content + w_i L_a^i + w_f L_a^f``; the first
    ``adversarial.g_warmup_steps`` batches train G with the content loss only (the paper
    pre-trains G with MSE).
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        discriminator: nn.Module,
        feature_discriminator: nn.Module,
        features: FrozenFeatureMaps,
        loss: WeightedSum,
        *,
        val_data_range: float | None = 1.0,
    ) -> None:
        super().__init__(cfg, model, discriminator, loss, val_data_range=val_data_range)
        assert cfg.srfeat is not None
        self.feature_discriminator = feature_discriminator
        self.features = features
        self.feature_weight = float(cfg.srfeat.feature_weight)

    def configure_optimizers(self) -> Any:
        d_params = [(f"D_i.{n}", p) for n, p in self.discriminator.named_parameters()]
        d_params += [(f"D_f.{n}", p) for n, p in self.feature_discriminator.named_parameters()]
        return self._g_and_d_optimizers(self.model.named_parameters(), d_params)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        adversarial_on = int(self.global_step) >= self.acfg.g_warmup_steps
        discs = [self.discriminator, self.feature_discriminator]
        logs: dict[str, torch.Tensor] = {}
        if adversarial_on:
            with torch.no_grad():
                fake = self.model(lr).detach()
                f_fake, f_real = self.features(fake), self.features(hr)
            params = [p for d in discs for p in d.parameters()]
            for k in range(self.acfg.d_steps):
                loss_di = self._d_loss(hr, fake, self.discriminator, 2 * k)
                loss_df = self._d_loss(f_real, f_fake, self.feature_discriminator, 2 * k + 1)
                self._step_d(opt_d, loss_di + loss_df, params, discs)
            logs["train/loss_d"] = loss_di.detach()
            logs["train/loss_d_feature"] = loss_df.detach()
        sr = self.model(lr)
        content, parts = self.regulariser.add(*self.loss(sr, hr))
        loss_g = content
        if adversarial_on:
            for d in discs:
                d.requires_grad_(False)
            adv_i = self._g_adv(self.discriminator, sr, hr)
            # the frozen VGG's maps of hr from the critic step (f_real): one forward pass fewer
            adv_f = self._g_adv(self.feature_discriminator, self.features(sr), f_real)
            for d in discs:
                d.requires_grad_(True)
            loss_g = loss_g + self.acfg.weight * adv_i + self.feature_weight * adv_f
            logs["train/adv_g"] = adv_i.detach()
            logs["train/adv_g_feature"] = adv_f.detach()
        self._step_g(opt_g, loss_g, self.model.parameters())
        self._end_step(loss_g, parts, logs, hr.shape[0])
