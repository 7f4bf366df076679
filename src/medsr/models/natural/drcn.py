"""DRCN (Kim, Lee & Lee, "Deeply-Recursive Convolutional Network for Image Super-Resolution",
CVPR 2016; review section 3.4.2).

Embedding net (two conv-ReLU layers) -> one conv-ReLU layer applied D = 16 times with shared
weights (inference net, eq. 2) -> a shared reconstruction net (conv-ReLU, conv) applied to every
recursion, with a skip connection from the interpolated input: ``y_d = x + f_rec(H_d)``
(recursive supervision, section 3.3). The final output is the learned weighted average of the D
predictions, ``y = sum_d w_d y_d`` (eq. 8; weights initialised to 1/D, plus one scalar offset
initialised to 0, which gives the reference count of 1,775,122 parameters on Y with 256 filters).
Initialised as in the paper (section 4.2): He et al. (2015) for the embedding and reconstruction
filters, the identity for the recursive one (zero weights but each channel's centre
self-connection, after IRNN), zero biases.
:meth:`DRCN.forward_all` returns ``[y_1, ..., y_D, y]`` for the recursive-supervision loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks import conv, he_init, identity_init
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "drcn": {
        "paper": {"recursions": 16, "channels": 256, "kernel": "cubic"},
        "tiny": {"recursions": 3, "channels": 8, "kernel": "cubic"},
    },
}


class DRCN(PreUpsampleNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c, d = config["channels"], config["recursions"]
        self.recursions = d
        self.embed = nn.Sequential(
            conv(dims, in_channels, c, 3), nn.ReLU(), conv(dims, c, c, 3), nn.ReLU()
        )
        self.recursive = nn.Sequential(conv(dims, c, c, 3), nn.ReLU())
        self.reconstruct = nn.Sequential(
            conv(dims, c, c, 3), nn.ReLU(), conv(dims, c, in_channels, 3)
        )
        # the paper's initialisation (section 4.2): He et al. for every filter but the recursive
        # one, which starts as the identity (zero but its self-connections); zero biases
        he_init(self.embed)
        he_init(self.reconstruct)
        identity_init(self.recursive[0])
        self.ensemble_weight = nn.Parameter(torch.full((d,), 1.0 / d))
        self.ensemble_bias = nn.Parameter(torch.zeros(1))

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The D intermediate predictions then the weighted ensemble (the returned image)."""
        up = self.upsample(x)
        h = self.embed(up)
        preds = []
        for _ in range(self.recursions):
            h = self.recursive(h)
            preds.append(up + self.reconstruct(h))
        stacked = torch.stack(preds, dim=0)
        w = self.ensemble_weight.reshape(-1, *([1] * (stacked.dim() - 1)))
        final = (w * stacked).sum(dim=0) + self.ensemble_bias
        return preds + [final]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


@register_model(
    ModelInfo(
        name="drcn",
        paper="Kim et al., Deeply-Recursive Convolutional Network for Image SR, CVPR",
        year=2016,
        upsampling="pre",
        review_section="3.4.2",
        preset_note="16 recursions, 256 filters, recursive supervision + learned ensemble: "
        "1,775,122 params on Y",
        presets=tuple(PRESETS["drcn"]),
        paper_in_channels=1,
    )
)
def drcn(**kwargs: Any) -> DRCN:
    """Registered builder; options: the keys of ``PRESETS["drcn"]``."""
    return create_srnet(DRCN, "drcn", PRESETS, **kwargs)
