"""Training: typed recipes, data, Lightning tasks, and ``train(config)`` (``medsr train``).

>>> from medsr.train import train
>>> result = train("configs/srcnn.yaml", ["train.max_steps=1000"])  # doctest: +SKIP
>>> result.run_dir, result.metrics["val/psnr"]  # doctest: +SKIP

Modules: :mod:`~medsr.train.config` (the pydantic schema, :func:`load_config`; the intensity
normalisation it names is :mod:`medsr.normalise`),
:mod:`~medsr.train.sources` (files into in-memory sources, colour, Otsu foreground),
:mod:`~medsr.train.sampling` (patch geometry, crops, Noise2Noise copies),
:mod:`~medsr.train.augment` (geometric and intensity augmentation),
:mod:`~medsr.train.datasets` (training/validation datasets, deterministic epoch sampler),
:mod:`~medsr.train.optim` (optimisers, schedules, gradient clipping, EMA),
:mod:`~medsr.train.tasks` (``SupervisedSR``, ``AdversarialSR``, ``CycleSR``),
:mod:`~medsr.train.builders` (config -> data module, network, task),
:mod:`~medsr.train.trainer` (the Lightning ``Trainer``, atomic checkpoints, precision),
:mod:`~medsr.train.run` (:func:`train`, :class:`RunResult`, run folder, export). Attributes are
imported lazily so that ``import medsr.train`` does not load Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "train": "medsr.train.run",
    "RunResult": "medsr.train.run",
    "Config": "medsr.train.config",
    "load_config": "medsr.train.config",
    "parse_config": "medsr.train.config",
    "SupervisedSR": "medsr.train.tasks",
    "AdversarialSR": "medsr.train.tasks",
    "CycleSR": "medsr.train.tasks",
}

__all__ = [
    "AdversarialSR",
    "Config",
    "CycleSR",
    "RunResult",
    "SupervisedSR",
    "load_config",
    "parse_config",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'medsr.train' has no attribute {name!r}")
