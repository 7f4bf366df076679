"""GAN-CIRCLE generator (review section 4; You et al. 2019/2020).

You C., Li G., Zhang Y., et al., Wang G., "CT super-resolution GAN constrained by the identical,
residual, and cycle learning ensemble (GAN-CIRCLE)", IEEE Trans. Med. Imaging 39(1):188-203 (2020),
arXiv:1808.04256. The generator (section III-C, Fig. 3) is

* a feature-extraction network: 12 blocks of 3x3 conv + bias + LeakyReLU (0.1) + dropout on the LR
  grid, with filter counts decaying 64, 54, 48, 43, 39, 35, 31, 28, 25, 22, 18, 16 (the schedule of
  DCSCN, Yamanaka et al. 2017, :func:`geometric_widths`); the outputs of all blocks are concatenated
  through skip connections;
* a reconstruction network in the network-in-network style: parallel 1x1 convolutions (A1; B1
  followed by the 3x3 B2) compress the concatenated features, then a conv, a transposed
  convolution up-samples, and a final conv produces the image;
* residual learning: the output is added to the interpolated input ("residual" of the title).

Its discriminator is :func:`medsr.models.discriminators.build_gan_circle_d`; the cycle, identity
and joint losses belong to the losses/training code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks.conv import conv
from medsr.models.blocks.upsample import TransposedUpsample
from medsr.models.medical._common import (
    SRNet,
    create_srnet,
    geometric_widths,
    make_interpolator,
    post_factors,
)
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "gan_circle": {
        "paper": {
            "layers": 12,
            "max_filters": 64,
            "min_filters": 16,
            "gamma": 1.5,
            "a1": 64,
            "b1": 32,
            "b2": 8,
            "dropout": 0.2,
            "slope": 0.1,
            "residual": True,
            "interp": "cubic",
        },
        "tiny": {
            "layers": 4,
            "max_filters": 12,
            "min_filters": 6,
            "gamma": 1.5,
            "a1": 8,
            "b1": 8,
            "b2": 4,
            "dropout": 0.0,
            "slope": 0.1,
            "residual": True,
            "interp": "cubic",
        },
    },
}


class GANCircleGenerator(SRNet):
    """LR features with dense skip concatenation -> 1x1 compression -> transposed-conv
    up-sampling."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        scale = self.scale
        slope, p = float(config["slope"]), float(config["dropout"])
        widths = geometric_widths(
            int(config["max_filters"]),
            int(config["min_filters"]),
            int(config["layers"]),
            float(config["gamma"]),
        )
        self.widths = widths
        self.features = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.features.append(
                nn.Sequential(conv(dims, cin, w, 3), nn.LeakyReLU(slope), nn.Dropout(p))
            )
            cin = w
        total = sum(widths)
        a1, b1, b2 = int(config["a1"]), int(config["b1"]), int(config["b2"])
        self.a1 = nn.Sequential(conv(dims, total, a1, 1), nn.LeakyReLU(slope), nn.Dropout(p))
        self.b1 = nn.Sequential(conv(dims, total, b1, 1), nn.LeakyReLU(slope), nn.Dropout(p))
        self.b2 = nn.Sequential(conv(dims, b1, b2, 3), nn.Dropout(p))
        rec = a1 + b2
        self.pre_up = conv(dims, rec, rec, 3)
        # kernel 4 for x2 as in the authors' code; 2r in general (at least 3 on a unit axis)
        kernel = tuple(2 * f if f > 1 else 3 for f in scale)
        self.up = TransposedUpsample(dims, rec, max(rec // 2, 1), scale, kernel=kernel)
        self.act = nn.LeakyReLU(slope)
        self.out = conv(dims, max(rec // 2, 1), in_channels, 3, bias=False)
        self.residual = bool(config["residual"])
        self.interp = make_interpolator(dims, scale, config["interp"]) if self.residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        feats = []
        for block in self.features:
            h = block(h)
            feats.append(h)
        f = torch.cat(feats, dim=1)
        rec = torch.cat([self.a1(f), self.b2(self.b1(f))], dim=1)
        y = self.out(self.act(self.up(self.pre_up(rec))))
        return self.interp(x) + y if self.interp is not None else y


@register_model(
    ModelInfo(
        name="gan_circle",
        paper="You et al., CT super-resolution GAN constrained by the identical, residual, and "
        "cycle learning ensemble (GAN-CIRCLE), IEEE TMI 39(1):188-203",
        year=2020,
        upsampling="post",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: 12 feature blocks (3x3 conv, LeakyReLU 0.1, dropout) with "
        "64,54,48,43,39,35,31,28,25,22,18,16 filters, all concatenated; reconstruction A1 1x1x64 "
        "|| (B1 1x1x32 -> B2 3x3x8), a 3x3 conv, a transposed conv (kernel 2r, stride r) to half "
        "the channels, LeakyReLU, 3x3 output conv without bias; output added to the "
        "bicubic-interpolated input. A1/B1/B2 widths and the kernel-4 transposed conv follow the "
        "authors' released code (charlesyou999648/GAN-CIRCLE); dropout p=0.2 (DCSCN's keep rate "
        "0.8) is an assumption. tiny: 4 blocks of 12..6 filters.",
        presets=tuple(PRESETS["gan_circle"]),
        paper_in_channels=1,
    )
)
def build_gan_circle(**kwargs: Any) -> GANCircleGenerator:
    """GAN-CIRCLE generator; options: the keys of ``PRESETS["gan_circle"]``."""
    return create_srnet(GANCircleGenerator, "gan_circle", PRESETS, **kwargs)
