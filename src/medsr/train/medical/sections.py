"""Recipe sections of the section-4 training tasks of :mod:`medsr.train.medical`.

* ``tl`` (:class:`TLSection`, ``task: tl_net``): the label maps and the two stages of the T-L
  network / ACNN-SR (Oktay et al. 2018, the review's ref. [80]);
* ``progressive`` (:class:`ProgressiveSection`, ``task: progressive_gan``): the stage schedule
  and triplet loss of the progressive GAN (Mahapatra et al. 2019, the review's ref. [66]);
* ``srfeat`` (:class:`SRFeatSection`, ``task: srfeat``): the VGG feature maps and the feature
  discriminator of SRFeat (Park et al. 2018, the review's ref. [63]).

They are plugged into :class:`medsr.train.config.Config`; :func:`check_medical_config` holds
their cross-field rules (called by the config loader). Only pydantic here (no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medsr.errors import MedsrError
from medsr.train.gan.sections import stage_lengths

if TYPE_CHECKING:
    from medsr.train.config import Config

__all__ = [
    "MEDICAL_TASKS",
    "FeatureCriticSection",
    "ProgressiveSection",
    "SRFeatSection",
    "TLSection",
    "check_medical_config",
]

#: the ``task`` values whose Lightning modules live in :mod:`medsr.train.medical`
MEDICAL_TASKS = ("tl_net", "srfeat", "progressive_gan")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class TLSection(_Strict):
    """The T-L network / ACNN-SR training (``task: tl_net``,
    :class:`medsr.train.medical.tl.TLNetSR`).

    ``labels``: the segmentation maps of the training images (integer labels 0 .. classes - 1 on
    the image's grid): one file for one training image, or a file, folder or glob whose files
    pair with the training images by file name without extension. For development the recipe
    uses the built-in ``brain_labels`` (CSF / grey / white matter of the MNI template the
    ``brain`` sample is made from). Stage 1 (``prior_steps`` steps) trains the T-L network on
    them: the label auto-encoder's cross-entropy plus ``code_weight`` x the predictor's squared
    code error; stage 2 (to ``train.max_steps``) freezes it and trains the SR network with
    ``loss.terms`` (the paper: smooth L1) plus ``latent_weight`` x the squared distance between
    the codes of the SR output and of the HR truth. ``prior_lr``: stage 1's learning rate
    (default ``optim.lr``).
    """

    labels: str
    prior_steps: int = Field(1000, ge=1)
    code_weight: float = Field(1.0, gt=0)
    latent_weight: float = Field(0.01, gt=0)
    prior_lr: float | None = Field(None, gt=0)


class ProgressiveSection(_Strict):
    """The progressive GAN's stage-by-stage training (``task: progressive_gan``,
    :class:`medsr.train.medical.progressive.ProgressiveGAN`; Mahapatra et al. 2019).

    The generator is a cascade of x2 stages (``progressive_gan``), each with its own discriminator
    (``discriminator`` section, one copy per stage). ``stage_steps``: the length of each stage but
    the last (one number: the same for each), the last runs to ``train.max_steps``; stage ``k``
    trains generator stage ``k`` (earlier stages frozen with ``freeze_previous``) and critic ``k``
    on HR resampled to its grid. ``triplet_weight`` / ``margin``: the triplet loss
    ``max(0, d(S_k, HR_k) - d(S_k, up(S_{k-1})) + margin)`` (``d``: mean squared difference per
    image, on normalised intensities).
    """

    stage_steps: int | list[int] = Field(10000)
    triplet_weight: float = Field(1.0, gt=0)
    margin: float = Field(0.01, ge=0)
    freeze_previous: bool = True

    def lengths(self, stages: int) -> list[int]:
        """Steps of stages ``0 .. stages - 2`` (the last stage has no end)."""
        return stage_lengths(self.stage_steps, stages, "progressive.stage_steps", "stages")


class FeatureCriticSection(_Strict):
    """The feature discriminator (a registry name with ``kind="discriminator"``); its input
    channels are those of the VGG layer it judges."""

    name: str = "srfeat_fd"
    preset: str = "paper"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class SRFeatSection(_Strict):
    """SRFeat's feature discrimination (``task: srfeat``,
    :class:`medsr.train.medical.srfeat.SRFeatSR`; Park et al., ECCV 2018).

    ``weights``: the local VGG safetensors file (as the perceptual loss's; medsr never
    downloads), or ``random`` / ``random:SEED`` (stored as ``random:SEED``, ``random`` is
    ``random:0``): a seeded, randomly initialised frozen VGG instead
    (:func:`medsr.losses.perceptual.random_vgg19`; random-weight features as a stand-in for
    trained ones, He, Wang & Hopcroft, NeurIPS 2016) -- a simplification of SRFeat, whose
    feature critic judges ImageNet VGG-19 features; a file literally named ``random`` is given
    as ``./random``. ``network``: vgg19 (the paper) or vgg16, ``layer``: the feature maps the
    feature discriminator sees (the paper: VGG-19 conv5, ``relu5_4``), ``input_range``: the
    images' normalised range. ``feature_weight``: the weight of the feature-GAN term in the
    generator loss (the image-GAN term's is ``adversarial.weight``; both 1e-3 in the paper).
    ``discriminator``: the feature critic (``srfeat_fd``).
    """

    weights: str
    network: Literal["vgg19", "vgg16"] = "vgg19"
    layer: str = "relu5_4"
    input_range: tuple[float, float] = (0.0, 1.0)
    feature_weight: float = Field(1e-3, ge=0)
    discriminator: FeatureCriticSection = Field(default_factory=FeatureCriticSection)

    @field_validator("weights", mode="before")
    @classmethod
    def _random_or_path(cls, value: Any) -> str:
        if not isinstance(value, str):  # e.g. the override `srfeat.weights=random:` (YAML: a map)
            raise ValueError(_WEIGHTS_FORMS)  # noqa: TRY004 - pydantic reports ValueError only
        seed = cls.random_seed(value)
        return value if seed is None else f"random:{seed}"

    @staticmethod
    def random_seed(weights: str) -> int | None:
        """The seed of a ``random`` / ``random:SEED`` value of ``weights`` (``random``: 0), or
        None for a file path. Raises ValueError for a malformed ``random:...``."""
        if weights == "random":
            return 0
        if not weights.startswith("random:"):
            return None
        text = weights.removeprefix("random:").strip()
        if not text.isdecimal():
            raise ValueError(_WEIGHTS_FORMS)
        return int(text)


_WEIGHTS_FORMS = (
    "give a VGG safetensors file, 'random' or 'random:SEED' with SEED a non-negative integer "
    "(e.g. random:0)"
)


def _require_sections(cfg: Config, *needs: tuple[str, str]) -> None:
    """Refuse a config whose task needs a section it lacks: ``needs`` holds ``(key, what to
    give)`` pairs, checked in order (the first missing one is named)."""
    for key, what in needs:
        if getattr(cfg, key) is None:
            raise MedsrError(f"config: {key}: task {cfg.task!r} needs {what}")


def check_medical_config(cfg: Config) -> None:
    """Cross-field rules of the section-4 tasks (one line naming the key)."""
    if cfg.task == "tl_net":
        if cfg.tl is None:
            raise MedsrError(
                "config: tl: task 'tl_net' needs a tl section (e.g. labels: LABELS.nii.gz)"
            )
        if cfg.model.name != "tl_net":
            raise MedsrError(
                f"config: model.name: task 'tl_net' trains the tl_net network, got "
                f"{cfg.model.name!r}"
            )
        if cfg.tl.prior_steps >= cfg.train.max_steps:
            raise MedsrError(
                f"config: tl.prior_steps: the T-L stage ({cfg.tl.prior_steps} steps) must end "
                f"before train.max_steps ({cfg.train.max_steps}) so that the SR network trains"
            )
        if cfg.data.train.lr_dir is not None:
            raise MedsrError(
                "config: data.train.lr_dir: task 'tl_net' simulates LR from the labelled HR "
                "images; remove lr_dir"
            )
    elif cfg.tl is not None:
        raise MedsrError(f"config: tl: the tl section is for task 'tl_net', not {cfg.task!r}")
    if cfg.task == "progressive_gan":
        _require_sections(
            cfg,
            ("progressive", "a progressive section (e.g. stage_steps: 10000)"),
            ("discriminator", "a discriminator section (one copy per stage, e.g. srgan_d)"),
            ("adversarial", "an adversarial section (e.g. kind: vanilla, weight: 1.0e-3)"),
        )
        if cfg.model.name != "progressive_gan":
            raise MedsrError(
                "config: model.name: task 'progressive_gan' trains the progressive_gan network, "
                f"got {cfg.model.name!r}"
            )
    elif cfg.progressive is not None:
        raise MedsrError(
            f"config: progressive: the progressive section is for task 'progressive_gan', not "
            f"{cfg.task!r}"
        )
    if cfg.task == "srfeat":
        _require_sections(
            cfg,
            ("srfeat", "an srfeat section (weights: VGG19.safetensors)"),
            ("discriminator", "a discriminator section (the image critic, e.g. srgan_d)"),
            ("adversarial", "an adversarial section (e.g. kind: vanilla, weight: 1.0e-3)"),
        )
        if cfg.model.dims != 2:
            raise MedsrError(
                "config: model.dims: task 'srfeat' feeds VGG feature maps of 2D images; use dims: 2"
            )
    elif cfg.srfeat is not None:
        raise MedsrError(
            f"config: srfeat: the srfeat section is for task 'srfeat', not {cfg.task!r}"
        )
