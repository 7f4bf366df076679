"""The SRFeat generator (Park, Son, Cho, Hong & Lee, "SRFeat: single image super-resolution with
feature discrimination", ECCV 2018; review section 3.4.7, ref. [63]).

Fig. 2 of the paper, as we read it: a 9x9 conv to 128 channels, 16 residual blocks (conv 3x3 -
BN - ReLU - conv 3x3 - BN, + skip) whose outputs each reach the end of the trunk through a 1x1
conv (*long-range skip connections*, summed with the head's features), then two x2 sub-pixel
stages and a 3x3 output conv. What makes SRFeat SRFeat is its training: an image discriminator
plus a *feature* discriminator on VGG-19 maps (``task: srfeat``, :mod:`medsr.train.medical.srfeat`,
critic ``srfeat_fd``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import ResidualBlock, SubPixelUpsample, conv
from medsr.models.natural._common import SRNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "srfeat": {
        "paper": {"blocks": 16, "channels": 128, "bn": True},
        "tiny": {"blocks": 2, "channels": 8, "bn": True},
    },
}


class SRFeatGenerator(SRNet):
    """``tail(up(h0 + sum_i skip_i(r_i)))`` with ``h0 = head(x)`` and ``r_i`` the output of
    residual block ``i`` (``r_0 = h0``); ``skip_i`` are 1x1 convs."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        c, bn, n = int(config["channels"]), bool(config["bn"]), int(config["blocks"])
        self.head = conv(dims, in_channels, c, 9)
        self.blocks = nn.ModuleList(ResidualBlock(dims, c, 3, bn=bn, act="relu") for _ in range(n))
        self.skips = nn.ModuleList(conv(dims, c, c, 1) for _ in range(n))
        self.upsample = SubPixelUpsample(dims, c, self.scale, staged=True, act="relu")
        self.tail = conv(dims, c, in_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        total = h
        for block, skip in zip(self.blocks, self.skips):
            h = block(h)
            total = total + skip(h)
        return self.tail(self.upsample(total))


@register_model(
    ModelInfo(
        name="srfeat",
        paper="Park et al., SRFeat: single image super-resolution with feature discrimination, "
        "ECCV 2018",
        year=2018,
        upsampling="post",
        review_section="3.4.7",
        preset_note="paper (our reading of Fig. 2): 9x9 head conv to 128 channels, 16 residual "
        "blocks (conv-BN-ReLU-conv-BN) with long-range 1x1 skips from every block to the trunk's "
        "end, 2 sub-pixel x2 stages, 3x3 output conv. tiny: 2 blocks of 8 channels.",
        presets=tuple(PRESETS["srfeat"]),
        paper_in_channels=3,
    )
)
def srfeat(**kwargs: Any) -> SRFeatGenerator:
    """Registered builder; options: the keys of ``PRESETS["srfeat"]``."""
    return create_srnet(SRFeatGenerator, "srfeat", PRESETS, **kwargs)
