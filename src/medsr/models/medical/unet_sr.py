"""U-Net super-resolution for CT (review section 4; Park et al. 2018).

Park J., Hwang D., Kim K. Y., Kang S. K., Kim Y. K., Lee J. S., "Computed tomography
super-resolution using deep convolutional neural network", Phys. Med. Biol. 63 (2018) 145011:
a U-Net (Ronneberger et al. 2015) applied to the interpolated thick-slice CT, predicting the
residual to the thin-slice image (residual learning). The network here is pre-upsampling: it holds
its interpolation layer, so ``scale=1`` is a restoration network on an already-interpolated grid.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.models.blocks.conv import batch_norm, conv, conv_transpose, max_pool
from medsr.models.medical._common import (
    SRNet,
    create_srnet,
    crop_spatial,
    make_interpolator,
    pad_to_multiple,
    pre_factors,
)
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "unet_sr": {
        # Ronneberger et al. 2015 widths (64 ... 1024, four poolings), BN + ReLU as Park et al.
        # 2018.
        "paper": {"channels": 64, "depth": 4, "bn": True, "residual": True, "interp": "cubic"},
        "tiny": {"channels": 8, "depth": 2, "bn": True, "residual": True, "interp": "cubic"},
    },
}


class DoubleConv(nn.Sequential):
    """``(conv 3 -> [BN] -> ReLU) x 2``, the unit of every U-Net level (Ronneberger et al. 2015)."""

    def __init__(self, dims: int, cin: int, cout: int, bn: bool) -> None:
        layers: list[nn.Module] = []
        for c_in in (cin, cout):
            layers.append(conv(dims, c_in, cout, 3, bias=not bn))
            if bn:
                layers.append(batch_norm(dims, cout))
            layers.append(nn.ReLU(inplace=False))
        super().__init__(*layers)


class UNetSR(SRNet):
    """Interpolate, run a U-Net on the fine grid, add the result to the interpolation.

    Encoder: ``depth`` levels of :class:`DoubleConv` + 2x max pooling (widths ``channels * 2^l``);
    decoder: 2x transposed conv, concatenation with the skip, :class:`DoubleConv`; a 1x1 conv maps
    to the image channels. Inputs whose size is not a multiple of ``2^depth`` are replicate-padded
    and the output cropped back, so any size works.
    """

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        f, depth, bn = int(config["channels"]), int(config["depth"]), bool(config["bn"])
        self.depth = depth
        self.residual = bool(config["residual"])
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        widths = [f * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths[:-1]:
            self.down.append(DoubleConv(dims, cin, w, bn))
            cin = w
        self.pool = max_pool(dims, 2)
        self.bottom = DoubleConv(dims, widths[-2] if depth else in_channels, widths[-1], bn)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for level in reversed(range(depth)):
            self.up.append(conv_transpose(dims, widths[level + 1], widths[level], 2, stride=2))
            self.dec.append(DoubleConv(dims, 2 * widths[level], widths[level], bn))
        self.head = conv(dims, widths[0], in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        h, spatial = pad_to_multiple(up, 2**self.depth)
        skips = []
        for block in self.down:
            h = block(h)
            skips.append(h)
            h = self.pool(h)
        h = self.bottom(h)
        for upconv, block, skip in zip(self.up, self.dec, reversed(skips)):
            h = block(torch.cat([upconv(h), skip], dim=1))
        out = crop_spatial(self.head(h), spatial)
        return up + out if self.residual else out


@register_model(
    ModelInfo(
        name="unet_sr",
        paper="Park et al., Computed tomography super-resolution using deep convolutional neural "
        "network, Phys. Med. Biol. 63:145011",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: U-Net of Ronneberger et al. 2015 (4 poolings, 64-1024 channels, 3x3 "
        "convs with BN and ReLU, 2x2 transposed-conv up-sampling, 1x1 output conv) on the "
        "cubic-interpolated input with a global residual, as Park et al. 2018 (2D slices of "
        "thick-slice CT). Deviation: inputs are edge-padded to a multiple of 16 and cropped back "
        "instead of requiring tile sizes divisible by 16. tiny: 8 channels, 2 poolings.",
        presets=tuple(PRESETS["unet_sr"]),
        paper_in_channels=1,
    )
)
def build_unet_sr(**kwargs: Any) -> UNetSR:
    """U-Net SR (Park et al. 2018); options: the keys of ``PRESETS["unet_sr"]``."""
    return create_srnet(UNetSR, "unet_sr", PRESETS, **kwargs)
