"""LapSRN (Lai, Huang, Ahuja & Yang, "Deep Laplacian Pyramid Networks for Fast and Accurate
Super-Resolution", CVPR 2017; review section 3.4.3, progressive up-sampling).

log2(scale) pyramid levels, each x2. Feature branch: an input conv (LR grid), then per level
``depth`` conv + LeakyReLU(0.2) layers, a x2 transposed conv (+ LeakyReLU) and a conv predicting the
level's residual image. Image branch: a x2 transposed conv (4x4, no bias, bilinear-initialised,
learned) of the previous level's image, plus the residual (section 3.1). Sizes follow the authors'
released MatConvNet model (``init_LapSRN_model.m``): 3x3 filters, 64 maps, depth 10, 3x3 feature
transposed convs -> 814,242 parameters at x4 on Y, of which 812,768 are weights (the paper's
"812K" matches the count without biases).

Only power-of-two factors per axis (x2, x4, x8, or (1, 1, 4) ...); x3 raises MedsrError.
:meth:`LapSRN.forward_all` returns the image of every level (x2, x4, x8) for the multi-level loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks import TransposedUpsample, conv
from medsr.models.natural._common import ProgressiveNet, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "lapsrn": {
        "paper": {"depth": 10, "channels": 64, "feature_kernel": 3, "image_kernel": 4},
        "tiny": {"depth": 2, "channels": 8, "feature_kernel": 3, "image_kernel": 4},
    },
}


def _levels(factors: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Per-level per-axis factors (each 1 or 2) for power-of-two factors."""
    exps = []
    for f in factors:
        e = f.bit_length() - 1
        if f < 1 or (1 << e) != f:
            raise MedsrError(
                f"LapSRN up-samples by powers of two only (x2, x4, x8 per axis), got {factors}; "
                "use another network for x3"
            )
        exps.append(e)
    depth = max(exps)
    return [tuple(2 if e > k else 1 for e in exps) for k in range(depth)]


class _Level(nn.Module):
    def __init__(
        self, dims: int, channels: int, in_channels: int, factors: tuple[int, ...], cfg: dict
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(cfg["depth"]):
            layers += [conv(dims, channels, channels, cfg["feature_kernel"]), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.feature_up = nn.Sequential(
            TransposedUpsample(dims, channels, channels, factors, kernel=cfg["feature_kernel"]),
            nn.LeakyReLU(0.2),
        )
        self.residual = conv(dims, channels, in_channels, cfg["feature_kernel"])
        self.image_up = TransposedUpsample(
            dims,
            in_channels,
            in_channels,
            factors,
            kernel=cfg["image_kernel"],
            bias=False,
            init="bilinear",
        )

    def forward(self, feat: torch.Tensor, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.feature_up(self.features(feat))
        return feat, self.image_up(img) + self.residual(feat)


class LapSRN(ProgressiveNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        c = config["channels"]
        self.input_conv = nn.Sequential(
            conv(dims, in_channels, c, config["feature_kernel"]), nn.LeakyReLU(0.2)
        )
        self.levels = nn.ModuleList(
            _Level(dims, c, in_channels, f, config) for f in _levels(self.scale)
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.input_conv(x)


@register_model(
    ModelInfo(
        name="lapsrn",
        paper="Lai et al., Deep Laplacian Pyramid Networks for Fast and Accurate SR, CVPR",
        year=2017,
        upsampling="progressive",
        review_section="3.4.3",
        preset_note="depth 10 per level, 64 maps, as the authors' MatConvNet model: 814,242 params "
        "at x4 on Y (812,768 weights = the paper's 812K); x2/x4/x8 only",
        presets=tuple(PRESETS["lapsrn"]),
        paper_in_channels=1,
    )
)
def lapsrn(**kwargs: Any) -> LapSRN:
    """Registered builder; options: the keys of ``PRESETS["lapsrn"]``."""
    return create_srnet(LapSRN, "lapsrn", PRESETS, **kwargs)
