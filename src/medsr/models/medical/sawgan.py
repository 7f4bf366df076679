"""Saliency-weighted GAN generator for medical SR (review section 4; Mahapatra et al. 2017).

Mahapatra D., Bozorgtabar B., Hewavitharanage S., Garnavi R., "Image super resolution using
generative adversarial networks and local saliency maps for retinal image analysis", MICCAI 2017.
The generator is the SRGAN/SRResNet generator (Ledig et al. 2017): 9x9 head conv with PReLU, B
residual blocks (conv-BN-PReLU-conv-BN), conv-BN with a long skip, x2 sub-pixel stages with PReLU,
9x9 output conv. What is new in the paper is the *loss*: the content loss is weighted by local
saliency maps of the HR image, so that salient (diagnostically relevant) regions are reconstructed
more carefully -- see :mod:`medsr.models.medical.saliency` for the maps, the losses for the
weighting. :class:`SRResNetStage` is shared with the progressive GAN of the same group.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn

from medsr.models.blocks.conv import batch_norm, conv
from medsr.models.blocks.residual import ResidualBlock
from medsr.models.blocks.upsample import SubPixelUpsample
from medsr.models.medical._common import PRESETS, SRNet, post_factors, resolve_config
from medsr.models.registry import ModelInfo, register_model

PRESET_TABLE: dict[str, dict[str, Any]] = {
    "paper": {"blocks": 16, "features": 64, "head_kernel": 9},
    "tiny": {"blocks": 1, "features": 8, "head_kernel": 3},
}


class SRResNetStage(nn.Module):
    """SRResNet generator body for one set of per-axis factors (Ledig et al. 2017, Fig. 4)."""

    def __init__(self, dims: int, in_channels: int, factors: Sequence[int], *, blocks: int, features: int,
                 head_kernel: int) -> None:
        super().__init__()
        f = features
        self.head = nn.Sequential(conv(dims, in_channels, f, head_kernel), nn.PReLU())
        self.body = nn.Sequential(
            *[ResidualBlock(dims, f, 3, bn=True, act="prelu") for _ in range(blocks)],
            conv(dims, f, f, 3, bias=False),
            batch_norm(dims, f),
        )
        self.upsample = SubPixelUpsample(dims, f, tuple(factors), act="prelu")
        self.tail = conv(dims, f, in_channels, head_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.tail(self.upsample(h + self.body(h)))


class SaliencyGANGenerator(SRNet):
    """The generator of Mahapatra et al. 2017 (an SRResNet)."""

    def __init__(self, *, scale: tuple[int, ...], dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        self.net = SRResNetStage(dims, in_channels, scale, blocks=int(config["blocks"]),
                                 features=int(config["features"]), head_kernel=int(config["head_kernel"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_model(ModelInfo(
    name="sawgan",
    paper="Mahapatra et al., Image super resolution using generative adversarial networks and local saliency maps "
          "for retinal image analysis, MICCAI 2017",
    year=2017,
    upsampling="post",
    review_section="4",
    dims=(2, 3),
    preset_note="paper: SRGAN generator (16 residual blocks of 64 channels with BN and PReLU, x2 sub-pixel stages, "
                "9x9 head/tail) -- the paper builds on SRGAN; its novelty, the saliency-weighted loss, lives in the "
                "losses with medsr.models.medical.saliency. Paper images are colour fundus photographs "
                "(in_channels=3). tiny: 1 block of 8 channels, 3x3 head/tail.",
    presets=PRESETS,
    paper_in_channels=3,
))
def build_sawgan(*, scale: int | Sequence[int] = 2, dims: int = 2, in_channels: int = 1, preset: str = "paper",
                 **overrides: Any) -> SaliencyGANGenerator:
    """Saliency-weighted GAN generator; options: blocks, features, head_kernel."""
    cfg = resolve_config("sawgan", PRESET_TABLE, preset, overrides)
    return SaliencyGANGenerator(scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=cfg)
