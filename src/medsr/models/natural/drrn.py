"""DRRN (Tai, Yang & Liu, "Image Super-Resolution via Deep Recursive Residual Network", CVPR 2017;
review section 3.4.2).

B recursive blocks; each starts with a conv and then applies U residual units whose weights are
shared within the block, every unit adding to the block's first output (multi-path local residual
learning, eq. 7: ``H^u = H^0 + F(H^{u-1}, W)``). Units use the pre-activation order BN-ReLU-conv
(Fig. 4); convolutions start from He et al.'s (2015) initialisation as in the paper. A final
BN-ReLU-conv reconstructs the residual of the bicubic input (global residual).
Paper preset DRRN_B1U25, 128 filters: 297,601 conv parameters on Y (+ 768 BN scale/shift = 298,369
with ``bn=True``; the BN layers are shared by the recursions like the convolutions).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import batch_norm, conv, he_init
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "drrn": {
        "paper": {"blocks": 1, "units": 25, "channels": 128, "bn": True, "kernel": "cubic"},
        "tiny": {"blocks": 1, "units": 3, "channels": 8, "bn": True, "kernel": "cubic"},
    },
}


def _pre_act_conv(dims: int, cin: int, cout: int, bn: bool) -> nn.Sequential:
    layers: list[nn.Module] = [batch_norm(dims, cin)] if bn else []
    return nn.Sequential(*layers, nn.ReLU(), conv(dims, cin, cout, 3))


class RecursiveBlock(nn.Module):
    """Conv, then ``units`` applications of one residual unit (shared weights) added to the conv's
    output (DRRN, Tai et al. 2017, Fig. 4 / eq. 7)."""

    def __init__(
        self, dims: int, cin: int, channels: int, units: int, bn: bool, first_plain: bool
    ) -> None:
        super().__init__()
        self.units = units
        self.entry = (
            conv(dims, cin, channels, 3) if first_plain else _pre_act_conv(dims, cin, channels, bn)
        )
        self.unit = nn.Sequential(
            _pre_act_conv(dims, channels, channels, bn), _pre_act_conv(dims, channels, channels, bn)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.entry(x)
        h = h0
        for _ in range(self.units):
            h = h0 + self.unit(h)
        return h


class DRRN(PreUpsampleNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c, bn = config["channels"], config["bn"]
        self.blocks = nn.Sequential(
            *[
                RecursiveBlock(
                    dims, in_channels if b == 0 else c, c, config["units"], bn, first_plain=(b == 0)
                )
                for b in range(config["blocks"])
            ]
        )
        self.exit = _pre_act_conv(dims, c, in_channels, bn)
        # the paper's initialisation (He et al. 2015; section 4.1), zero biases; only this
        # network's own layers, not the input up-sampler (a learned one has its own start)
        he_init(self.blocks)
        he_init(self.exit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        return up + self.exit(self.blocks(up))


@register_model(
    ModelInfo(
        name="drrn",
        paper="Tai et al., Image Super-Resolution via Deep Recursive Residual Network, CVPR",
        year=2017,
        upsampling="pre",
        review_section="3.4.2",
        preset_note="DRRN_B1U25, 128 filters, pre-activation units: 297,601 conv params on Y "
        "(298,369 with the shared BN scale/shift)",
        presets=tuple(PRESETS["drrn"]),
        paper_in_channels=1,
    )
)
def drrn(**kwargs: Any) -> DRRN:
    """Registered builder; options: the keys of ``PRESETS["drrn"]``."""
    return create_srnet(DRRN, "drrn", PRESETS, **kwargs)
