"""Multi-scale fusion network for MR SR (review section 4; Liu et al. 2018).

Liu C., Wu X., Yu X., Tang Y., Zhang J., Zhou J., "Fusing multi-scale information in convolution
network for MR image super-resolution reconstruction", BioMedical Engineering OnLine 17:114 (2018)
(MFCN). Instead of a plain stack of convolutions, the network stacks *multi-scale fusion units*
(MFU): each has a main path and sub-paths with different kernel sizes (so different receptive
fields and edge responses) whose outputs are fused by a fusion layer. Pre-upsampling with global
residual learning, as the SRCNN/VDSR family it compares with.

``dilated=True`` replaces each k x k sub-path kernel by a 3 x 3 kernel dilated by (k-1)/2 -- the
same receptive field for far fewer weights (useful in 3D).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv
from medsr.models.medical._common import SRNet, create_srnet, make_interpolator, pre_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "msfn": {
        "paper": {
            "channels": 64,
            "units": 8,
            "sub_kernels": (5, 7),
            "dilated": False,
            "interp": "cubic",
        },
        "tiny": {
            "channels": 8,
            "units": 2,
            "sub_kernels": (5,),
            "dilated": False,
            "interp": "cubic",
        },
    },
}


class MultiScaleFusionUnit(nn.Module):
    """Main path (two 3x3 conv-ReLU) and one conv-ReLU sub-path per kernel size in ``sub_kernels``;
    the paths are concatenated, fused by a 1x1 conv and added to the unit input."""

    def __init__(self, dims: int, channels: int, sub_kernels: Sequence[int], dilated: bool) -> None:
        super().__init__()
        self.main = nn.Sequential(
            conv(dims, channels, channels, 3),
            nn.ReLU(),
            conv(dims, channels, channels, 3),
            nn.ReLU(),
        )
        subs = []
        for k in sub_kernels:
            k = int(k)
            if k < 1 or k % 2 == 0:
                raise MedsrError(f"msfn sub-path kernels must be odd positive sizes, got {k}")
            if dilated and k > 3:
                layer = conv(dims, channels, channels, 3, dilation=(k - 1) // 2)
            else:
                layer = conv(dims, channels, channels, k)
            subs.append(nn.Sequential(layer, nn.ReLU()))
        self.subs = nn.ModuleList(subs)
        self.fusion = conv(dims, channels * (1 + len(subs)), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        paths = [self.main(x)] + [s(x) for s in self.subs]
        return x + self.fusion(torch.cat(paths, dim=1))


class MSFN(SRNet):
    """Interpolate -> conv -> MFUs -> conv, plus the interpolated input (global residual)."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        f = int(config["channels"])
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        self.head = nn.Sequential(conv(dims, in_channels, f, 3), nn.ReLU())
        self.units = nn.Sequential(
            *[
                MultiScaleFusionUnit(dims, f, tuple(config["sub_kernels"]), bool(config["dilated"]))
                for _ in range(int(config["units"]))
            ]
        )
        self.tail = conv(dims, f, in_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        return up + self.tail(self.units(self.head(up)))


@register_model(
    ModelInfo(
        name="msfn",
        paper="Liu et al., Fusing multi-scale information in convolution network for MR image "
        "super-resolution reconstruction (MFCN), BioMed. Eng. OnLine 17:114",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: MFCN reading -- 8 multi-scale fusion units of 64 channels, each a main "
        "path (two 3x3 conv-ReLU) plus 5x5 and 7x7 sub-paths fused by a 1x1 conv with a local "
        "residual; bicubic pre-upsampling and global residual. The unit count and sub-path kernels "
        "are assumptions (the paper tunes them; its full text could not be checked here). "
        "dilated=True: dilated 3x3 sub-paths. tiny: 2 units of 8 channels, one 5x5 sub-path.",
        presets=tuple(PRESETS["msfn"]),
        paper_in_channels=1,
    )
)
def build_msfn(**kwargs: Any) -> MSFN:
    """Multi-scale fusion network (Liu et al. 2018); options: the keys of ``PRESETS["msfn"]``."""
    return create_srnet(MSFN, "msfn", PRESETS, **kwargs)
