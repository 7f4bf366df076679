"""Recipe sections of the GAN variants of :mod:`medsr.train.gan` (review sections 2.5 and 3.4).

* ``gradual`` (:class:`GradualSection`, ``task: ggan``): G-GAN's stage schedule, the factor
  growing x2 -> x4 -> ... (Shamsolmoali et al. 2019, the review's ref. [53]);
* ``cincgan`` (:class:`CinCGANSection`, ``task: cincgan``): the loss weights of the cycle-in-cycle
  GAN on unpaired LR/HR sets (Yuan et al. 2018, the review's ref. [52]).

They live beside their tasks and are plugged into :class:`medsr.train.config.Config`;
:func:`check_gan_config` holds their cross-field rules (called by the config loader).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from medsr.errors import MedsrError

if TYPE_CHECKING:
    from medsr.train.config import Config

__all__ = ["CinCGANSection", "GradualSection", "check_gan_config", "stage_lengths"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def stage_lengths(stage_steps: int | list[int], stages: int, where: str, unit: str) -> list[int]:
    """The lengths of all but the last of the ``stages`` stages of a generator trained x2 ``unit``
    by x2 ``unit`` (G-GAN's levels, the progressive GAN's stages): one number serves every stage,
    a list gives each; the last stage runs to ``train.max_steps``.

    Raises:
        MedsrError: a list of another length, or a length below 1 (naming the key ``where``).
    """
    s = stage_steps
    out = [int(s)] * (stages - 1) if isinstance(s, int) else [int(v) for v in s]
    if len(out) != stages - 1 or any(v < 1 for v in out):
        raise MedsrError(
            f"config: {where}: the generator has {stages} x2 {unit}, give "
            f"{stages - 1} positive stage lengths (or one number), got {s!r}"
        )
    return out


class GradualSection(_Strict):
    """G-GAN's gradual training (``task: ggan``, :class:`medsr.train.gan.ggan.GradualGAN`).

    The generator is a cascade of x2 levels (``forward_all``: ``progressive_gan``, ``lapsrn``,
    ``ddpn``); stage ``k`` trains the output of level ``k`` (factor ``2**k``) against HR
    resampled to that size. ``stage_steps``: the length of each stage but the last (one number:
    the same for every stage), the last one runs to ``train.max_steps``; ``fade_steps``: steps
    over which a new level is blended in, ``alpha * new + (1 - alpha) * up2(previous)``
    (Karras et al. 2018's fade-in; 0 = switch at once). Example: ``gradual: {stage_steps:
    [20000], fade_steps: 2000}`` for x4.
    """

    stage_steps: int | list[int] = Field(10000)
    fade_steps: int = Field(0, ge=0)

    def lengths(self, stages: int) -> list[int]:
        """Steps of stages ``1 .. stages - 1`` (the last stage has no end)."""
        return stage_lengths(self.stage_steps, stages, "gradual.stage_steps", "levels")


class CinCGANSection(_Strict):
    """CinCGAN's loss weights (``task: cincgan``, :class:`medsr.train.gan.cincgan.CinCGAN`).

    Yuan et al. 2018, eqs. 1-8: the inner cycle (noisy LR -> clean LR, ``G1``/``G2``/``D1``)
    weighs GAN : cycle : identity : TV as ``1 : w_cyc : w_idt : w_tv`` (10, 5, 0.5); the outer
    cycle (clean LR -> HR by the SR network, back with ``G3``, ``D2``) as ``1 : outer_cyc :
    outer_idt : outer_tv`` (10, 5, 2). ``lr_share``: the share of the training images (whole
    images/scans, sorted names, every ``1/lr_share``-th) that form the LR domain, degraded by
    ``data.degradation``; the others form the HR domain, so no LR sample comes from an image the
    HR samples are drawn from. ``generator_channels``/``generator_blocks``: size of the inner
    generators ``G1``, ``G2`` and of ``G3`` (the paper's: 64 channels, 6 residual blocks).
    ``inner_steps``: steps that train the inner cycle alone before the joint training (the
    paper trains it first). ``sr_pretrain``: during those steps also train the SR network on
    bicubic pairs of the HR domain, ``outer_identity_weight * ||SR(z) - y||_1`` (the paper
    starts from an EDSR trained on bicubic pairs; this does it in the same run).
    ``inner_gan_weight`` / ``outer_gan_weight``: weights of the two LSGAN terms (``None``:
    ``adversarial.weight``; the paper weighs both 1).
    ``d1_input``: what ``D1`` judges, ``image`` (the paper: ``z`` and ``G1(x)`` themselves) or
    ``highpass`` (not in the paper: ``u - G_s * u``, the image minus its Gaussian blur of
    ``d1_highpass_sigma`` LR pixels, where white noise dominates the content), multiplied by
    ``d1_highpass_gain`` (the band is a few hundredths of the intensity range: a gain brings it to
    the scale D1's first layer is initialised for).
    As in the paper, GAN terms are least squares, cycle terms mean squared, identity terms L1,
    TV the squared finite differences.
    """

    cycle_weight: float = Field(10.0, ge=0)
    identity_weight: float = Field(5.0, ge=0)
    tv_weight: float = Field(0.5, ge=0)
    outer_cycle_weight: float = Field(10.0, ge=0)
    outer_identity_weight: float = Field(5.0, ge=0)
    outer_tv_weight: float = Field(2.0, ge=0)
    lr_share: float = Field(0.5, gt=0, lt=1)
    inner_steps: int = Field(0, ge=0)
    generator_channels: int = Field(64, ge=1)
    generator_blocks: int = Field(6, ge=0)
    sr_pretrain: bool = False
    inner_gan_weight: float | None = Field(None, ge=0)
    outer_gan_weight: float | None = Field(None, ge=0)
    d1_input: Literal["image", "highpass"] = "image"
    d1_highpass_sigma: float = Field(1.0, gt=0)
    d1_highpass_gain: float = Field(1.0, gt=0)


def check_gan_config(cfg: Config) -> None:
    """Cross-field rules of ``task: ggan`` and ``task: cincgan``."""
    if cfg.task not in ("ggan", "cincgan"):
        return
    if cfg.discriminator is None:
        raise MedsrError(
            f"config: discriminator: task {cfg.task!r} needs a discriminator section (e.g. name: "
            "srgan_d)"
        )
    if cfg.task == "ggan":
        if cfg.gradual is None:
            raise MedsrError(
                "config: gradual: task 'ggan' needs a gradual section (e.g. stage_steps: 10000)"
            )
        if cfg.adversarial is None or cfg.adversarial.kind != "lsgan":
            raise MedsrError(
                "config: adversarial.kind: G-GAN is a least-squares GAN; give an adversarial "
                "section with kind: lsgan"
            )
        bad = [s for s in cfg.model.scale_tuple() if not _power_of_two(s)]
        if bad:
            raise MedsrError(
                f"config: model.scale: G-GAN grows the factor by x2 stages; give powers of two, "
                f"got {cfg.model.scale}"
            )
    if cfg.task == "cincgan":
        if cfg.cincgan is None:
            raise MedsrError("config: cincgan: task 'cincgan' needs a cincgan section ({} works)")
        if cfg.adversarial is None or cfg.adversarial.kind != "lsgan":
            raise MedsrError(
                "config: adversarial.kind: CinCGAN's GAN losses are least squares; give an "
                "adversarial section with kind: lsgan"
            )
        if cfg.loss.terms != {"l1": {"weight": 1.0}} or cfg.loss.multi_output is not None:
            raise MedsrError(
                "config: loss: CinCGAN's losses are fixed by the paper (weights in the cincgan "
                "section); remove the loss section"
            )
        if cfg.data.interpolate_lr or cfg.data.train.lr_dir is not None:
            raise MedsrError(
                "config: data: CinCGAN draws its LR domain from data.train images degraded by "
                "data.degradation; remove data.train.lr_dir and data.interpolate_lr"
            )


def _power_of_two(s: float) -> bool:
    n = int(s)
    return float(s).is_integer() and n >= 2 and n & (n - 1) == 0
