"""The 2D restoration network of self-supervised SR, and how any registry network is used instead.

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [83]) trains an EDSR (Lim et al. 2017) on an
already-interpolated input (a restoration network: same grid in and out). On a CPU in minutes a
full EDSR cannot be trained, so the default here is a compact EDSR-like residual network (residual
blocks without batch normalisation, Lim et al. CVPRW 2017) with VDSR's global residual (Kim et al.,
CVPR 2016) that works on 4 x 4 folded sub-images (space-to-depth, as FFDNet, Zhang et al.
*IEEE TIP* 2018): 16 times fewer positions per convolution, so a wider and deeper network trains
for more steps in the same CPU time and reaches 4 x further along the slice axis.

How it was chosen (``benchmarks/selfsr_chris_t1.py --sweep`` runs a short version): chris_t1
with 4 x thick slices (Gaussian, FWHM 4 voxels) along z; candidates trained with *equal CPU time*
(~85 s of one core), patches 48, batch 16, Adam 1e-3; PSNR inside the head on the central
108 x 136 x 188 block (cubic B-spline: 23.64 dB):

=============================  =========  ==========  ===========
network                        ms / step  steps       PSNR (dB)
=============================  =========  ==========  ===========
full grid, width 32, 4 blocks  168        500         25.01
fold 2x2, width 32, 4 blocks   44         1800        25.71
fold 2x2, width 32, 8 blocks   81         1000        25.76
fold 2x2, width 48, 4 blocks   84         1000        25.66
fold 2x2, width 64, 4 blocks   132        530         25.44
fold 4x2, width 64, 6 blocks   99         800         25.73
**fold 4x4, width 64, 6 blocks** 52       1600        **25.86**
fold 4x4, width 64, 8 blocks   67         1250        25.80
fold 4x4, width 96, 6 blocks   104        750         25.63
=============================  =========  ==========  ===========

(at 500 steps each, folding 2x1/2x2/4x1 cost 80/44/43 ms per step against 168 ms and scored 25.07 /
25.09 / 25.06 against 25.01: folding costs no quality). Adam at 2e-3 was unstable (24.09 dB;
25.57 with gradient clipping), so the default is 1e-3 with the gradient norm clipped at 0.5.

Any network of :mod:`medsr.models` can replace it with ``arch=NAME``: it is built with ``scale=1``,
``dims=2``, ``in_channels=1`` (pre-upsampling networks then contain no interpolation layer and map a
grid onto itself, as the contract of ``create_model`` states).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from medsr.errors import MedsrError

__all__ = ["CompactResNet", "DEFAULT_ARCH", "build_network"]

#: the built-in default (not in the model registry: it only exists for self-SR).
DEFAULT_ARCH = "selfsr"


class _ResBlock(nn.Module):
    """EDSR residual block: conv-ReLU-conv plus identity, no batch norm (Lim et al. 2017)."""

    def __init__(self, width: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class CompactResNet(nn.Module):
    """A small EDSR-like restoration network with a global residual (VDSR's residual learning).

    ``y = x + tail(body(head(x)))``: the network only predicts the detail that the interpolation
    lost (Kim et al., VDSR, CVPR 2016, eq. 5's residual ``r = y - x``).

    With ``unshuffle=(r, c)`` the image is first folded into ``r * c`` sub-images (space-to-depth,
    as FFDNet does for speed: Zhang, Zuo & Zhang, *IEEE TIP* 2018) so every convolution runs on
    ``r * c`` times fewer positions and sees ``r`` times further along the rows (the slice axis),
    then unfolded (pixel shuffle, Shi et al. 2016) before the residual is added.

    Args:
        width: feature channels.
        blocks: number of residual blocks (each two 3x3 convolutions).
        res_scale: residual scaling inside the blocks (EDSR uses 0.1 for wide models).
        in_channels: image channels.
        unshuffle: fold factors (rows, cols); ``(1, 1)`` works on the full grid.
    """

    def __init__(
        self,
        width: int = 64,
        blocks: int = 6,
        res_scale: float = 1.0,
        in_channels: int = 1,
        unshuffle: tuple[int, int] = (4, 4),
    ) -> None:
        super().__init__()
        self.scale = (1, 1)
        self.dims = 2
        self.unshuffle = (int(unshuffle[0]), int(unshuffle[1]))
        folded = in_channels * self.unshuffle[0] * self.unshuffle[1]
        self.head = nn.Conv2d(folded, width, 3, padding=1)
        self.body = nn.Sequential(*[_ResBlock(width, res_scale) for _ in range(blocks)])
        self.tail = nn.Conv2d(width, folded, 3, padding=1)
        # start as the identity map: the interpolated input is already a fair answer
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def _fold(self, x: torch.Tensor) -> torch.Tensor:
        r, c = self.unshuffle
        n, ch, h, w = x.shape
        x = x.reshape(n, ch, h // r, r, w // c, c).permute(0, 1, 3, 5, 2, 4)
        return x.reshape(n, ch * r * c, h // r, w // c)

    def _unfold(self, x: torch.Tensor, ch: int) -> torch.Tensor:
        r, c = self.unshuffle
        n, _, h, w = x.shape
        x = x.reshape(n, ch, r, c, h, w).permute(0, 1, 4, 2, 5, 3)
        return x.reshape(n, ch, h * r, w * c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r, c = self.unshuffle
        if (r, c) == (1, 1):
            h = self.head(x)
            return x + self.tail(self.body(h) + h)
        n, ch, height, width = x.shape
        pad_h, pad_w = (-height) % r, (-width) % c
        xp = (
            torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
            if pad_h or pad_w
            else x
        )
        h = self.head(self._fold(xp))
        residual = self._unfold(self.tail(self.body(h) + h), ch)
        return x + residual[:, :, :height, :width]


def build_network(arch: str, preset: str | None = None, **kwargs: Any) -> nn.Module:
    """The default compact network (``arch="selfsr"``) or any 2D registry network at scale 1."""
    if arch == DEFAULT_ARCH:
        if preset not in (None, "default", "paper"):
            raise MedsrError(
                f"the built-in self-SR network has no preset {preset!r}; omit --preset"
            )
        return CompactResNet(**kwargs)
    from medsr.models import create_model, model_info

    info = model_info(arch)  # MedsrError for unknown names
    if 2 not in info.dims or info.kind != "generator":
        raise MedsrError(
            f"network {arch!r} is not a 2D generator; self-SR applies 2D networks to slices"
        )
    kw: dict[str, Any] = dict(scale=1, dims=2, in_channels=1, **kwargs)
    if preset is not None:
        kw["preset"] = preset
    try:
        net = create_model(arch, **kw)
        with torch.no_grad():
            probe = net(torch.zeros(1, 1, 24, 24))
    except MedsrError:
        raise
    except Exception as exc:  # a network that cannot run at scale 1 (e.g. a fixed up-sampler)
        raise MedsrError(
            f"network {arch!r} cannot restore an interpolated grid at scale 1 ({exc}); choose a "
            "pre-upsampling network (e.g. vdsr) or the default 'selfsr'"
        ) from None
    if tuple(probe.shape) != (1, 1, 24, 24):
        raise MedsrError(
            f"network {arch!r} at scale 1 maps 24x24 to {tuple(probe.shape[2:])}; self-SR needs a "
            "network that keeps the grid (pre-upsampling, e.g. vdsr) or the default 'selfsr'"
        )
    return net
