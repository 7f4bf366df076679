"""The model registry: ``create_model(name, ...)`` and ``list_models()`` (in the spirit of timm).

A network file registers a builder with :func:`register_model`; nothing is scanned at import
time: :mod:`medsr.models` imports each family module explicitly. Each entry carries a
:class:`ModelInfo` (paper, year, where up-sampling happens, whether it is 2D/3D-capable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from torch import nn

from medsr.errors import MedsrError

Upsampling = Literal["pre", "post", "progressive", "iterative", "none"]


@dataclass(frozen=True)
class ModelInfo:
    """What ``medsr models`` prints about a network.

    Attributes:
        name: registry name.
        paper: short citation (authors, title, venue).
        year: publication year.
        upsampling: where resolution increases: "pre" (interpolated input), "post" (learned
            up-sampler at the end), "progressive" (several x2 stages), "none" (same grid in/out,
            e.g. networks applied after interpolation).
        review_section: where the review presents it (e.g. "3.4.1").
        dims: spatial dimensionalities supported.
        preset_note: what the "paper" preset follows, incl. colour channels of the paper's count.
        kind: "generator" or "discriminator".
    """

    name: str
    paper: str
    year: int
    upsampling: Upsampling
    review_section: str = ""
    dims: tuple[int, ...] = (2, 3)
    preset_note: str = ""
    kind: str = "generator"
    presets: tuple[str, ...] = ("paper",)
    paper_in_channels: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Entry:
    info: ModelInfo
    builder: Callable[..., nn.Module]


@dataclass
class ModelRegistry:
    """A mapping name -> builder. The package keeps one instance, :data:`MODELS`."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    def register(
        self, info: ModelInfo
    ) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
        def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
            if info.name in self.entries:
                raise ValueError(f"model {info.name!r} registered twice")
            self.entries[info.name] = _Entry(info, builder)
            return builder

        return decorator

    def create(self, name: str, **kwargs: Any) -> nn.Module:
        entry = self.entries.get(name)
        if entry is None:
            known = ", ".join(sorted(self.entries))
            raise MedsrError(f"unknown model {name!r}; choose one of: {known}")
        return entry.builder(**kwargs)

    def info(self, name: str) -> ModelInfo:
        if name not in self.entries:
            raise MedsrError(f"unknown model {name!r}; see `medsr models`")
        return self.entries[name].info

    def names(self, kind: str | None = None) -> list[str]:
        return sorted(n for n, e in self.entries.items() if kind is None or e.info.kind == kind)


MODELS = ModelRegistry()
register_model = MODELS.register
