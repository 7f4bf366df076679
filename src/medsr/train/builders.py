"""Builders: a validated :class:`~medsr.train.config.Config` -> data module, network, task.

* :func:`build_datamodule` reads the training (and validation) sources, checks their channels
  against the model, and wraps a :class:`~medsr.train.datasets.PatchDataset` /
  :class:`~medsr.train.datasets.ValidationDataset` into a :class:`SRDataModule`;
* :func:`build_model` creates the generator (``medsr.models.create_model``; the auto-encoder of
  the learned feature loss for ``task: autoencoder``), optionally from earlier weights;
* :func:`build_discriminator` the critic of the GAN tasks (review section 3.3);
* :func:`build_task` the Lightning task of the config (:mod:`medsr.train.tasks`) with its loss
  (review section 2.4).

Config mistakes raise :class:`~medsr.errors.MedsrError` naming the config key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from medsr.errors import MedsrError
from medsr.normalise import Normaliser
from medsr.runtime import generator
from medsr.train.config import Config, DataSplit
from medsr.train.datasets import (
    EpochSampler,
    PatchDataset,
    ResumableLoader,
    ValidationDataset,
    seed_worker,
)
from medsr.train.holdout import hold_out_plan
from medsr.train.medical.sections import MEDICAL_TASKS
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import Source, load_split, slice_source

__all__ = [
    "SRDataModule",
    "build_datamodule",
    "build_discriminator",
    "build_model",
    "build_task",
    "sampling_spec",
]


# ---------------------------------------------------------------------- data module
class SRDataModule(L.LightningDataModule):
    """Train/validation loaders. Each epoch holds ``steps_per_epoch`` batches per process; the
    :class:`~medsr.train.datasets.EpochSampler` splits the epoch's sample keys across DDP ranks (so
    Lightning's own distributed sampler is switched off)."""

    def __init__(
        self,
        train_set: PatchDataset,
        val_set: ValidationDataset | None,
        *,
        batch_size: int,
        steps_per_epoch: int,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train_set = train_set
        self.val_set = val_set
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.num_workers = num_workers
        self.seed = seed

    def _world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return int(trainer.global_rank), int(trainer.world_size)

    def train_dataloader(self) -> DataLoader:
        rank, world = self._world()
        length = self.steps_per_epoch * self.batch_size * world
        self.train_set.length = length
        sampler = EpochSampler(length, rank=rank, world_size=world)
        return ResumableLoader(  # resumable mid-epoch (medsr.train.interrupt)
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            batches_done=self._batches_done,
            num_workers=self.num_workers,
            worker_init_fn=seed_worker,
            # a private generator: creating loader iterators never consumes the global torch RNG
            generator=generator(self.seed),
            drop_last=True,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=False,
        )

    def _batches_done(self) -> int:
        """Batches of the current data epoch trained so far (Lightning's count)."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0
        return int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None or len(self.val_set) == 0:
            return []
        return DataLoader(self.val_set, batch_size=1, shuffle=False, num_workers=0)


# ---------------------------------------------------------------------- builders
def _normaliser(cfg: Config) -> Normaliser:
    return Normaliser(cfg.data.normalisation.kind, dict(cfg.data.normalisation.params))


def sampling_spec(cfg: Config) -> SamplingSpec:
    """How the training samples of a config are cut, degraded and augmented."""
    return SamplingSpec(
        dims=cfg.model.dims,
        patch=cfg.patch_tuple(),
        scale=cfg.model.scale_tuple(),
        slice_axis=planes[0] if isinstance(planes := cfg.data.slice_axis, list) else planes,
        degradation=cfg.data.degradation,
        augment=cfg.data.augment,
        foreground_probability=cfg.data.foreground.probability,
        interpolate_lr=cfg.data.interpolate_lr,
        noise2noise=cfg.train.noise2noise if cfg.train.mode == "noise2noise" else None,
        unpaired=bool(cfg.task == "cycle" and cfg.cycle is not None and cfg.cycle.unpaired),
    )


def _split_sources(
    split: DataSplit, cfg: Config, common: dict[str, Any], norm: Normaliser
) -> list[Source]:
    """The sources of one split. With a multi-contrast reference (Zeng et al. 2018,
    :mod:`medsr.train.reference`) the reference is attached to each whole scan first, then the
    split's ``slices`` cut image and reference together (as the hold-out cuts do later)."""
    if split.reference is None:
        return load_split(split, cfg.data.slice_axis, common)
    from medsr.train.reference import attach_references

    whole = load_split(split.model_copy(update={"slices": None}), cfg.data.slice_axis, common)
    _check_channels(whole, cfg)
    sources = attach_references(
        whole,
        split.hr_dir,
        split.reference,
        pattern=split.pattern,
        limit=split.limit,
        normalisation=norm,
    )
    if split.slices is None:
        return sources
    if not isinstance(cfg.data.slice_axis, int):
        raise MedsrError(
            "config: data.*.slices needs one data.slice_axis (the axis slices are cut across)"
        )
    return [slice_source(src, split.slices, cfg.data.slice_axis) for src in sources]


def _check_channels(sources: list[Source], cfg: Config) -> None:
    """Refuses images whose channel count is not ``model.in_channels``."""
    channels = {int(s.hr.shape[0]) for s in sources}
    if channels != {cfg.model.in_channels}:
        raise MedsrError(
            f"config: model.in_channels is {cfg.model.in_channels} but the training images have "
            f"{sorted(channels)} channel(s); set data.color (y/grey/rgb) or model.in_channels"
        )


def build_datamodule(cfg: Config) -> tuple[SRDataModule, Normaliser, list[str]]:
    """Read the data of a config; returns the data module, the normaliser spec and the file
    names."""
    norm = _normaliser(cfg)
    common = {
        "color": cfg.data.color,
        "normalisation": norm,
        "foreground": cfg.data.foreground.method,
        "foreground_percentile": cfg.data.foreground.percentile,
        "seed": cfg.seed,
    }
    t = cfg.data.train
    held_out = hold_out_plan(cfg)  # validation never sees training data (medsr.train.holdout)
    train_sources = held_out.for_train(_split_sources(t, cfg, common, norm))
    if t.reference is None:  # (with a reference: checked before it is attached)
        _check_channels(train_sources, cfg)
    from medsr.train.extra_sources import add_extra_sources, apply_extra_shares

    train_sources, extra = add_extra_sources(cfg, train_sources, norm)  # review section 5
    spec = sampling_spec(cfg)
    train_set = PatchDataset(train_sources, spec, length=cfg.samples_per_epoch(), seed=cfg.seed)
    apply_extra_shares(train_set, extra)
    if cfg.task in MEDICAL_TASKS:  # section-4 tasks with their own samples (tl_net: labels)
        from medsr.train.medical.build import medical_train_set

        train_set = medical_train_set(cfg, train_sources, spec, train_set.length) or train_set
    if cfg.task == "cincgan":  # CinCGAN, review ref. [52]: LR and HR from disjoint images
        from medsr.train.gan.cincgan import unpaired_domains

        train_set = unpaired_domains(cfg, train_sources, spec)
    if cfg.task == "cycle" and cfg.cycle is not None and cfg.cycle.unpaired:
        from medsr.train.gan.circle import unpaired_scans  # GAN-CIRCLE, ref. [72]

        train_set = unpaired_scans(cfg, train_sources, spec, common)
    if isinstance(cfg.data.slice_axis, list) and isinstance(train_set, PatchDataset):
        from medsr.train.planes import MultiPlanePatches  # every plane (Mansoor et al. 2018)

        train_set = MultiPlanePatches(train_set, cfg.data.slice_axis)  # type: ignore[assignment]
    val_set = None
    if cfg.data.val is not None:
        v = cfg.data.val
        if (v.reference is None) != (t.reference is None):
            raise MedsrError("config: data.val.reference: give references for both splits or none")
        val_sources = held_out.for_val(_split_sources(v, cfg, common, norm))
        crop = cfg.data.val_crop
        crop_t = (
            None
            if crop is None
            else ([crop] * cfg.model.dims if isinstance(crop, int) else list(crop))
        )
        val_spec = SamplingSpec(**{**spec.__dict__, "augment": None, "unpaired": False})
        val_set = ValidationDataset(
            val_sources,
            val_spec,
            crop=crop_t,
            slices=cfg.data.val_slices,
            max_items=cfg.data.val_max_images,
            seed=cfg.seed,
        )
        if isinstance(cfg.data.slice_axis, list):  # validation slices of every plane
            from medsr.train.planes import validation_planes

            val_set = validation_planes(  # type: ignore[assignment]
                val_sources,
                val_spec,
                cfg.data.slice_axis,
                crop=crop_t,
                slices=cfg.data.val_slices,
                max_items=cfg.data.val_max_images,
                seed=cfg.seed,
            )
    if cfg.data.stacks is not None:  # several LR stacks per volume (Oktay et al. 2016)
        from medsr.train.stacks import StackSplit, no_degradation

        factor = int(cfg.model.scale_tuple()[0])
        train_set = StackSplit(no_degradation(train_set), cfg.data.stacks, factor)  # type: ignore
        if val_set is not None:
            val_set = StackSplit(val_set, cfg.data.stacks, factor)  # type: ignore[assignment]
    if t.reference is not None:
        from medsr.train.reference import ReferenceSplit

        train_set = ReferenceSplit(train_set, cfg.model.in_channels)  # type: ignore[assignment]
        if val_set is not None:
            val_set = ReferenceSplit(val_set, cfg.model.in_channels)  # type: ignore[assignment]
    dm = SRDataModule(
        train_set,
        val_set,
        batch_size=cfg.data.batch_size,
        steps_per_epoch=cfg.train.checkpoint_every,
        num_workers=cfg.data.num_workers,
        seed=cfg.seed,
    )
    return dm, norm, [s.name for s in train_sources]


def _load_init_weights(model: nn.Module, path: str) -> None:
    from safetensors.torch import load_file

    from medsr.models.io import weights_paths

    p = Path(path)
    tensors = p if p.suffix == ".safetensors" else weights_paths(p)[0]
    if not tensors.is_file():
        raise MedsrError(
            f"config: model.init_weights: {tensors} not found; give a model.safetensors or a run "
            "folder"
        )
    state = load_file(str(tensors))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else str(err)
        raise MedsrError(
            f"config: model.init_weights: {tensors} does not fit {type(model).__name__} ({first})"
        ) from None


def build_model(cfg: Config) -> nn.Module:
    """The generator of a config (or the auto-encoder for ``task: autoencoder``)."""
    if cfg.task == "autoencoder":
        from medsr.models.autoencoder import ConvAutoEncoder

        try:
            model: nn.Module = ConvAutoEncoder(
                dims=cfg.model.dims, in_channels=cfg.model.in_channels, **cfg.model.kwargs
            )
        except TypeError as err:
            raise MedsrError(f"config: model.kwargs: {err}") from None
    else:
        from medsr.models import create_model

        try:
            model = create_model(
                cfg.model.name,
                scale=cfg.model.scale_arg(),
                dims=cfg.model.dims,
                in_channels=cfg.model.in_channels,
                preset=cfg.model.preset,
                **cfg.model.kwargs,
            )
        except MedsrError as err:
            raise MedsrError(f"config: model: {err}") from None
        except TypeError as err:
            raise MedsrError(f"config: model.kwargs: {err}") from None
    if cfg.model.init_weights:
        _load_init_weights(model, cfg.model.init_weights)
    return model


def build_discriminator(cfg: Config, in_channels: int) -> nn.Module:
    """The discriminator of a GAN config (``medsr.models.create_model`` of ``discriminator``)."""
    from medsr.models import create_model

    assert cfg.discriminator is not None
    try:
        return create_model(
            cfg.discriminator.name,
            dims=cfg.model.dims,
            in_channels=in_channels,
            preset=cfg.discriminator.preset,
            **cfg.discriminator.kwargs,
        )
    except MedsrError as err:
        raise MedsrError(f"config: discriminator: {err}") from None
    except TypeError as err:
        raise MedsrError(f"config: discriminator.kwargs: {err}") from None


def _val_range(norm: Normaliser) -> float | None:
    return 1.0 if norm.unit_range else None


def build_task(cfg: Config, model: nn.Module, norm: Normaliser) -> L.LightningModule:
    """The LightningModule of a config's task."""
    from medsr.losses import MultiOutputLoss, build_loss_term, build_weighted_sum
    from medsr.train.nets import DownsamplingNet
    from medsr.train.tasks import AdversarialSR, SupervisedSR

    terms = {k: dict(v or {}) for k, v in cfg.loss.terms.items()}
    if cfg.task == "cycle" and cfg.cycle is not None and cfg.cycle.unpaired:
        paired = [k for k, v in terms.items() if v.get("kind", k) != "tv"]
        if paired:
            raise MedsrError(
                f"config: loss.terms.{paired[0]}: unpaired cycle training has no target for this "
                "term; keep only tv, or set cycle.unpaired: false"
            )
        if not terms:
            terms = {"tv": {"weight": 0.0}}
    loss = build_weighted_sum(terms)
    vr = _val_range(norm)
    if cfg.task in MEDICAL_TASKS:  # section-4 methods with their papers' losses
        from medsr.train.medical.build import build_medical_task

        return build_medical_task(cfg, model, loss, val_data_range=vr)
    if cfg.data.stacks is not None:  # multi-input SR (Oktay et al. 2016)
        from medsr.train.stacks import MultiStackTask

        return MultiStackTask(cfg, model, loss, val_data_range=vr)
    if cfg.data.train.reference is not None:  # multi-contrast SR (Zeng et al. 2018)
        from medsr.train.reference_task import ReferenceSR

        return ReferenceSR(cfg, model, loss, val_data_range=vr)
    if cfg.data.augment.smart is not None:  # smart augmentation, review ref. [85]
        from medsr.train.smart_augment import SmartAugmentSR

        return SmartAugmentSR(cfg, model, loss, val_data_range=vr)
    if cfg.task in ("supervised", "autoencoder"):
        multi = None
        mo = cfg.loss.multi_output
        if mo is not None:
            first = next(iter(terms.items()))
            base = build_loss_term(
                first[1].pop("kind", first[0]), {k: v for k, v in first[1].items() if k != "weight"}
            )
            multi = MultiOutputLoss(
                base,
                mo.mode,
                alpha=mo.alpha,
                alpha_min=mo.alpha_min,
                alpha_decay_steps=mo.alpha_decay_steps,
            )
        return SupervisedSR(cfg, model, loss, multi_output=multi, val_data_range=vr)
    if cfg.task == "cincgan":  # CinCGAN, review ref. [52]
        from medsr.train.gan.cincgan import CinCGAN

        ch = cfg.model.in_channels
        d_lr, d_hr = build_discriminator(cfg, ch), build_discriminator(cfg, ch)
        return CinCGAN(cfg, model, d_lr, d_hr, val_data_range=vr)
    if cfg.task == "ggan":  # G-GAN, review ref. [53]
        from medsr.train.gan.ggan import GradualGAN

        d = build_discriminator(cfg, cfg.model.in_channels)
        return GradualGAN(cfg, model, d, loss, val_data_range=vr)
    if cfg.task == "adversarial":
        return AdversarialSR(
            cfg, model, build_discriminator(cfg, cfg.model.in_channels), loss, val_data_range=vr
        )
    assert cfg.cycle is not None
    scale = cfg.model.scale_tuple()
    down = DownsamplingNet(
        cfg.model.dims, cfg.model.in_channels, scale, cfg.cycle.down.features, cfg.cycle.down.layers
    )
    from medsr.train.gan.circle import GANCircleSR  # CycleSR with GAN-CIRCLE's four losses

    return GANCircleSR(
        cfg,
        model,
        down,
        build_discriminator(cfg, cfg.model.in_channels),
        build_discriminator(cfg, cfg.model.in_channels),
        loss,
        val_data_range=vr,
    )
