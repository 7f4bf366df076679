"""The typed schema of a training recipe (``configs/*.yaml``) and its loader.

A recipe is YAML; :func:`load_config` reads it, applies ``key.path=value`` overrides from the
command line, and validates it with pydantic (unknown keys are errors, so a typo never silently
falls back to a default). Any problem is one line naming the key, e.g.
``config: optim.lr: Input should be a valid number, got 'abc'``.

Sections: ``model`` (the generator, from :func:`medsr.models.create_model`), ``discriminator``
(adversarial / cycle tasks), ``data`` (where images come from, how LR is made, patches,
augmentation, normalisation), ``loss`` (weighted terms; multi-output supervision), ``optim``
(optimiser, schedule, gradient clipping), ``regularise`` (L1 weight sparsity, dropout, DeCov
feature decorrelation), ``adversarial``, ``cycle``, ``train`` (steps, checkpoints,
validation, EMA, precision, devices, Noise2Noise mode). Relative paths are resolved from the
current directory (run ``medsr train`` from the repository root for the shipped recipes).

Profiles: a recipe may hold ``profiles: {NAME: {key.path: value, ...}}``, named sets of overrides
(``cpu``: settings that beat interpolation within minutes on a CPU; the paper's settings stay the
default). ``profile: NAME`` (``medsr train X.yaml --profile cpu``, or the override
``profile=cpu``) applies one before the command-line overrides; the run's ``config.yaml`` records
the name with the values applied (and no ``profiles``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medsr.errors import MedsrError
from medsr.train.gan.sections import CinCGANSection, GradualSection, check_gan_config
from medsr.train.medical.sections import (
    ProgressiveSection,
    SRFeatSection,
    TLSection,
    check_medical_config,
)
from medsr.train.stacks_config import StacksSection
from medsr.volume import MAX_FACTOR, parse_numbers, parse_triple

__all__ = [
    "AdversarialSection",
    "AugmentSection",
    "ClipSection",
    "Config",
    "CycleSection",
    "DataSection",
    "DataSplit",
    "DiscriminatorSection",
    "ForegroundSection",
    "LossSection",
    "ModelSection",
    "MultiOutputSection",
    "Noise2NoiseSection",
    "OptimSection",
    "RegulariseSection",
    "ScheduleSection",
    "SmartAugmentSection",
    "SyntheticSection",
    "TrainSection",
    "TransferSection",
    "apply_overrides",
    "config_to_dict",
    "load_config",
    "parse_config",
    "parse_duration",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


Scale = float | list[float]


class ModelSection(_Strict):
    """The network to train (``create_model(name, scale=, dims=, in_channels=, preset=,
    **kwargs)``)."""

    name: str
    preset: str = "paper"
    scale: Scale = 2
    dims: Literal[2, 3] = 2
    in_channels: int = Field(1, ge=1)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    #: start from these weights (a model.safetensors or a run folder), e.g. ESRGAN from its PSNR
    #: model.
    init_weights: str | None = None

    @field_validator("scale")
    @classmethod
    def _positive(cls, v: Scale) -> Scale:
        """Checked by :func:`medsr.volume.parse_numbers`: positive, finite, at most MAX_FACTOR."""
        try:
            parse_numbers(v, "model.scale", maximum=MAX_FACTOR)
        except MedsrError:
            raise ValueError(
                f"scale factors must be positive, finite and at most {MAX_FACTOR:g}"
            ) from None
        return v

    def scale_tuple(self) -> tuple[float, ...]:
        """Per spatial axis of the network (length ``dims``; :func:`medsr.volume.parse_triple`)."""
        try:
            return parse_triple(self.scale, self.dims, "model.scale", maximum=MAX_FACTOR)
        except MedsrError as err:
            raise MedsrError(f"config: {err}") from None

    def scale_arg(self) -> int | float | tuple[int | float, ...]:
        """The ``scale=`` argument for ``create_model`` (ints where the factors are whole)."""
        t = tuple(int(s) if float(s).is_integer() else s for s in self.scale_tuple())
        return t[0] if len(set(t)) == 1 else t


class DiscriminatorSection(_Strict):
    """The critic of adversarial / cycle training (a registry name with
    ``kind="discriminator"``)."""

    name: str = "srgan_d"
    preset: str = "paper"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class DataSplit(_Strict):
    """Where the images of one split come from.

    ``hr_dir``: a folder of images/volumes, one file, or a glob. ``lr_dir``: optional folder of LR
    counterparts matched by file name (explicit pairs; otherwise LR is made on the fly by
    ``data.degradation``). ``pattern`` filters names (glob), ``limit`` keeps the first N (sorted).
    ``reference``: a registered HR image of another contrast per HR file (one file, or files
    paired by name), the second input of multi-contrast SR (:mod:`medsr.train.reference`, Zeng
    et al. 2018). ``slices``: ``[start, stop]``, keep only those slices (Python bounds) of each
    volume along ``data.slice_axis`` -- train on some slices of a scan, validate on others.
    """

    hr_dir: str
    lr_dir: str | None = None
    reference: str | None = None
    pattern: str | None = None
    limit: int | None = Field(None, ge=1)
    slices: tuple[int, int] | None = None


class SmartAugmentSection(_Strict):
    """Smart augmentation (Lemley et al. 2017, review ref. [85]; :mod:`medsr.train.smart_augment`):
    a network A (``features`` wide) blends ``inputs`` HR patches into a new training pair;
    ``sr_weight`` (the paper's alpha) weights the SR loss on it, ``similarity_weight`` (beta) the
    MSE between the blend and another patch; A's learning rate is ``lr_mult`` x ``optim.lr``."""

    inputs: int = Field(2, ge=2)
    features: int = Field(16, ge=1)
    sr_weight: float = Field(0.3, ge=0)
    similarity_weight: float = Field(0.7, ge=0)
    lr_mult: float = Field(1.0, gt=0)


class AugmentSection(_Strict):
    """Augmentation (review section 5.1); geometric ones keep anatomy plausible, no colour jitter.

    ``flip``: random flips of each axis; ``rot90``/``transpose``: in planes whose axes share patch
    size and scale factor; ``noise_std``: Gaussian noise of std U(0, noise_std) added to the input
    only; ``brightness`` (additive, U(-b, b)), ``contrast`` (factor U(1-c, 1+c) about the mean) and
    ``gamma`` (exponent exp(U(-g, g))) on normalised intensities, same for input and target.
    Beyond flips (:func:`medsr.train.augment.warp`/``bias_field``), applied to HR before the
    degradation: ``rotate`` (max angle, degrees), ``scale`` (zoom in [1-s, 1+s]), ``elastic``
    (max displacement, voxels; smoothness ``elastic_sigma``), ``bias_field`` (log-field
    polynomial coefficients U(-b, b)). Example: ``{rotate: 15, scale: 0.1, bias_field: 0.3}``.
    """

    flip: bool = True
    rot90: bool = True
    transpose: bool = True
    noise_std: float = Field(0.0, ge=0)
    brightness: float = Field(0.0, ge=0)
    contrast: float = Field(0.0, ge=0, lt=1)
    gamma: float = Field(0.0, ge=0)
    rotate: float = Field(0.0, ge=0, le=180)
    scale: float = Field(0.0, ge=0, lt=1)
    elastic: float = Field(0.0, ge=0)
    elastic_sigma: float = Field(4.0, gt=0)
    bias_field: float = Field(0.0, ge=0, le=2)
    #: smart augmentation: a learned blending network (ref. [85]); None = off.
    smart: SmartAugmentSection | None = None


class ForegroundSection(_Strict):
    """Foreground-weighted patch sampling for volumes with much background.

    A patch is centred on a foreground voxel (mask from Otsu's threshold, or intensity above a
    ``percentile``) with probability ``probability``, uniformly anywhere otherwise.
    """

    method: Literal["none", "otsu", "percentile"] = "none"
    percentile: float = Field(50.0, ge=0, le=100)
    probability: float = Field(1.0, ge=0, le=1)


class NormalisationSection(_Strict):
    """Intensity normalisation (see :mod:`medsr.normalise`), stored in model.json."""

    kind: str = "percentile"
    params: dict[str, float] = Field(default_factory=dict)


class TransferSection(_Strict):
    """Natural-image patches chosen by SIFT matching to the medical training data, added to it
    (review section 5, ref. [54]; :mod:`medsr.train.patch_transfer`). ``source``: folder/glob of
    pictures (``limit``: first N); ``count`` windows of ``patch`` pixels (at most ``per_image``
    per picture); ``slices`` per medical volume give its descriptors; ``share``: their total
    sampling probability (None: weighted by crop positions like any source)."""

    source: str
    count: int = Field(32, ge=1)
    patch: int = Field(64, ge=16)
    per_image: int = Field(4, ge=1)
    limit: int | None = Field(None, ge=1)
    slices: int = Field(8, ge=1)
    share: float | None = Field(None, gt=0, lt=1)


class SyntheticSection(_Strict):
    """Synthetic HR patches from a trained generator added to the training set (review section
    5, ref. [86]; :mod:`medsr.train.synthetic`): ``generator`` = a folder from ``medsr
    train-generator``; ``count`` patches from latent vectors seeded with ``seed``; ``share``:
    their total sampling probability (None: weighted by crop positions)."""

    generator: str
    count: int = Field(64, ge=1)
    seed: int = 0
    share: float | None = Field(None, gt=0, lt=1)


class DataSection(_Strict):
    """Data: sources, LR simulation, patches, augmentation, normalisation, loading."""

    train: DataSplit
    val: DataSplit | None = None
    #: the operator A making LR from HR (a :func:`medsr.degrade.parse_degradation` spec); "none" =
    #: identity.
    degradation: str = "bicubic"
    #: colour handling of RGB pictures: "y" (BT.601 luma, the SR literature's channel), "grey",
    #: "rgb".
    color: Literal["y", "grey", "rgb"] = "y"
    normalisation: NormalisationSection = Field(default_factory=NormalisationSection)
    #: HR patch size per spatial axis of the model (a number = the same on all axes).
    patch_size: int | list[int] = 64
    #: 2D models on 3D volumes: the axis slices are cut across (0, 1 or 2), or a list of axes:
    #: each sample is a slice of one of them, drawn at random (all three planes: Mansoor et al.
    #: 2018, :mod:`medsr.train.planes`).
    slice_axis: int | list[int] | None = None
    #: several thick-slice LR stacks per volume, one per axis (multi-input SR, Oktay et al. 2016;
    #: :mod:`medsr.train.stacks`); None = one LR input made by ``degradation``.
    stacks: StacksSection | None = None
    batch_size: int = Field(16, ge=1)
    num_workers: int = Field(0, ge=0)
    augment: AugmentSection = Field(default_factory=AugmentSection)
    #: natural-image patches matched by SIFT added to the training set (ref. [54]).
    transfer: TransferSection | None = None
    #: synthetic HR patches from a trained generator (ref. [86]).
    synthetic: SyntheticSection | None = None
    foreground: ForegroundSection = Field(default_factory=ForegroundSection)
    #: give the network its LR input already interpolated (cubic) onto the HR grid (scale-1
    #: networks).
    interpolate_lr: bool = False
    #: validation: HR centre crop per image (None = whole image) and the number of slices per
    #: volume.
    val_crop: int | list[int] | None = None
    val_slices: int = Field(4, ge=1)
    val_max_images: int | None = Field(None, ge=1)

    @field_validator("slice_axis")
    @classmethod
    def _axes(cls, v: int | list[int] | None) -> int | list[int] | None:
        """0, 1 or 2, or a list of distinct ones (one axis in a list is that axis)."""
        axes = [v] if isinstance(v, int) else list(v or [])
        if v is not None and (not axes or len(set(axes)) != len(axes)):
            raise ValueError("give an axis 0, 1 or 2, or a list of distinct axes")
        if any(a not in (0, 1, 2) for a in axes):
            raise ValueError("slice axes must be 0, 1 or 2")
        return axes[0] if isinstance(v, list) and len(axes) == 1 else v


class MultiOutputSection(_Strict):
    """DRCN recursive supervision or LapSRN per-level supervision
    (:class:`~medsr.losses.MultiOutputLoss`); the first term of ``loss.terms`` is the per-output
    loss."""

    mode: Literal["drcn", "lapsrn"]
    alpha: float = Field(1.0, ge=0, le=1)
    alpha_min: float = Field(0.0, ge=0, le=1)
    alpha_decay_steps: int = Field(0, ge=0)


class LossSection(_Strict):
    """``terms``: ``{name: {weight: w, ...parameters}}`` (see :data:`medsr.losses.LOSS_TERMS`)."""

    terms: dict[str, dict[str, Any] | None] = Field(default_factory=lambda: {"l1": {"weight": 1.0}})
    multi_output: MultiOutputSection | None = None


class ScheduleSection(_Strict):
    """Learning-rate schedule, stepped every optimiser step (steps, not epochs)."""

    kind: Literal["none", "step", "multistep", "cosine"] = "none"
    step_size: int = Field(100000, ge=1)
    gamma: float = Field(0.5, gt=0)
    milestones: list[int] = Field(default_factory=list)
    min_lr: float = Field(0.0, ge=0)


class ClipSection(_Strict):
    """Gradient clipping: "norm" (total L2 norm), "value", or VDSR's adjustable clipping "vdsr"
    (each gradient clipped to [-value / lr, value / lr], Kim et al. 2016, section 3.2)."""

    kind: Literal["none", "norm", "value", "vdsr"] = "none"
    value: float = Field(0.0, ge=0)


class OptimSection(_Strict):
    """Optimiser. ``lr_mult`` maps a regular expression on parameter names to an LR multiplier
    (e.g. SRCNN's 10x smaller rate for its last layer)."""

    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = Field(1e-4, gt=0)
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = Field(0.9, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    eps: float = Field(1e-8, gt=0)
    lr_mult: dict[str, float] = Field(default_factory=dict)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    clip: ClipSection = Field(default_factory=ClipSection)


class RegulariseSection(_Strict):
    """Regularisation of the network (review section 2.4; weight decay is ``optim.weight_decay``).

    ``l1_weight``: weight of the L1 sparsity penalty on the kernels (refs. [28, 29]);
    ``decorrelation_weight``: weight of the DeCov feature-decorrelation penalty (refs. [30, 31]) on
    the output of the module ``decorrelation_layer`` (a name of ``model.named_modules()``; None =
    the last convolution before the output one, the features the reconstruction reads);
    ``dropout``: sets the probability of every dropout layer of the network (networks that have
    them, e.g. ``gan_circle``; an error for the others). Magnitude pruning with fine-tuning
    (ref. [27]) works on a trained run: ``medsr prune`` (:mod:`medsr.train.prune`). Example
    override: ``regularise.l1_weight=1e-4 regularise.decorrelation_weight=1e-3``.
    """

    l1_weight: float = Field(0.0, ge=0)
    decorrelation_weight: float = Field(0.0, ge=0)
    decorrelation_layer: str | None = None
    dropout: float | None = Field(None, ge=0, lt=1)


class AdversarialSection(_Strict):
    """GAN training (review section 3.3): the objective and how D and G alternate."""

    kind: Literal["vanilla", "lsgan", "wgan", "wgan_gp", "ragan", "hinge"] = "vanilla"
    weight: float = Field(1e-3, ge=0)
    d_steps: int = Field(1, ge=1)
    saturating: bool = False
    clip_value: float = Field(0.01, gt=0)
    gp_weight: float = Field(10.0, ge=0)
    #: generator steps with the content loss only before the adversarial game starts.
    g_warmup_steps: int = Field(0, ge=0)
    #: the discriminator's optimiser (default: a copy of ``optim``).
    d_optim: OptimSection | None = None


class DownNetSection(_Strict):
    """The HR -> LR generator F of cycle training (a small strided CNN, see
    :class:`medsr.train.nets.DownsamplingNet`)."""

    features: int = Field(64, ge=1)
    layers: int = Field(4, ge=2)


class CycleSection(_Strict):
    """Cycle training (GAN-CIRCLE / CycleGAN): loss weights and whether LR/HR are unpaired."""

    cycle_weight: float = Field(10.0, ge=0)
    identity_weight: float = Field(0.0, ge=0)
    criterion: Literal["l1", "l2"] = "l1"
    #: LR and HR patches from different scans/images (unpaired; :mod:`medsr.train.gan.circle`);
    #: otherwise paired, and ``supervised_weight`` / loss.terms also supervise G.
    unpaired: bool = True
    down: DownNetSection = Field(default_factory=DownNetSection)
    #: GAN-CIRCLE (ref. [72]): supervised L1 of G and F on pairs, the joint sparsifying
    #: transform ``tau TV(G(x)) + (1 - tau) TV(y - G(x))`` and its weight.
    supervised_weight: float = Field(0.0, ge=0)
    jst_weight: float = Field(0.0, ge=0)
    jst_tau: float = Field(0.1, ge=0, le=1)
    #: unpaired: the LR-domain scans (degraded by data.degradation); None = a disjoint
    #: ``lr_share`` of the training images.
    lr_domain: DataSplit | None = None
    lr_share: float = Field(0.5, gt=0, lt=1)


class Noise2NoiseSection(_Strict):
    """Noise2Noise (Lehtinen et al. 2018): train on pairs of independent noisy copies.

    With explicit pairs (``data.train.lr_dir``) the two copies are read from disk; otherwise the
    target is the HR patch plus fresh ``noise`` of std ``sigma`` (normalised units) and, with
    ``noisy_input``, the input gets an independent draw too. Use zero-mean ``gaussian`` noise: the
    L2 minimiser over noisy targets is their mean, the clean image only for zero-mean noise;
    ``rician`` (MR magnitude) is biased upwards (about ``sigma * sqrt(pi / 2)`` on a zero
    background), so it learns a brightened image (review ref. [90]; measured in
    ``tests/train/test_train_noise2noise.py``). Example: ``train: {mode: noise2noise,
    noise2noise: {noise: gaussian, sigma: 0.05}}``.
    """

    noise: Literal["gaussian", "rician"] = "gaussian"
    sigma: float = Field(0.05, ge=0)
    noisy_input: bool = True


class TrainSection(_Strict):
    """Length, checkpoints, validation, EMA, precision, devices, mode."""

    max_steps: int = Field(1000, ge=1)
    #: wall-clock limit of the run besides ``max_steps`` (whichever comes first), seconds or a
    #: duration such as "5m", "90s", "1h30m", "00:05:00"; None = no limit.
    max_time: float | str | None = None
    #: checkpoint interval in steps; also the length of a data "epoch" (resume restarts there).
    checkpoint_every: int = Field(500, ge=1)
    val_every: int | None = Field(None, ge=1)
    log_every: int = Field(50, ge=1)
    ema_decay: float | None = Field(None, gt=0, lt=1)
    precision: str = "auto"
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int | str = 1
    num_nodes: int = Field(1, ge=1)
    strategy: Literal["auto", "ddp", "ddp_spawn"] = "auto"
    deterministic: bool = True
    #: a bar on a terminal (tqdm / rich; elsewhere plain lines), "plain" lines, or "none"
    progress: Literal["tqdm", "rich", "plain", "none"] = "tqdm"
    threads: int | None = Field(None, ge=1)
    mode: Literal["standard", "noise2noise"] = "standard"
    noise2noise: Noise2NoiseSection = Field(default_factory=Noise2NoiseSection)


class Config(_Strict):
    """A whole training recipe."""

    name: str
    #: the profile applied (see the module docstring); recorded in the run's config.yaml.
    profile: str | None = None
    task: Literal[
        "supervised",
        "adversarial",
        "cycle",
        "autoencoder",
        "ggan",
        "cincgan",
        "tl_net",  # medsr.train.medical.tl
        "srfeat",  # medsr.train.medical.srfeat
        "progressive_gan",  # medsr.train.medical.progressive
    ] = "supervised"
    seed: int = 0
    description: str | None = None
    output_dir: str | None = None
    runs_dir: str = "runs"
    model: ModelSection
    discriminator: DiscriminatorSection | None = None
    data: DataSection
    loss: LossSection = Field(default_factory=LossSection)
    optim: OptimSection = Field(default_factory=OptimSection)
    regularise: RegulariseSection = Field(default_factory=RegulariseSection)
    adversarial: AdversarialSection | None = None
    cycle: CycleSection | None = None
    gradual: GradualSection | None = None  # task: ggan (medsr.train.gan.ggan)
    cincgan: CinCGANSection | None = None  # task: cincgan (medsr.train.gan.cincgan)
    tl: TLSection | None = None  # task: tl_net (medsr.train.medical.tl)
    srfeat: SRFeatSection | None = None  # task: srfeat (medsr.train.medical.srfeat)
    progressive: ProgressiveSection | None = None  # task: progressive_gan (train.medical)
    train: TrainSection = Field(default_factory=TrainSection)

    # ----------------------------------------------------------------- derived values
    def patch_tuple(self) -> tuple[int, ...]:
        p = self.data.patch_size
        vals = [p] * self.model.dims if isinstance(p, int) else list(p)
        if len(vals) == 1:
            vals = vals * self.model.dims
        if len(vals) != self.model.dims:
            raise MedsrError(f"config: data.patch_size: give 1 or {self.model.dims} sizes, got {p}")
        return tuple(int(v) for v in vals)

    def val_every_steps(self) -> int:
        return self.train.val_every or self.train.checkpoint_every

    def samples_per_epoch(self) -> int:
        """Length of a training set: one Lightning epoch is ``train.checkpoint_every`` steps of
        ``data.batch_size`` samples, so each checkpoint closes an epoch."""
        return self.train.checkpoint_every * self.data.batch_size


# ---------------------------------------------------------------------- loading
def _format_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    kind = first.get("type", "")
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    if kind == "extra_forbidden":
        text = f"config: {loc}: unknown key (check the spelling; see configs/*.yaml for the schema)"
    elif kind == "missing":
        text = f"config: {loc}: required key is missing"
    else:
        value = first.get("input")
        shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        text = f"config: {loc}: {msg}, got {shown}"
    more = len(err.errors()) - 1
    return text + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``a.b.c=value`` overrides set (values parsed as YAML:
    ``3`` is a number, ``[1,2]`` a list, ``null`` None, anything else a string)."""
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise MedsrError(
                f"override {item!r} is not of the form key.path=value (e.g. optim.lr=1e-4)"
            )
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise MedsrError(f"override {item!r} has an empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part) if isinstance(node, dict) else None
            if nxt is None:
                nxt = {}
                node[part] = nxt
            elif not isinstance(nxt, dict):
                raise MedsrError(f"override {item!r}: {'.'.join(parts[: i + 1])} is not a section")
            node = nxt
        node[parts[-1]] = value
    return out


def parse_duration(value: float | str | None, name: str = "train.max_time") -> float | None:
    """Seconds from a number of seconds or a text duration ("5m", "90s", "1h30m", "00:05:00")."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        if value is not None and not float(value) > 0:
            raise MedsrError(f"config: {name}: must be > 0 seconds, got {value!r}")
        return None if value is None else float(value)
    text = str(value).strip().lower()
    if re.fullmatch(r"(\d+:){1,3}\d+(\.\d*)?", text):
        seconds = 0.0
        for part, unit in zip(reversed(text.split(":")), (1, 60, 3600, 86400)):
            seconds += float(part) * unit
    else:
        parts = re.findall(r"(\d+(?:\.\d*)?)\s*([dhms])", text)
        if not parts or re.sub(r"(\d+(?:\.\d*)?)\s*([dhms])", "", text).strip():
            raise MedsrError(
                f"config: {name}: not a duration, got {value!r}; give seconds or e.g. 5m, 1h30m"
            )
        unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}
        seconds = sum(float(n) * unit[u] for n, u in parts)
    if seconds <= 0:
        raise MedsrError(f"config: {name}: must be > 0 seconds, got {value!r}")
    return seconds


def _with_profile(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``data`` with its profile (if one is asked for) and then ``overrides`` applied."""
    base = dict(data)
    profiles = base.pop("profiles", None)
    merged = apply_overrides(base, overrides)
    name = merged.get("profile")
    if name is None:
        return merged
    if profiles is None:
        if base.get("profile") == name:
            return merged  # a run's config.yaml: recorded, applied when the run started
        raise MedsrError(f"config: profile {name!r} asked for, but this recipe has no profiles")
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise MedsrError("config: profiles: give NAME: {key.path: value, ...} mappings")
    if name not in profiles:
        raise MedsrError(
            f"config: profile {name!r} is not defined in this recipe; "
            f"its profiles: {', '.join(map(str, profiles)) or 'none'}"
        )
    items = [f"{k}={json.dumps(v)}" for k, v in profiles[name].items()]
    return apply_overrides(apply_overrides(base, items), [*overrides, f"profile={name}"])


def parse_config(data: dict[str, Any], overrides: Sequence[str] = ()) -> Config:
    """Validate a recipe given as a dict (after applying its profile, then the overrides)."""
    if not isinstance(data, dict):
        raise MedsrError("config: the file must hold a mapping (key: value lines) at the top level")
    data = _with_profile(data, overrides)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as err:
        raise MedsrError(_format_error(err)) from None
    _check(cfg)
    return cfg


def load_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Config:
    """Read a YAML recipe, apply ``key.path=value`` overrides and validate it.

    Raises:
        MedsrError: a missing/unreadable file, bad YAML, or a schema violation (one line naming
            the key).
    """
    from medsr.recipes import resolve_recipe

    p = resolve_recipe(path)  # a file, or the name of a shipped recipe (`medsr recipes`)
    if not p.is_file():
        raise MedsrError(
            f"config file {p} not found; give a YAML recipe such as configs/srcnn.yaml "
            "or a recipe name (`medsr recipes` lists them)"
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise MedsrError(
            f"config {p}:{where}: not valid YAML ({getattr(err, 'problem', err)})"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise MedsrError(f"cannot read config {p} ({err})") from None
    return parse_config(data or {}, overrides)


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """Plain data (JSON/YAML-safe) of a validated config."""
    return cfg.model_dump(mode="json")


def _check(cfg: Config) -> None:
    """Cross-field rules pydantic cannot express per field."""
    from medsr.normalise import Normaliser

    parse_duration(cfg.train.max_time)
    check_gan_config(cfg)
    check_medical_config(cfg)
    try:
        Normaliser(cfg.data.normalisation.kind, dict(cfg.data.normalisation.params))
    except MedsrError as err:
        raise MedsrError(f"config: data.normalisation: {err}") from None
    scale = cfg.model.scale_tuple()
    patch = cfg.patch_tuple()
    for i, (p, s) in enumerate(zip(patch, scale)):
        if p % s if float(s).is_integer() else not float(p / s).is_integer():
            raise MedsrError(
                f"config: data.patch_size: HR patch {list(patch)} must be a multiple of the scale "
                f"{list(scale)} on axis {i}"
            )
    if cfg.task in ("adversarial", "cycle") and cfg.discriminator is None:
        raise MedsrError(
            f"config: discriminator: task {cfg.task!r} needs a discriminator section (e.g. name: "
            "srgan_d)"
        )
    if cfg.task == "adversarial" and cfg.adversarial is None:
        raise MedsrError(
            "config: adversarial: task 'adversarial' needs an adversarial section (e.g. kind: "
            "vanilla)"
        )
    if cfg.task == "cycle" and cfg.cycle is None:
        raise MedsrError(
            "config: cycle: task 'cycle' needs a cycle section (e.g. cycle_weight: 10)"
        )
    if (
        cfg.task == "cycle"
        and cfg.cycle is not None
        and cfg.cycle.lr_domain is not None
        and not cfg.cycle.unpaired
    ):
        raise MedsrError(
            "config: cycle.lr_domain: separate LR scans are for unpaired training; set "
            "cycle.unpaired: true or remove cycle.lr_domain"
        )
    if cfg.data.interpolate_lr and any(s != 1 for s in scale):
        raise MedsrError(
            "config: data.interpolate_lr: an input already on the HR grid needs model.scale: 1 "
            "(a restoration network); set one or the other"
        )
    if cfg.task == "autoencoder" and any(s != 1 for s in scale):
        raise MedsrError(
            "config: model.scale: the auto-encoder task reconstructs its input; use scale: 1"
        )
    if cfg.train.mode == "noise2noise" and cfg.task != "supervised":
        raise MedsrError("config: train.mode: noise2noise works with task: supervised only")
    if cfg.data.stacks is not None and (cfg.model.dims != 3 or cfg.task != "supervised"):
        raise MedsrError(
            "config: data.stacks: several LR stacks feed a 3D multi-input network (model.dims: 3, "
            "task: supervised, e.g. model.name: oktay_misr)"
        )
    several = isinstance(cfg.data.slice_axis, list)
    if several and (cfg.data.train.slices or (cfg.data.val and cfg.data.val.slices)):
        raise MedsrError("config: data.*.slices needs a single data.slice_axis, not a list")
    if cfg.model.dims == 3 and cfg.data.slice_axis is not None:
        raise MedsrError(
            "config: data.slice_axis: slices are for 2D models; remove it for a 3D model"
        )
    if cfg.loss.multi_output is not None and cfg.task != "supervised":
        raise MedsrError(
            "config: loss.multi_output: multi-output supervision is for task: supervised"
        )
    from medsr.losses import LOSS_TERMS

    for name, spec in cfg.loss.terms.items():
        kind = (spec or {}).get("kind", name)
        if kind not in LOSS_TERMS:
            raise MedsrError(
                f"config: loss.terms.{name}: unknown loss term {kind!r}; choose from "
                f"{', '.join(sorted(LOSS_TERMS))}"
            )
