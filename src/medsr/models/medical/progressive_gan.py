"""Progressive GAN for medical image SR (review section 4; Mahapatra et al. 2019).

Mahapatra D., Bozorgtabar B., Garnavi R., "Image super-resolution using progressive generative
adversarial networks for medical image analysis", Computerized Medical Imaging and Graphics 71:30-39
(2019). The factor is reached in stages: each stage is a generator that up-samples the previous
stage's image by 2 (an SRGAN-style generator, :class:`medsr.models.natural.srresnet.SRResNet`),
every intermediate image is supervised, a triplet loss ties consecutive stages together, and the
content loss is weighted by saliency maps (:mod:`medsr.models.medical.saliency`). Stage-by-stage
training with one discriminator per stage and the triplet loss: ``task: progressive_gan``
(:mod:`medsr.train.medical.progressive`, recipe ``configs/progressive_gan.yaml``).

Stages follow the prime factorisation of each axis' factor (x8 -> three x2 stages; (1, 1, 4) ->
two (1, 1, 2) stages; x3 -> one x3 stage). ``forward`` returns the last image, ``forward_all``
all stage outputs (coarse to fine), as the contract for multi-output networks asks. With
``residual=True`` each stage adds the interpolated input image (a stage learns the detail only).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks.upsample import stage_factors
from medsr.models.medical._common import SRNet, create_srnet, make_interpolator, post_factors
from medsr.models.natural.srresnet import SRResNet
from medsr.models.registry import ModelInfo, register_model

#: the options of one SRResNet stage (medsr.models.natural.srresnet)
_STAGE_KEYS = ("blocks", "channels", "bn", "icnr")

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "progressive_gan": {
        "paper": {
            "blocks": 16,
            "channels": 64,
            "bn": True,
            "icnr": False,
            "residual": True,
            "interp": "cubic",
        },
        "tiny": {
            "blocks": 1,
            "channels": 8,
            "bn": True,
            "icnr": False,
            "residual": True,
            "interp": "cubic",
        },
    },
}


class ProgressiveSRGenerator(SRNet):
    """A chain of SRResNet stages, one per prime up-sampling step."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        steps = [s for s in stage_factors(self.scale)]
        if not steps:  # scale 1: one restoration stage
            steps = [tuple(1 for _ in self.scale)]
        self.stage_scales = [tuple(s) for s in steps]
        stage_cfg = {k: config[k] for k in _STAGE_KEYS}
        self.stages = nn.ModuleList(
            SRResNet(scale=s, dims=dims, in_channels=in_channels, config=stage_cfg) for s in steps
        )
        self.residual = bool(config["residual"])
        self.interps = (
            nn.ModuleList(make_interpolator(dims, s, config["interp"]) for s in steps)
            if self.residual
            else None
        )

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        h = x
        for i, stage in enumerate(self.stages):
            y = stage(h)
            if self.interps is not None:
                y = y + self.interps[i](h)
            outs.append(y)
            h = y
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


@register_model(
    ModelInfo(
        name="progressive_gan",
        paper="Mahapatra et al., Image super-resolution using progressive generative adversarial "
        "networks for medical image analysis, Comput. Med. Imaging Graph. 71:30-39",
        year=2019,
        upsampling="progressive",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: one SRGAN-style generator per x2 stage (16 residual blocks, 64 "
        "channels, BN, PReLU, sub-pixel x2, 9x9 head/tail), each stage fed with the previous "
        "stage's image; forward_all gives every stage output for the multi-stage, triplet and "
        "saliency-weighted losses. The per-stage block count and the interpolated-input residual "
        "are assumptions. tiny: 1 block of 8 channels per stage.",
        presets=tuple(PRESETS["progressive_gan"]),
        paper_in_channels=3,
    )
)
def build_progressive_gan(**kwargs: Any) -> ProgressiveSRGenerator:
    """Progressive GAN generator; options: the keys of ``PRESETS["progressive_gan"]``."""
    return create_srnet(ProgressiveSRGenerator, "progressive_gan", PRESETS, **kwargs)
