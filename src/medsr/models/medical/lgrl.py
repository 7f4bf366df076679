"""Local + global residual learning SR network for MRI (review section 4, ref. [75]).

Shi J., Liu Q., Wang C., Zhang Q., Ying S., Xu H., "Super-resolution reconstruction of MR image
with a novel residual learning network algorithm", Phys. Med. Biol. 63(8):085011 (2018; on-line
2017). An SRCNN-family network (Dong et al. 2016) on the interpolated LR slice that combines

* **global residual learning (GRL)**: the network predicts the difference between the HR image
  and the interpolated input, ``y = x_up + F(x_up)`` (as VDSR, Kim et al. 2016);
* **local residual learning (LRL)**: ``F`` is a stack of shallow network blocks, each with its own
  identity skip, ``h_b = h_{b-1} + B_b(h_{b-1})`` with ``B_b`` = ``layers`` x (conv 3 - ReLU) then
  a linear conv, so every block learns a local residual of its input features.

``F(x_up) = conv_out(h_B)``, ``h_0 = ReLU(conv_in(x_up))``. Options ``local_skip`` / ``global_skip``
turn the two residual paths off (the paper's ablation: plain SRCNN-like stack, GRL only, LRL
only, both).

Simplified: our reading of the paper -- the block count and widths of the ``paper`` preset are
assumptions, not checked against the full text, and the paper's *multi-scale* GRL (one network
trained on several up-scaling factors, as VDSR) is one factor per network here (train one recipe
per factor, or mix factors through the data pipeline).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "lgrl_sr": {
        "paper": {
            "channels": 64,
            "blocks": 5,
            "layers": 2,
            "local_skip": True,
            "global_skip": True,
            "kernel": "cubic",
        },
        "tiny": {
            "channels": 8,
            "blocks": 2,
            "layers": 2,
            "local_skip": True,
            "global_skip": True,
            "kernel": "cubic",
        },
    },
}


class LocalResidualBlock(nn.Module):
    """A shallow block with an identity skip: ``h + B(h)`` (``B(h)`` alone without the skip).

    ``B`` = ``layers - 1`` x (3x3 conv - ReLU) then a linear 3x3 conv, ``layers >= 1``.
    """

    def __init__(self, dims: int, channels: int, layers: int, skip: bool) -> None:
        super().__init__()
        if layers < 1:
            raise MedsrError(f"lgrl_sr needs layers >= 1 per block, got {layers}")
        mods: list[nn.Module] = []
        for _ in range(layers - 1):
            mods += [conv(dims, channels, channels, 3), nn.ReLU()]
        mods.append(conv(dims, channels, channels, 3))
        self.body = nn.Sequential(*mods)
        self.skip = bool(skip)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        y = self.body(h)
        return h + y if self.skip else y


class LGRLSR(PreUpsampleNet):
    """Interpolate -> conv/ReLU -> local residual blocks -> conv -> (+ interpolated input)."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        f, n = int(config["channels"]), int(config["blocks"])
        if n < 1:
            raise MedsrError(f"lgrl_sr needs blocks >= 1, got {n}")
        self.global_skip = bool(config["global_skip"])
        blocks = [
            LocalResidualBlock(dims, f, int(config["layers"]), config["local_skip"])
            for _ in range(n)
        ]
        # body = [conv_in, ReLU, block_1 ... block_B, conv_out]
        self.body = nn.Sequential(
            conv(dims, in_channels, f, 3), nn.ReLU(), *blocks, conv(dims, f, in_channels, 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        r = self.body(up)
        return up + r if self.global_skip else r


@register_model(
    ModelInfo(
        name="lgrl_sr",
        paper="Shi et al., Super-resolution reconstruction of MR image with a novel residual "
        "learning network algorithm, Phys. Med. Biol. 63(8):085011",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: interpolated input, conv-ReLU, 5 local residual blocks of 2 convs "
        "(64 filters) with identity skips, a linear output conv and the global residual (the "
        "interpolated input added). Our reading: block count and widths are assumptions; the "
        "paper's multi-scale training is one factor per network here. local_skip/global_skip "
        "off give the paper's ablations. tiny: 8 filters, 2 blocks.",
        presets=tuple(PRESETS["lgrl_sr"]),
        paper_in_channels=1,
    )
)
def build_lgrl_sr(**kwargs: Any) -> LGRLSR:
    """Local + global residual SRCNN (Shi et al. 2018, review ref. [75]); options: the keys of
    ``PRESETS["lgrl_sr"]``."""
    return create_srnet(LGRLSR, "lgrl_sr", PRESETS, **kwargs)
