"""What every generator of the zoo shares: preset resolution, the one builder, the scale/dims
bookkeeping (the medical family re-exports these from :mod:`medsr.models.medical._common`).

The dialect of a network file (in the spirit of timm):

* one ``PRESETS`` dict per file, keyed by registry name, then preset name, then option
  (``{"edsr": {"paper": {...}, "tiny": {...}}}``); network width is always ``channels``;
* one class per network, a subclass of :class:`SRNet` built as ``cls(scale=, dims=, in_channels=,
  config=)`` that turns ``scale`` into per-axis factors itself (:func:`pre_factors` /
  :func:`post_factors`);
* one registered builder per name, ``@register_model(ModelInfo(..., presets=tuple(PRESETS[name])))``
  over ``def name(**kwargs): return create_srnet(Class, name, PRESETS, **kwargs)``.

:func:`resolve_config` picks a preset and applies the builder's ``**overrides`` (unknown keys are a
user mistake and raise :class:`MedsrError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import as_factors, batch_norm, check_dims, conv, integer_factors
from medsr.models.blocks.learned import LearnedPreUpsample, ShepardPreUpsample
from medsr.models.blocks.upsample import PreUpsample


def resolve_config(
    name: str, presets: Mapping[str, Mapping[str, Any]], preset: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The preset's settings updated with ``overrides`` (only keys the preset knows)."""
    if preset not in presets:
        raise MedsrError(f"{name} has no preset {preset!r}; choose one of: {', '.join(presets)}")
    cfg = dict(presets[preset])
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise MedsrError(
            f"{name} does not take the option(s) {', '.join(unknown)}; it takes: "
            f"{', '.join(sorted(cfg))}"
        )
    cfg.update(overrides)
    return cfg


Net = TypeVar("Net", bound=nn.Module)


def create_srnet(
    cls: Callable[..., Net],
    name: str,
    presets: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    scale: float | Sequence[int | float] = 2,
    dims: int | None = None,
    in_channels: int = 1,
    preset: str = "paper",
    **overrides: Any,
) -> Net:
    """The builder behind every registered generator: ``cls(scale=, dims=, in_channels=, config=)``
    with ``presets[name][preset]`` updated by ``overrides``. ``dims`` defaults to the first entry of
    the model's ``ModelInfo.dims`` (3 for the 3D-native networks of the review section 4)."""
    from medsr.models.registry import MODELS

    if dims is None:
        dims = MODELS.info(name).dims[0]
    config = resolve_config(name, presets[name], preset, overrides)
    return cls(scale=scale, dims=dims, in_channels=in_channels, config=config)


def pre_factors(scale: float | Sequence[int | float], dims: int) -> tuple:
    """Per-axis factors for a pre-upsampling network: any positive number."""
    factors = as_factors(scale, dims)
    for f in factors:
        if not (isinstance(f, (int, float)) and f > 0):
            raise MedsrError(f"scale factors must be positive numbers, got {factors}")
    return tuple(int(round(f)) if abs(f - round(f)) < 1e-9 else float(f) for f in factors)  # noqa: RUF046


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

    def __init__(
        self, *, scale: tuple, dims: int, in_channels: int, config: Mapping[str, Any]
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.scale = tuple(scale)
        self.in_channels = check_channels(in_channels)
        self.config = dict(config)


class ProgressiveNet(SRNet):
    """A cascade of x2 levels (LapSRN, ref. [59]; DDPN, ref. [62]): :meth:`embed` maps the input
    to features, each module of ``self.levels`` maps ``(features, image)`` to the next level's."""

    levels: nn.ModuleList

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The image of every level, coarse to fine (the last one is the output)."""
        feat, img = self.embed(x), x
        outs = []
        for level in self.levels:
            feat, img = level(feat, img)
            outs.append(img)
        return outs or [x]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


class PreUpsampleNet(SRNet):
    """A pre-upsampling network (review section 3.1): ``scale`` may be any positive factors and
    ``self.upsample`` is the fixed interpolation (``config["kernel"]``: "cubic", "linear") its
    layers work after, or with ``kernel="learned"`` a trained one that starts as linear
    interpolation (:class:`~medsr.models.blocks.learned.LearnedPreUpsample`, integer factors),
    or with ``kernel="shepard"`` a trained Shepard layer
    (:class:`~medsr.models.blocks.learned.ShepardPreUpsample`, integer factors).
    ``forward`` is the global residual learning ``x_up + body(x_up)`` of VDSR (Kim et al. 2016)
    and DCSR (Zhang et al. 2019); networks with another output head override it."""

    body: nn.Module

    def __init__(
        self, *, scale: Any, dims: int, in_channels: int, config: Mapping[str, Any]
    ) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        if config["kernel"] == "learned":  # trained input up-sampler (review ref. [55])
            self.upsample = LearnedPreUpsample(dims, in_channels, self.scale)
        elif config["kernel"] == "shepard":  # trained Shepard layer (ShCNN, review ref. [57])
            self.upsample = ShepardPreUpsample(dims, in_channels, self.scale)
        else:
            self.upsample = PreUpsample(dims, self.scale, kernel=config["kernel"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        return up + self.body(up)


def residual_trunk(
    dims: int, channels: int, blocks: int, block: Callable[[], nn.Module], *, bn: bool = False
) -> nn.Sequential:
    """``blocks`` modules made by ``block()`` then a 3x3 conv (and BN with ``bn``, SRResNet): the
    trunk under the long skip of :class:`ResidualTrunkNet` (EDSR, Lim et al. 2017; SRResNet, Ledig
    et al. 2017; RRDBNet, Wang et al. 2018)."""
    layers: list[nn.Module] = [block() for _ in range(blocks)]
    layers.append(conv(dims, channels, channels, 3))
    if bn:
        layers.append(batch_norm(dims, channels))
    return nn.Sequential(*layers)


class ResidualTrunkNet(SRNet):
    """``tail(upsample(h + body(h)))`` with ``h = head(x)``: the post-upsampling layout with one
    long skip over the trunk that EDSR (Lim et al. 2017, Fig. 3), SRResNet (Ledig et al. 2017,
    Fig. 4) and RRDBNet (Wang et al. 2018, Fig. 3) share; subclasses build the four parts.
    Post-upsampling: ``scale`` must be integer factors."""

    head: nn.Module
    body: nn.Module
    upsample: nn.Module
    tail: nn.Module

    def __init__(
        self, *, scale: Any, dims: int, in_channels: int, config: Mapping[str, Any]
    ) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.body(h)
        return self.tail(self.upsample(h))
