"""What :mod:`medsr.train.builders` asks of the section-4 tasks: their training sets and tasks.

:func:`medical_train_set` replaces the plain patch set where a task needs more than (LR, HR)
(``tl_net``: labelled patches); :func:`build_medical_task` builds the Lightning module of a
``task`` in :data:`~medsr.train.medical.sections.MEDICAL_TASKS` (``tl_net``, ``srfeat``,
``progressive_gan``).
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
from torch import nn

from medsr.losses import WeightedSum
from medsr.train.config import Config
from medsr.train.datasets import PatchDataset
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import Source

__all__ = ["build_medical_task", "medical_train_set"]


def _classes(model_kwargs: dict, preset: str) -> int:
    from medsr.models.medical.tl_net import PRESETS

    if "classes" in model_kwargs:
        return int(model_kwargs["classes"])
    return int(PRESETS["tl_net"].get(preset, PRESETS["tl_net"]["paper"])["classes"])


def medical_train_set(
    cfg: Config, sources: Sequence[Source], spec: SamplingSpec, length: int
) -> PatchDataset | None:
    """The training set of a section-4 task that needs one of its own, else None."""
    if cfg.task != "tl_net":
        return None
    from medsr.train.medical.labels import LabelledPatchDataset, load_label_maps

    assert cfg.tl is not None
    classes = _classes(dict(cfg.model.kwargs), cfg.model.preset)
    labels = load_label_maps(cfg.tl.labels, sources, classes)
    return LabelledPatchDataset(sources, spec, length, labels, classes, seed=cfg.seed)


def build_medical_task(
    cfg: Config, model: nn.Module, loss: WeightedSum, *, val_data_range: float | None
) -> L.LightningModule:
    """The Lightning module of a ``task`` in :data:`~medsr.train.medical.sections.MEDICAL_TASKS`."""
    if cfg.task == "srfeat":
        return _srfeat(cfg, model, loss, val_data_range)
    if cfg.task == "progressive_gan":
        from medsr.train.builders import build_discriminator
        from medsr.train.medical.progressive import ProgressiveGAN

        stages = len(getattr(model, "stages", ()))
        critics = [build_discriminator(cfg, cfg.model.in_channels) for _ in range(stages)]
        return ProgressiveGAN(cfg, model, critics, loss, val_data_range=val_data_range)
    from medsr.train.medical.tl import TLNetSR

    return TLNetSR(cfg, model, loss, val_data_range=val_data_range)


def _srfeat(
    cfg: Config, model: nn.Module, loss: WeightedSum, val_data_range: float | None
) -> L.LightningModule:
    from medsr.errors import MedsrError
    from medsr.train.builders import build_discriminator
    from medsr.train.medical.srfeat import FrozenFeatureMaps, SRFeatSR, build_feature_critic

    s = cfg.srfeat
    assert s is not None
    try:
        features = FrozenFeatureMaps(s.weights, s.layer, s.input_range, s.network)
    except MedsrError as err:
        raise MedsrError(f"config: srfeat: {err}") from None
    critic = build_feature_critic(cfg, features.channels)
    image_critic = build_discriminator(cfg, cfg.model.in_channels)
    return SRFeatSR(cfg, model, image_critic, critic, features, loss, val_data_range=val_data_range)
