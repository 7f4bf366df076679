"""Residual blocks: EDSR/SRResNet residual block, RDN's residual dense block, ESRGAN's RRDB.

* :class:`ResidualBlock` -- ``x + s * body(x)``, body = conv-[BN]-act-conv-[BN] (He et al. 2016;
  SRResNet, Ledig et al. 2017, with BN and PReLU; EDSR, Lim et al. 2017, without BN and with
  residual scaling s = 0.1), or the pre-activation order [BN]-act-conv-[BN]-act-conv (He et al.
  2016b, as DRRN uses).
* :class:`ResidualDenseBlock` -- densely connected convolutions, local feature fusion and a local
  residual (RDN, Zhang et al. 2018, section 3.2, eqs. 5-7); with ``fusion_kernel=3`` and
  ``res_scale=0.2`` it is the dense block of ESRGAN (Wang et al. 2018, Fig. 4).
* :class:`RRDB` -- residual-in-residual dense block (ESRGAN, Wang et al. 2018, section 3.1).
"""

from __future__ import annotations

import torch
from torch import nn

from medsr.models.blocks.conv import activation, batch_norm, check_dims, conv

__all__ = ["RRDB", "ResidualBlock", "ResidualDenseBlock"]


class ResidualBlock(nn.Module):
    """``y = x + res_scale * body(x)`` with two 'same' convolutions.

    Args:
        bn: batch normalisation after each conv (SRResNet) or before each activation
            (``pre_activation``).
        act: activation between the convs ("relu", "prelu", "lrelu").
        res_scale: residual scaling (EDSR paper preset 0.1, section 3.2 of Lim et al. 2017).
        pre_activation: use the order [BN]-act-conv-[BN]-act-conv (DRRN, Tai et al. 2017, Fig. 2).
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        kernel: int = 3,
        *,
        bn: bool = False,
        act: str = "relu",
        res_scale: float = 1.0,
        pre_activation: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_dims(dims)
        self.res_scale = float(res_scale)
        layers: list[nn.Module] = []
        if pre_activation:
            for _ in range(2):
                if bn:
                    layers.append(batch_norm(dims, channels))
                layers += [
                    activation(act, channels if act == "prelu" else 1),
                    conv(dims, channels, channels, kernel, bias=bias),
                ]
        else:
            layers.append(conv(dims, channels, channels, kernel, bias=bias))
            if bn:
                layers.append(batch_norm(dims, channels))
            layers.append(activation(act, 1))
            layers.append(conv(dims, channels, channels, kernel, bias=bias))
            if bn:
                layers.append(batch_norm(dims, channels))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.res_scale != 1.0:
            y = y * self.res_scale
        return x + y


class ResidualDenseBlock(nn.Module):
    """Residual dense block (RDN, Zhang et al. 2018, eqs. 5-7).

    ``layers`` convolutions, the c-th seeing ``channels + (c-1) * growth`` maps (all previous
    outputs concatenated with the input) and adding ``growth`` maps, each followed by ``act``; a
    local feature fusion conv (kernel ``fusion_kernel``: 1 in RDN, 3 in ESRGAN) back to
    ``channels``; output ``x + res_scale * fused``.
    """

    def __init__(
        self,
        dims: int,
        channels: int,
        growth: int,
        layers: int,
        *,
        kernel: int = 3,
        fusion_kernel: int = 1,
        act: str = "relu",
        res_scale: float = 1.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_dims(dims)
        self.res_scale = float(res_scale)
        self.convs = nn.ModuleList(
            conv(dims, channels + i * growth, growth, kernel, bias=bias) for i in range(layers)
        )
        self.acts = nn.ModuleList(activation(act, 1) for _ in range(layers))
        self.fusion = conv(dims, channels + layers * growth, channels, fusion_kernel, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for c, a in zip(self.convs, self.acts):
            feats.append(a(c(torch.cat(feats, dim=1))))
        y = self.fusion(torch.cat(feats, dim=1))
        if self.res_scale != 1.0:
            y = y * self.res_scale
        return x + y


class RRDB(nn.Module):
    """Residual-in-residual dense block (ESRGAN, Wang et al. 2018, Fig. 4): ``blocks`` residual
    dense blocks (4 dense convs + a 3x3 fusion conv, LeakyReLU 0.2, scaled by ``res_scale``) and an
    outer residual scaled by ``res_scale`` (0.2 in the paper)."""

    def __init__(
        self,
        dims: int,
        channels: int = 64,
        growth: int = 32,
        *,
        blocks: int = 3,
        layers: int = 4,
        res_scale: float = 0.2,
        act: str = "lrelu",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.res_scale = float(res_scale)
        self.body = nn.Sequential(
            *[
                ResidualDenseBlock(
                    dims,
                    channels,
                    growth,
                    layers,
                    fusion_kernel=3,
                    act=act,
                    res_scale=res_scale,
                    bias=bias,
                )
                for _ in range(blocks)
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)
