"""Densely connected 3D SR networks of Chen et al. (review section 4).

* ``dcsrn`` -- Chen Y., Xie Y., Zhou Z., Shi F., Christodoulou A. G., Li D., "Brain MRI super
  resolution using 3D deep densely connected neural networks", ISBI 2018: a 3x3x3 conv with 2k
  filters, one dense block of 4 units (BN -> ELU -> 3x3x3 conv with k = 24 filters, each unit seeing
  all earlier maps, Huang et al. 2017) and a reconstruction conv, on the LR image interpolated onto
  the HR grid (the paper's LR images come from k-space truncation, i.e. already on that grid).
* ``mdcsrn`` -- Chen Y., Shi F., Christodoulou A. G., Xie Y., Zhou Z., Li D., "Efficient and
  accurate MRI super-resolution using a generative adversarial network and 3D multi-level densely
  connected network", MICCAI 2018 (arXiv:1803.01417), Fig. 1: "b4u4" -- 4 dense blocks of 4 units
  with growth rate k = 16; the first conv outputs 2k maps; before each later block a 1x1x1
  *compressor* shrinks the concatenation of all earlier levels to 2k maps; the outputs of all
  levels are concatenated into the final 1x1x1 reconstruction conv (multi-level dense connections).
  Its WGAN-GP critic is :func:`medsr.models.discriminators.build_mdcsrn_d`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv, norm_layer
from medsr.models.medical._common import SRNet, create_srnet, make_interpolator, pre_factors
from medsr.models.registry import ModelInfo, register_model

# ``channels``: maps of the first conv (2k in both papers)
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "dcsrn": {
        "paper": {
            "growth": 24,
            "units": 4,
            "channels": 48,
            "norm": "batch",
            "out_kernel": 1,
            "interp": "cubic",
        },
        "tiny": {
            "growth": 4,
            "units": 2,
            "channels": 8,
            "norm": "batch",
            "out_kernel": 1,
            "interp": "cubic",
        },
    },
    "mdcsrn": {
        "paper": {
            "blocks": 4,
            "units": 4,
            "growth": 16,
            "channels": 32,
            "compress": 32,
            "norm": "batch",
            "interp": "cubic",
        },
        "tiny": {
            "blocks": 2,
            "units": 2,
            "growth": 4,
            "channels": 8,
            "compress": 8,
            "norm": "batch",
            "interp": "cubic",
        },
    },
}


class DenseUnit(nn.Sequential):
    """BN -> ELU -> 3x3 conv (pre-activation unit of DenseNet, used by DCSRN and mDCSRN)."""

    def __init__(self, dims: int, cin: int, growth: int, norm: str) -> None:
        super().__init__(norm_layer(norm, dims, cin), nn.ELU(), conv(dims, cin, growth, 3))


class DenseBlock3D(nn.Module):
    """``units`` dense units; returns only the ``units * growth`` new maps (``new_features``)."""

    def __init__(self, dims: int, cin: int, growth: int, units: int, norm: str) -> None:
        super().__init__()
        self.units = nn.ModuleList(
            DenseUnit(dims, cin + i * growth, growth, norm) for i in range(units)
        )
        self.new_features = units * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for unit in self.units:
            feats.append(unit(torch.cat(feats, dim=1)))
        return torch.cat(feats[1:], dim=1)


class DCSRN(SRNet):
    """Interpolate -> conv (2k) -> dense block -> reconstruction conv on [conv output, new maps]."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        c0, k, u = int(config["channels"]), int(config["growth"]), int(config["units"])
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        self.head = conv(dims, in_channels, c0, 3)
        self.block = DenseBlock3D(dims, c0, k, u, config["norm"])
        self.tail = conv(dims, c0 + u * k, in_channels, int(config["out_kernel"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(self.upsample(x))
        return self.tail(torch.cat([h, self.block(h)], dim=1))


class MDCSRN(SRNet):
    """Multi-level densely connected SR network (mDCSRN, b{blocks}u{units})."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        c0, k, u = int(config["channels"]), int(config["growth"]), int(config["units"])
        nb, comp = int(config["blocks"]), int(config["compress"])
        if nb < 1:
            raise MedsrError(f"mdcsrn needs at least one block, got {nb}")
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        self.head = conv(dims, in_channels, c0, 3)
        self.blocks = nn.ModuleList()
        self.compressors = nn.ModuleList()
        level_channels = c0
        for b in range(nb):
            cin = c0
            if b > 0:
                self.compressors.append(conv(dims, level_channels, comp, 1))
                cin = comp
            block = DenseBlock3D(dims, cin, k, u, config["norm"])
            self.blocks.append(block)
            level_channels += block.new_features
        self.tail = conv(dims, level_channels, in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.head(self.upsample(x))
        levels = [h0]
        for b, block in enumerate(self.blocks):
            inp = h0 if b == 0 else self.compressors[b - 1](torch.cat(levels, dim=1))
            levels.append(block(inp))
        return self.tail(torch.cat(levels, dim=1))


@register_model(
    ModelInfo(
        name="dcsrn",
        paper="Chen et al., Brain MRI super resolution using 3D deep densely connected neural "
        "networks, ISBI 2018",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(3, 2),
        preset_note="paper: 3x3x3 conv with 2k=48 maps, one dense block of 4 units (BN-ELU-3x3x3 "
        "conv, growth k=24), 1x1x1 reconstruction conv on all 144 maps, on the interpolated volume "
        "(the paper's LR comes from k-space truncation on the HR grid; use scale=1 for that). The "
        "1x1x1 output kernel is an assumption (out_kernel option). tiny: k=4, 2 units.",
        presets=tuple(PRESETS["dcsrn"]),
        paper_in_channels=1,
    )
)
def build_dcsrn(**kwargs: Any) -> DCSRN:
    """DCSRN (Chen et al. 2018); options: the keys of ``PRESETS["dcsrn"]``."""
    return create_srnet(DCSRN, "dcsrn", PRESETS, **kwargs)


@register_model(
    ModelInfo(
        name="mdcsrn",
        paper="Chen et al., Efficient and accurate MRI super-resolution using a generative "
        "adversarial network and 3D multi-level densely connected network, MICCAI 2018",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(3, 2),
        preset_note="paper: b4u4 mDCSRN (Fig. 1) -- first conv 2k=32 maps, 4 dense blocks of 4 "
        "BN-ELU-3x3x3 units with k=16, 1x1x1 compressors to 2k before blocks 2-4 fed with all "
        "earlier levels, 1x1x1 reconstruction conv on all levels; interpolated input (scale=1 for "
        "k-space-truncated LR). Keeping BN in the units (as DCSRN) is an assumption (norm='none' "
        "removes it). tiny: b2u2, k=4.",
        presets=tuple(PRESETS["mdcsrn"]),
        paper_in_channels=1,
    )
)
def build_mdcsrn(**kwargs: Any) -> MDCSRN:
    """mDCSRN generator (Chen et al. 2018); options: the keys of ``PRESETS["mdcsrn"]``."""
    return create_srnet(MDCSRN, "mdcsrn", PRESETS, **kwargs)
