"""Adversarial losses (review section 3.3, eqs. 6-7, and the GAN-based networks of 3.4.7 and 4).

A discriminator (critic) ``D`` scores images; the generator ``G`` (the SR network) is trained to
make ``D`` score its outputs as real. The variants differ in the divergence they minimise:

* ``vanilla`` — Goodfellow et al. (2014): ``max_D E log D(x) + E log(1 - D(G(z)))`` (review eq. 6);
  the generator minimises ``log(1 - D(G(z)))`` (eq. 7) or, by default, the non-saturating
  ``-log D(G(z))`` that the same paper recommends for stronger early gradients (SRGAN, eq. 6).
* ``lsgan`` — least squares, Mao et al. (2017), eq. 2 with ``a = 0, b = c = 1``.
* ``wgan`` — Wasserstein critic, Arjovsky et al. (2017): ``E C(fake) - E C(real)`` with weights
  clipped to ``[-c, c]`` after each critic step (:func:`clip_weights`).
* ``wgan_gp`` — the same critic with the gradient penalty of Gulrajani et al. (2017), eq. 3
  (:func:`gradient_penalty`), used by mDCSRN-GAN (Chen et al. 2018).
* ``ragan`` — relativistic average GAN, Jolicoeur-Martineau (2018), as in ESRGAN (Wang et al. 2018,
  eqs. 1-2): ``D_Ra(a, b) = sigmoid(C(a) - E C(b))``.
* ``hinge`` — Lim & Ye (2017) / Miyato et al. (2018).

Logits may be one number per image or a patch map (PatchGAN); means run over all entries.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError

__all__ = ["ADVERSARIAL_KINDS", "AdversarialLoss", "clip_weights", "gradient_penalty"]

AdversarialKind = Literal["vanilla", "lsgan", "wgan", "wgan_gp", "ragan", "hinge"]
ADVERSARIAL_KINDS: tuple[str, ...] = ("vanilla", "lsgan", "wgan", "wgan_gp", "ragan", "hinge")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class AdversarialLoss(nn.Module):
    """One adversarial objective, split into the discriminator's and the generator's losses.

    Args:
        kind: one of :data:`ADVERSARIAL_KINDS`.
        saturating: vanilla only: the generator minimises ``log(1 - D(G(z)))`` (review eq. 7)
            instead of the non-saturating ``-log D(G(z))``.
        clip_value: wgan only: critic weights are clipped to ``[-clip_value, clip_value]``
            (0.01 in Arjovsky et al.).
        gp_weight: wgan_gp only: the penalty's ``lambda`` (10 in Gulrajani et al.).
    """

    def __init__(
        self,
        kind: str = "vanilla",
        *,
        saturating: bool = False,
        clip_value: float = 0.01,
        gp_weight: float = 10.0,
    ) -> None:
        super().__init__()
        if kind not in ADVERSARIAL_KINDS:
            raise MedsrError(
                f"unknown adversarial loss {kind!r}; choose one of {', '.join(ADVERSARIAL_KINDS)}"
            )
        self.kind = kind
        self.saturating = bool(saturating)
        self.clip_value = float(clip_value) if kind == "wgan" else None
        self.gp_weight = float(gp_weight) if kind == "wgan_gp" else 0.0

    @property
    def needs_real_for_generator(self) -> bool:
        """The relativistic loss scores fakes against reals, so G's loss needs ``D(real)`` too."""
        return self.kind == "ragan"

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Loss the discriminator minimises, from its logits on real and generated images."""
        k = self.kind
        if k == "vanilla":
            return _bce(real, 1.0) + _bce(fake, 0.0)
        if k == "lsgan":
            return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()
        if k in ("wgan", "wgan_gp"):
            return fake.mean() - real.mean()
        if k == "ragan":
            return 0.5 * (_bce(real - fake.mean(), 1.0) + _bce(fake - real.mean(), 0.0))
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()  # hinge

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """Loss the generator minimises, from the discriminator's logits on its outputs (and on
        real images for ``ragan``)."""
        k = self.kind
        if k == "vanilla":
            return -_bce(fake, 0.0) if self.saturating else _bce(fake, 1.0)
        if k == "lsgan":
            return 0.5 * ((fake - 1.0) ** 2).mean()
        if k in ("wgan", "wgan_gp", "hinge"):
            return -fake.mean()
        if real is None:
            raise MedsrError(
                "the relativistic (ragan) generator loss needs D's logits on real images"
            )
        return 0.5 * (_bce(real - fake.mean(), 0.0) + _bce(fake - real.mean(), 1.0))


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``E (||grad_x C(x_hat)||_2 - 1)^2`` at random interpolates
    ``x_hat = e real + (1 - e) fake`` (Gulrajani et al. 2017, eq. 3 and Algorithm 1).

    Args:
        generator: a seeded :class:`torch.Generator` for the mixing weights (on the inputs'
            device), so training stays reproducible; the global RNG otherwise.
    """
    if real.shape != fake.shape:
        raise MedsrError(
            f"gradient penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ"
        )
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = torch.rand(
        shape, generator=generator, device=real.device if generator is None else generator.device
    )
    eps = eps.to(device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    with torch.enable_grad():
        scores = critic(x_hat)
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.reshape(grad.shape[0], -1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


@torch.no_grad()
def clip_weights(critic: nn.Module, value: float) -> None:
    """Clamp every parameter of ``critic`` to ``[-value, value]`` (WGAN, Arjovsky et al. 2017,
    Algorithm 1): a crude way to keep the critic Lipschitz."""
    for p in critic.parameters():
        p.clamp_(-value, value)
