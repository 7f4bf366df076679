"""Dilated dense progressive network (the review's ref. [62], section 3.4.6): progressive x2
up-sampling whose feature branch is made of *dilated dense blocks*.

Simplified, our reading of the design the review describes (dense blocks whose layers use
growing dilation rates, progressive up-sampling level by level), not a re-implementation checked
against the paper's sizes -- hence the preset is called "default", not "paper":

* head: one 3x3 conv to ``channels`` maps on the LR grid;
* per x2 level (powers of two per axis, as LapSRN): ``blocks`` dilated dense blocks -- ``layers``
  3x3 conv + ReLU layers of growth ``growth`` with dilation ``dilations[i % len]`` for layer i, each
  seeing the block input and all earlier outputs (DenseNet), then a 1x1 fusion back to
  ``channels`` and a local residual -- then a sub-pixel x2 of the features (+ ReLU);
* image branch: the previous level's image, bicubic x2 (fixed), plus a 3x3 conv residual
  predicted from the level's features (the coarse-to-fine residual of LapSRN, Lai et al. 2017).

Example: ``create_model("ddpn", scale=4, preset="tiny")``; ``forward_all`` gives every level's
image for a multi-level loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from medsr.models.blocks import PreUpsample, SubPixelUpsample, conv
from medsr.models.natural._common import ProgressiveNet, create_srnet, post_factors
from medsr.models.natural.lapsrn import _levels
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "ddpn": {
        "default": {
            "channels": 64,
            "growth": 32,
            "layers": 4,
            "blocks": 2,
            "dilations": (1, 2, 4, 1),
        },
        "tiny": {"channels": 8, "growth": 4, "layers": 3, "blocks": 1, "dilations": (1, 2, 3)},
    },
}


class DilatedDenseBlock(nn.Module):
    """Dense layers with dilation ``dilations[i % len]``, 1x1 fusion, local residual."""

    def __init__(
        self, dims: int, channels: int, growth: int, layers: int, dilations: Sequence[int]
    ) -> None:
        super().__init__()
        rates = [int(dilations[i % len(dilations)]) for i in range(layers)]
        self.layers = nn.ModuleList(
            nn.Sequential(conv(dims, channels + i * growth, growth, 3, dilation=d), nn.ReLU())
            for i, d in enumerate(rates)
        )
        self.fusion = conv(dims, channels + layers * growth, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return x + self.fusion(torch.cat(feats, dim=1))


class _Level(nn.Module):
    def __init__(self, dims: int, in_channels: int, factors: tuple[int, ...], cfg: dict) -> None:
        super().__init__()
        c = cfg["channels"]
        self.blocks = nn.Sequential(
            *(
                DilatedDenseBlock(dims, c, cfg["growth"], cfg["layers"], cfg["dilations"])
                for _ in range(cfg["blocks"])
            )
        )
        self.feature_up = nn.Sequential(
            SubPixelUpsample(dims, c, factors, staged=False), nn.ReLU()
        )
        self.residual = conv(dims, c, in_channels, 3)
        self.image_up = PreUpsample(dims, factors, kernel="cubic")

    def forward(self, feat: torch.Tensor, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.feature_up(self.blocks(feat))
        return feat, self.image_up(img) + self.residual(feat)


class DDPN(ProgressiveNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        self.head = conv(dims, in_channels, config["channels"], 3)
        self.levels = nn.ModuleList(
            _Level(dims, in_channels, f, config) for f in _levels(self.scale)
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)


@register_model(
    ModelInfo(
        name="ddpn",
        paper="Dilated dense progressive network (the review's ref. [62]); simplified reading",
        year=2019,
        upsampling="progressive",
        review_section="3.4.6",
        preset_note="default: 64 maps, per x2 level 2 dilated dense blocks (4 layers, growth 32, "
        "dilations 1-2-4-1); sizes are our reading, not the paper's count; on Y",
        presets=tuple(PRESETS["ddpn"]),
        paper_in_channels=1,
    )
)
def ddpn(**kwargs: Any) -> DDPN:
    """Registered builder; options: the keys of ``PRESETS["ddpn"]``."""
    return create_srnet(DDPN, "ddpn", PRESETS, **kwargs)
