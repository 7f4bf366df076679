"""Two-stage fusion network guided by a high-resolution image (review ref. [55], Lin et al.).

Lin et al.'s two-stage fusion network for spectral SR guided by an RGB image (the review's ref.
[55]), written as a generic "LR channel stack + HR guide image" model: a stack of low-resolution
channels (spectral bands; or one MR contrast) is up-scaled with the help of a registered
high-resolution guide (an RGB image; or another contrast) on the output grid.

* **Stage 1 (up-sampling fusion)**: the LR stack goes through a *learned* up-sampling layer at the
  network input (:class:`~medsr.models.blocks.learned.LearnedPreUpsample`, a transposed
  convolution starting as linear interpolation -- the learned input up-sampling the review cites
  this paper for); its features and the guide's features are concatenated and fused by convolutions
  into a residual added to the up-sampled stack: ``s1 = U(x) + F1([E_x(U(x)), E_g(g)])``.
* **Stage 2 (refinement fusion)**: the stage-1 estimate is fused again with the guide features:
  ``s2 = s1 + F2([E_s(s1), E_g(g)])`` (the guide encoder ``E_g`` is shared by both stages).

``forward(lr, guide)`` returns ``s2``; ``forward_all(lr, guide)`` returns ``[s1, s2]`` so a trainer
can supervise both stages (medsr's reference-image data path, ``data.train.reference``, calls
``forward_all(lr, ref)`` when it exists, and ``ReferenceSR`` sums the losses of both outputs).
The guide must sit on the output grid: ``(N, guide_channels, *lr_spatial * scale)``.

Simplified: our reading of the design -- layer counts and widths are assumptions, not checked
against the paper; integer scale factors only (the learned up-sampler); losses are the recipe's.

Example::

    net = create_model("guided_fusion", scale=4, dims=2, in_channels=31, guide_channels=3)
    hr_bands = net(lr_bands, rgb)   # lr_bands: (N, 31, h, w), rgb: (N, 3, 4h, 4w)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv, plain_cnn
from medsr.models.blocks.learned import LearnedPreUpsample
from medsr.models.medical._common import SRNet, check_reference, create_srnet, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "guided_fusion": {
        "paper": {"channels": 64, "layers": 6, "guide_channels": 3},
        "tiny": {"channels": 8, "layers": 2, "guide_channels": 1},
    },
}


def _encoder(dims: int, cin: int, f: int) -> nn.Sequential:
    return nn.Sequential(conv(dims, cin, f, 3), nn.ReLU(), conv(dims, f, f, 3), nn.ReLU())


class GuidedFusionSR(SRNet):
    """LR channel stack + HR guide -> two fusion stages (see the module docstring)."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        f, n = int(config["channels"]), int(config["layers"])
        self.guide_channels = int(config["guide_channels"])
        if self.guide_channels < 1:
            raise MedsrError(f"guided_fusion needs guide_channels >= 1, got {self.guide_channels}")
        if n < 2:
            raise MedsrError(f"guided_fusion needs layers >= 2 per fusion stage, got {n}")
        self.upsample = LearnedPreUpsample(dims, in_channels, self.scale)
        self.guide_encoder = _encoder(dims, self.guide_channels, f)
        self.stage1_encoder = _encoder(dims, in_channels, f)
        self.stage1_fusion = plain_cnn(dims, 2 * f, in_channels, f, n)
        self.stage2_encoder = _encoder(dims, in_channels, f)
        self.stage2_fusion = plain_cnn(dims, 2 * f, in_channels, f, n)

    def forward_all(self, lr: torch.Tensor, guide: torch.Tensor) -> list[torch.Tensor]:
        """``[stage-1 estimate, stage-2 output]``, both on the guide's grid."""
        up = self.upsample(lr)
        check_reference(guide, up, self.guide_channels, "guided_fusion")
        g = self.guide_encoder(guide)
        s1 = up + self.stage1_fusion(torch.cat([self.stage1_encoder(up), g], dim=1))
        s2 = s1 + self.stage2_fusion(torch.cat([self.stage2_encoder(s1), g], dim=1))
        return [s1, s2]

    def forward(self, lr: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        if guide is None:
            raise MedsrError(
                "guided_fusion needs its high-resolution guide: call net(lr, guide) with the guide "
                "on the output grid"
            )
        return self.forward_all(lr, guide)[-1]


@register_model(
    ModelInfo(
        name="guided_fusion",
        paper="Lin et al., two-stage fusion network for spectral super-resolution guided by an "
        "RGB image (review ref. [55])",
        year=2019,
        upsampling="pre",
        review_section="3.4.1",  # uncertain: ref. [55] comes before LapSRN's [59]
        dims=(2, 3),
        preset_note="paper: learned (transposed-conv) up-sampling of the LR channel stack, a guide "
        "encoder shared by two fusion stages (6 convs of 64 filters each, residual), two inputs "
        "net(lr, guide) with the guide on the output grid, 3 guide channels (RGB). Our reading: "
        "sizes are assumptions; integer factors. tiny: 8 filters, 2 convs, 1 guide channel.",
        presets=tuple(PRESETS["guided_fusion"]),
        paper_in_channels=31,
    )
)
def build_guided_fusion(**kwargs: Any) -> GuidedFusionSR:
    """Two-stage guided fusion SR (Lin et al., review ref. [55]); options: the keys of
    ``PRESETS["guided_fusion"]``."""
    return create_srnet(GuidedFusionSR, "guided_fusion", PRESETS, **kwargs)
