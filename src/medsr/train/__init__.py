"""Training: typed recipes, data, Lightning tasks, and ``train(config)`` (``medsr train``).

>>> from medsr.train import train
>>> result = train("configs/srcnn.yaml", ["train.max_steps=1000"])  # doctest: +SKIP
>>> result.run_dir, result.metrics["val/psnr"]  # doctest: +SKIP

Modules: :mod:`~medsr.train.config` (the pydantic schema, :func:`load_config`),
:mod:`~medsr.train.normalise` (intensity normalisers stored in model.json; light, no torch),
:mod:`~medsr.train.data` (sources, patch sampling, augmentation, deterministic sampler),
:mod:`~medsr.train.tasks` (``SupervisedSR``, ``AdversarialSR``, ``CycleSR``),
:mod:`~medsr.train.run` (:func:`train`, :class:`RunResult`). Attributes are imported lazily so that
``import medsr.train.normalise`` does not load Lightning.
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
    "Normaliser": "medsr.train.normalise",
    "SupervisedSR": "medsr.train.tasks",
    "AdversarialSR": "medsr.train.tasks",
    "CycleSR": "medsr.train.tasks",
}

__all__ = [
    "AdversarialSR",
    "Config",
    "CycleSR",
    "Normaliser",
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
