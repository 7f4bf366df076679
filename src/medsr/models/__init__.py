"""The networks of the review, behind one registry.

>>> from medsr.models import create_model, list_models
>>> net = create_model("srcnn", scale=2, dims=2, in_channels=1, preset="paper")

Folders follow the review: ``natural/`` holds the networks of section 3.4 (SRCNN ... ESRGAN),
``medical/`` those of section 4, ``blocks/`` the shared pieces (2D/3D convolutions, up-samplers),
``discriminators.py`` the adversarial critics, ``ensemble.py`` the test-time self-ensemble,
``autoencoder.py`` the auto-encoder of the learned feature loss, ``io.py`` weights on disk,
``onnx.py`` the ONNX export and onnxruntime sessions. How a network file is written (presets,
builder): :mod:`medsr.models.natural._common`.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from medsr.models import discriminators as _discriminators  # noqa: F401
from medsr.models import medical as _medical  # noqa: F401

# Explicit imports register the families (no import-time scanning).
from medsr.models import natural as _natural  # noqa: F401
from medsr.models.registry import MODELS, ModelInfo, register_model


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered network, e.g. ``create_model("edsr", scale=4, preset="baseline")``."""
    return MODELS.create(name, **kwargs)


def list_models(kind: str | None = "generator") -> list[str]:
    """Registered names (generators by default; ``kind="discriminator"`` or None for all)."""
    return MODELS.names(kind)


def model_info(name: str) -> ModelInfo:
    return MODELS.info(name)


__all__ = ["ModelInfo", "create_model", "list_models", "model_info", "register_model"]
