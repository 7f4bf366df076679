"""What every natural-image network shares: preset resolution and the scale/dims bookkeeping.

A network file declares its presets as plain dicts (``{"paper": {...}, "tiny": {...}}``);
:func:`resolve_config` picks one and applies the builder's ``**overrides`` (unknown keys are a
user mistake and raise :class:`MedsrError`). :class:`SRNet` stores ``scale`` (per-axis tuple),
``dims`` and ``in_channels`` as the registry contract requires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import as_factors, check_dims, integer_factors


def resolve_config(name: str, presets: Mapping[str, Mapping[str, Any]], preset: str,
                   overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The preset's settings updated with ``overrides`` (only keys the preset knows)."""
    if preset not in presets:
        raise MedsrError(f"{name} has no preset {preset!r}; choose one of: {', '.join(presets)}")
    cfg = dict(presets[preset])
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise MedsrError(
            f"{name} does not take the option(s) {', '.join(unknown)}; it takes: {', '.join(sorted(cfg))}"
        )
    cfg.update(overrides)
    return cfg


def pre_factors(scale: float | Sequence[int | float], dims: int) -> tuple:
    """Per-axis factors for a pre-upsampling network: any positive number."""
    factors = as_factors(scale, dims)
    for f in factors:
        if not (isinstance(f, (int, float)) and f > 0):
            raise MedsrError(f"scale factors must be positive numbers, got {factors}")
    return tuple(int(round(f)) if abs(f - round(f)) < 1e-9 else float(f) for f in factors)


def post_factors(scale: float | Sequence[int | float], dims: int) -> tuple[int, ...]:
    """Per-axis integer factors for a post-upsampling network (MedsrError otherwise)."""
    return integer_factors(scale, dims)


def check_channels(in_channels: int) -> int:
    if not isinstance(in_channels, int) or in_channels < 1:
        raise MedsrError(f"in_channels must be a positive integer, got {in_channels!r}")
    return in_channels


class SRNet(nn.Module):
    """Base of the generators: records ``scale`` (per-axis tuple), ``dims``, ``in_channels`` and
    the resolved ``config`` (handy for ``model.json``)."""

    def __init__(self, *, scale: tuple, dims: int, in_channels: int, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.scale = tuple(scale)
        self.in_channels = check_channels(in_channels)
        self.config = dict(config)
