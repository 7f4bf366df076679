"""GAN-CIRCLE training: the four losses of the paper, paired or on truly unpaired scans (review
section 4, ref. [72]).

You C., Li G., Zhang Y., et al., Wang G., "CT super-resolution GAN constrained by the identical,
residual, and cycle learning ensemble (GAN-CIRCLE)", IEEE Trans. Med. Imaging 39(1):188-203
(2020), arXiv:1808.04256. With ``G: LR -> HR`` (``model``), ``F: HR -> LR`` (``down``), the
critics ``D_Y`` (HR domain, ``discriminator``) and ``D_X`` (LR domain, ``discriminator_lr``),
LR images ``x`` and HR images ``y``, the generators minimise (paper section II, eqs. 1-8)::

    L = L_WGAN(D_Y, G) + L_WGAN(D_X, F)                         adversarial (Wasserstein, GP)
        + l_cyc (||F(G(x)) - x||_1 + ||G(F(y)) - y||_1)          cycle consistency
        + l_idt (||G(y) - y||_1 + ||F(x) - x||_1)                identity
        + l_jst (tau TV(G(x)) + (1 - tau) TV(y - G(x)))          joint sparsifying transform
        + l_sup (||G(x) - y||_1 + ||F(y) - x||_1)                supervised (paired data only)

and the critics the WGAN-GP loss ``E D(fake) - E D(real) + l_gp E (||grad D(mix)||_2 - 1)^2``
(``adversarial.kind: wgan_gp``; any other :class:`~medsr.losses.AdversarialLoss` kind works too).
Weights in ``cycle``: ``cycle_weight``, ``identity_weight``, ``jst_weight``, ``jst_tau``,
``supervised_weight``; the recipe ``configs/gan_circle.yaml`` uses the authors' released code's
values (cycle 1, identity 0.5, supervised 0.5, tau 0.1; see the recipe for the JST weight).

Unpaired data (``cycle.unpaired: true``, :class:`UnpairedScans`): LR and HR patches come from
*different* scans or images -- the LR domain is ``cycle.lr_domain`` (other scans, or other slices
of a scan, degraded by ``data.degradation``) or, without it, a disjoint share
(``cycle.lr_share``) of the training images; no LR patch has an HR counterpart, and the
supervised term is absent.

Simplified (documented in the rows of the review map):

* Grids: ``G`` up-samples (the paper's generator, :mod:`medsr.models.medical.gan_circle`), so
  ``G(y)`` lies on a grid ``scale`` times finer than ``y`` and ``F(x)`` on a coarser one than
  ``x``. Where the grids differ, the identity loss compares ``G(y)`` area-averaged back onto
  ``y``'s grid with ``y``, and ``F(x)`` with ``x`` area-averaged onto ``F(x)``'s grid: each
  generator changes nothing but the grid of an image already in its output domain. With grid-
  keeping generators (``data.interpolate_lr: true``, ``model.scale: 1``) it is the paper's term.
* JST on unpaired data: ``y - G(x)`` has no meaning without pairs; the second term then uses the
  one output of ``G`` that has an HR truth, ``G(F(y))``: ``tau TV(G(x)) + (1 - tau) TV(y -
  G(F(y)))``.
* ``F`` is :class:`~medsr.train.nets.DownsamplingNet` (strided convolutions), not a second copy of
  the generator; the critics see the current fakes (no history pool of 50 as in the code).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from medsr.errors import MedsrError
from medsr.losses import total_variation
from medsr.train.config import Config
from medsr.train.gan.unpaired import UnpairedPatches, split_domains
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import Source, load_split
from medsr.train.tasks import CycleSR

__all__ = ["GANCircleSR", "UnpairedScans", "jst_loss", "resize_area", "unpaired_scans"]


# ---------------------------------------------------------------------- losses
def resize_area(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``x`` (``(N, C, *spatial)``) area-averaged (or, where it grows, nearest-copied) onto
    ``size``; ``x`` itself when it already has that size."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    shrink = all(int(n) >= int(s) for n, s in zip(x.shape[2:], size))
    return F.interpolate(x, size=[int(s) for s in size], mode="area" if shrink else "nearest")


def jst_loss(output: torch.Tensor, truth: torch.Tensor, tau: float) -> torch.Tensor:
    """GAN-CIRCLE's joint sparsifying transform loss (You et al. 2020, section II-B, eq. 6):
    ``tau TV(output) + (1 - tau) TV(truth - output)``, TV the anisotropic mean total variation
    (:func:`medsr.losses.total_variation`): the output and its error should both be sparse in
    the gradient domain.

    Example:
        >>> y = torch.zeros(1, 1, 4, 4); y[..., 2:] = 1.0
        >>> float(jst_loss(y, y, 0.5))  # TV(y) = 1/3, the error is zero
        0.1666666716337204
    """
    if output.shape != truth.shape:
        raise MedsrError(
            f"JST loss: shapes differ {tuple(output.shape)} vs {tuple(truth.shape)}"
        )
    if not 0.0 <= tau <= 1.0:
        raise MedsrError(f"JST loss: tau must be in [0, 1], got {tau}")
    return tau * total_variation(output) + (1.0 - tau) * total_variation(truth - output)


# ---------------------------------------------------------------------- data
class UnpairedScans(UnpairedPatches):
    """Training samples of unpaired GAN-CIRCLE: ``{"lr", "hr", "lr_source", "hr_source"}``.

    ``hr`` is a patch of an HR-domain source; ``lr`` a patch of an LR-domain source (degraded by
    the sampling spec's degradation); the two source lists share no image, and the indices
    ``lr_source`` / ``hr_source`` point into :attr:`all_sources` so tests and users can check
    it. Each item is a pure function of ``(seed, epoch, index)``.
    """

    def __init__(
        self,
        lr_sources: Sequence[Source],
        hr_sources: Sequence[Source],
        spec: SamplingSpec,
        length: int,
        seed: int = 0,
    ) -> None:
        shared = {id(s) for s in lr_sources} & {id(s) for s in hr_sources}
        if shared:
            raise MedsrError("unpaired GAN-CIRCLE data: the LR and HR domains share an image")
        paired = SamplingSpec(**{**spec.__dict__, "unpaired": False})
        super().__init__(lr_sources, hr_sources, paired, paired, length, seed)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        return self.draw_pair(epoch, index)[0]


def _overlap(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    """Whether two ``slices`` ranges may share a slice (None = the whole scan; negative bounds
    are treated as overlapping, which is the safe answer)."""
    if a is None or b is None or min(*a, *b) < 0:
        return True
    return max(a[0], b[0]) < min(a[1], b[1])


def _files(split: Any) -> list[Any]:
    from medsr.train.sources import list_files

    return list_files(split.hr_dir, split.pattern, split.limit)


def unpaired_scans(
    cfg: Config, train_sources: Sequence[Source], spec: SamplingSpec, common: dict[str, Any]
) -> UnpairedScans:
    """The unpaired training set of ``task: cycle`` (called by ``build_datamodule``).

    ``cycle.lr_domain`` given: its scans/images (read like ``data.train``, with ``common``: the
    colour, normaliser and foreground options) are the LR domain, the training sources the HR
    domain; a file in both must be split with ``slices`` that do not overlap. Otherwise the
    training images are split into two disjoint sets (``cycle.lr_share`` of them LR)."""
    c = cfg.cycle
    assert c is not None
    if isinstance(cfg.data.slice_axis, list):
        raise MedsrError(
            "config: data.slice_axis: unpaired cycle training cuts one plane; give one axis"
        )
    if c.lr_domain is None:
        if len(train_sources) < 2:
            raise MedsrError(
                "config: cycle.lr_domain: unpaired GAN-CIRCLE needs LR and HR from different "
                "scans/images; give cycle.lr_domain (other scans, or other slices of this one) "
                "or at least 2 training images to split"
            )
        lr_sources, hr_sources = split_domains(train_sources, c.lr_share)
    else:
        d = c.lr_domain
        lr_sources = load_split(d, cfg.data.slice_axis, common)
        hr_sources = list(train_sources)
        names = {s.name for s in lr_sources}
        splits = [("data.train", cfg.data.train, {s.name for s in hr_sources})]
        if cfg.data.val is not None:  # nor may the LR domain hold validation images
            splits.append(("data.val", cfg.data.val, {p.name for p in _files(cfg.data.val)}))
        for where, split, files in splits:
            same = names & files
            if same and _overlap(split.slices, d.slices):
                raise MedsrError(
                    f"config: cycle.lr_domain: {min(same)} is in {where} too; give "
                    f"{where}.slices and cycle.lr_domain.slices that do not overlap (unpaired "
                    "domains and validation must not share images)"
                )
    return UnpairedScans(
        lr_sources,
        hr_sources,
        spec,
        length=cfg.samples_per_epoch(),
        seed=cfg.seed,
    )


# ---------------------------------------------------------------------- task
class GANCircleSR(CycleSR):
    """GAN-CIRCLE (You et al. 2020) as a Lightning task: see the module docstring for the loss.

    Per batch: one generator update of ``G`` and ``F`` on the sum of the terms, then
    ``adversarial.d_steps`` updates of both critics. ``loss.terms`` (e.g. ``tv``) are added on
    ``(G(x), y)`` as before; on unpaired data only target-free terms are allowed. Every term is
    logged under ``train/<name>`` (``adv_g``, ``cycle``, ``identity``, ``jst``, ``supervised``).
    """

    def _identity(self, lr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        g_y = self.model(hr)
        f_x = self.down(lr)
        if g_y.shape == hr.shape and f_x.shape == lr.shape:  # grid-keeping: the paper's term
            return self.identity_loss(g_y, hr, f_x, lr)
        return self.identity_loss(
            resize_area(g_y, hr.shape[2:]), hr, f_x, resize_area(lr, f_x.shape[2:])
        )

    def generator_terms(
        self, lr: torch.Tensor, hr: torch.Tensor, *, adversarial: bool = True
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The generators' loss terms on one batch (unweighted, keyed ``cycle``, ``identity``,
        ``jst``, ``supervised``, ``adv_g``; a term whose weight is 0 is left out, ``supervised``
        on unpaired data too) and the outputs ``{"sr": G(x), "lr_fake": F(y)}``."""
        c = self.ccfg
        sr = self.model(lr)  # G(x)
        lr_fake = self.down(hr)  # F(y)
        hr_cycled = self.model(lr_fake)  # G(F(y))
        terms: dict[str, torch.Tensor] = {
            "cycle": self.cycle_loss(lr, self.down(sr), hr, hr_cycled),
        }
        if c.identity_weight > 0:
            terms["identity"] = self._identity(lr, hr)
        if c.jst_weight > 0:
            # paired: y is G(x)'s truth; unpaired: G(F(y)) is the G output that has one
            terms["jst"] = (
                jst_loss(sr, hr, c.jst_tau)
                if not c.unpaired
                else c.jst_tau * total_variation(sr)
                + (1.0 - c.jst_tau) * total_variation(hr - hr_cycled)
            )
        if c.supervised_weight > 0 and not c.unpaired:
            terms["supervised"] = F.l1_loss(sr, hr) + F.l1_loss(lr_fake, lr)
        if adversarial and self.acfg.weight > 0:
            for d in (self.discriminator, self.discriminator_lr):
                d.requires_grad_(False)
            terms["adv_g"] = self._g_adv(self.discriminator, sr, hr) + self._g_adv(
                self.discriminator_lr, lr_fake, lr
            )
            for d in (self.discriminator, self.discriminator_lr):
                d.requires_grad_(True)
        return terms, {"sr": sr, "lr_fake": lr_fake}

    def term_weights(self) -> dict[str, float]:
        """The weight of each term of :meth:`generator_terms`."""
        c = self.ccfg
        return {
            "cycle": c.cycle_weight,
            "identity": c.identity_weight,
            "jst": c.jst_weight,
            "supervised": c.supervised_weight,
            "adv_g": self.acfg.weight,
        }

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        lr, hr = batch["lr"], batch["hr"]
        adversarial_on = int(self.global_step) >= self.acfg.g_warmup_steps
        # ---- generators G and F
        terms, out = self.generator_terms(lr, hr, adversarial=adversarial_on)
        weights = self.term_weights()
        loss_g = sum(weights[k] * v for k, v in terms.items())
        logs = {f"train/{k}": v.detach() for k, v in terms.items()}
        content, parts = self.regulariser.add(*self.loss(out["sr"], hr))
        loss_g = loss_g + content
        self._step_g(opt_g, loss_g, list(self.model.parameters()) + list(self.down.parameters()))
        # ---- critics D_Y (HR) and D_X (LR)
        if adversarial_on:
            fake_hr, fake_lr = out["sr"].detach(), out["lr_fake"].detach()
            params = list(self.discriminator.parameters()) + list(
                self.discriminator_lr.parameters()
            )
            for k in range(self.acfg.d_steps):
                loss_d = self._d_loss(hr, fake_hr, self.discriminator, 2 * k)
                loss_d = loss_d + self._d_loss(lr, fake_lr, self.discriminator_lr, 2 * k + 1)
                self._step_d(opt_d, loss_d, params, [self.discriminator, self.discriminator_lr])
            logs["train/loss_d"] = loss_d.detach()
        self._end_step(loss_g, parts, logs, hr.shape[0])
