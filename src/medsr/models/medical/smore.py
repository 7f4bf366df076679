"""The networks of SMORE and its anti-aliasing step (review section 4, refs. [83, 84]).

* [83] Zhao C., Carass A., Dewey B. E., Woo J., Oh J., Calabresi P. A., Reich D. S., Sati P.,
  Pham D. L., Prince J. L., "A deep learning based anti-aliasing self super-resolution algorithm
  for MRI", MICCAI 2018, LNCS 11070:100-108 (SAA + SSR).
* [84] Zhao C., Dewey B. E., Pham D. L., Calabresi P. A., Reich D. S., Prince J. L., "SMORE: a
  self-supervised anti-aliasing and super-resolution algorithm for MRI using deep learning",
  IEEE Trans. Med. Imaging 40(3):805-817 (2021).

Both steps train a 2D EDSR (Lim et al. 2017: residual blocks without batch normalisation, a long
skip connection) on slices of the scan itself; the self-supervised SR network (``smore``) maps a
slice degraded along one in-plane axis and interpolated back to its original grid, so EDSR's
up-sampling tail is dropped and the network runs on the interpolated grid (``upsampling="pre"``:
the network holds the interpolation, ``scale=1`` for pre-interpolated input, or e.g.
``scale=(1, 4)`` to interpolate along one axis). ``upsampling="subpixel"`` keeps an EDSR sub-pixel
tail with per-axis integer factors such as ``(1, s)`` instead. ``saa`` is the same network trained
to remove aliasing (used with ``scale=1``). The training pairs and the slice/axis logic belong to
:mod:`medsr.selfsr`.

``selfsr`` is the network medsr's self-supervised SR trains by default (review section 4.2.2,
``medsr upscale --method self``): a compact EDSR-like restoration network on 4 x 4 folded
sub-images (:class:`CompactResNet`), which trains for more steps in the same CPU time than a full
EDSR; how it was chosen is in ``docs/benchmarks/selfsr_network.md``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv
from medsr.models.blocks.residual import ResidualBlock
from medsr.models.blocks.upsample import PixelShuffleND, PixelUnshuffleND
from medsr.models.medical._common import (
    SRNet,
    create_srnet,
    crop_spatial,
    make_interpolator,
    pad_to_multiple,
    post_factors,
    pre_factors,
)
from medsr.models.natural.edsr import EDSR
from medsr.models.registry import ModelInfo, register_model

_EDSR = {
    "paper": {
        "blocks": 16,
        "channels": 64,
        "res_scale": 1.0,
        "upsampling": "pre",
        "residual": False,
        "interp": "cubic",
    },
    "tiny": {
        "blocks": 2,
        "channels": 8,
        "res_scale": 1.0,
        "upsampling": "pre",
        "residual": False,
        "interp": "cubic",
    },
}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "smore": _EDSR,
    "saa": _EDSR,  # the same network, trained for anti-aliasing
    # "paper": the network of `medsr upscale --method self` (benchmark in
    # docs/benchmarks/selfsr_network.md); unshuffle: fold factors per axis (1 = full grid)
    "selfsr": {
        "paper": {
            "channels": 64,
            "blocks": 6,
            "res_scale": 1.0,
            "unshuffle": (4, 4),
            "interp": "cubic",
        },
        "tiny": {
            "channels": 8,
            "blocks": 2,
            "res_scale": 1.0,
            "unshuffle": (2, 2),
            "interp": "cubic",
        },
    },
}


class SmoreEDSR(SRNet):
    """EDSR (:class:`medsr.models.natural.edsr.EDSR`: head conv, residual blocks, conv, long skip)
    after a fixed interpolation (``upsampling="pre"``, EDSR run at scale 1, i.e. without its
    sub-pixel tail) or with EDSR's own sub-pixel tail (``upsampling="subpixel"``)."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        mode = config["upsampling"]
        if mode not in ("pre", "subpixel"):
            raise MedsrError(f"smore: upsampling must be 'pre' or 'subpixel', got {mode!r}")
        factors = pre_factors(scale, dims) if mode == "pre" else post_factors(scale, dims)
        super().__init__(scale=factors, dims=dims, in_channels=in_channels, config=config)
        scale = self.scale
        self.mode = mode
        edsr_cfg = {
            "blocks": int(config["blocks"]),
            "channels": int(config["channels"]),
            "res_scale": float(config["res_scale"]),
            "icnr": False,
        }
        if self.mode == "pre":
            self.pre = make_interpolator(dims, scale, config["interp"])
            self.edsr = EDSR(scale=1, dims=dims, in_channels=in_channels, config=edsr_cfg)
        else:
            self.pre = None
            self.edsr = EDSR(scale=scale, dims=dims, in_channels=in_channels, config=edsr_cfg)
        self.residual = bool(config["residual"])
        self.skip = (
            make_interpolator(dims, scale, config["interp"])
            if self.residual and self.pre is None
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp = self.pre(x) if self.pre is not None else x
        y = self.edsr(inp)
        if not self.residual:
            return y
        return y + (inp if self.skip is None else self.skip(x))


class CompactResNet(SRNet):
    """The self-SR restoration network: a small EDSR (residual blocks without batch normalisation,
    Lim et al. 2017) with VDSR's global residual (Kim et al. 2016, residual ``r = y - x``) on
    space-to-depth folded sub-images.

    ``y = u + unfold(tail(body(h) + h))`` with ``h = head(fold(u))`` and ``u`` the input
    interpolated by ``scale`` (identity at ``scale=1``, the self-SR use: a restoration network on an
    already-interpolated grid). With ``unshuffle=(r, c)`` the image is folded into ``r * c``
    sub-images (as FFDNet does for speed: Zhang, Zuo & Zhang, *IEEE TIP* 2018), so every
    convolution runs on ``r * c`` times fewer positions and sees ``r`` times further along the rows
    (the slice axis), then unfolded (pixel shuffle, Shi et al. 2016); sizes that are not multiples
    are replicate-padded and cropped back. The tail starts at zero, so the untrained network is the
    identity: the interpolated input is already a fair answer.
    """

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        if dims != 2:
            raise MedsrError(f"selfsr is a 2D network (it restores slices), got dims={dims}")
        unshuffle = config["unshuffle"]
        self.unshuffle = (
            (int(unshuffle),) * 2
            if isinstance(unshuffle, int)
            else tuple(int(u) for u in unshuffle)
        )
        if len(self.unshuffle) != 2 or min(self.unshuffle) < 1:
            raise MedsrError(
                f"selfsr: unshuffle must be two positive fold factors, got {unshuffle!r}"
            )
        width = int(config["channels"])
        folded = in_channels * self.unshuffle[0] * self.unshuffle[1]
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        self.fold = PixelUnshuffleND(self.unshuffle)
        self.head = conv(dims, folded, width, 3)
        self.body = nn.Sequential(
            *[
                ResidualBlock(dims, width, 3, res_scale=float(config["res_scale"]))
                for _ in range(int(config["blocks"]))
            ]
        )
        self.tail = conv(dims, width, folded, 3)
        self.unfold = PixelShuffleND(self.unshuffle)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        padded, spatial = pad_to_multiple(up, self.unshuffle)
        h = self.head(self.fold(padded))
        return up + crop_spatial(self.unfold(self.tail(self.body(h) + h)), spatial)


_NOTE = (
    "paper: EDSR (Lim et al. 2017) without BN and without its up-sampling tail, on the "
    "interpolated slice, as SMORE/SAA use it; width and depth follow EDSR-baseline (16 residual "
    "blocks of 64 channels, res_scale 1) -- SMORE's own setting was not checked here. "
    "upsampling='subpixel' keeps a sub-pixel tail for per-axis factors such as (1, s); "
    "residual=True adds the interpolated input. tiny: 2 blocks of 8 channels."
)


@register_model(
    ModelInfo(
        name="smore",
        paper="Zhao et al., SMORE: a self-supervised anti-aliasing and super-resolution algorithm "
        "for MRI using deep learning, IEEE TMI 40(3):805-817",
        year=2021,
        upsampling="pre",
        review_section="4",
        dims=(2, 3),
        preset_note=_NOTE,
        presets=tuple(PRESETS["smore"]),
        paper_in_channels=1,
    )
)
def build_smore(**kwargs: Any) -> SmoreEDSR:
    """SMORE's self-supervised SR network; options: the keys of ``PRESETS["smore"]``."""
    return create_srnet(SmoreEDSR, "smore", PRESETS, **kwargs)


@register_model(
    ModelInfo(
        name="saa",
        paper="Zhao et al., A deep learning based anti-aliasing self super-resolution algorithm "
        "for MRI, MICCAI 2018",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(2, 3),
        preset_note=_NOTE + " Anti-aliasing is a same-grid restoration: build it with scale=1.",
        presets=tuple(PRESETS["saa"]),
        paper_in_channels=1,
    )
)
def build_saa(**kwargs: Any) -> SmoreEDSR:
    """SAA anti-aliasing network (same architecture as SMORE's SR network); use scale=1."""
    return create_srnet(SmoreEDSR, "saa", PRESETS, **kwargs)


@register_model(
    ModelInfo(
        name="selfsr",
        paper="medsr's self-SR restoration network after Zhao et al., SMORE, IEEE TMI "
        "40(3):805-817 (EDSR blocks, VDSR global residual, FFDNet-style folding)",
        year=2021,
        upsampling="pre",
        review_section="4",
        dims=(2,),
        preset_note="paper: the default network of self-supervised SR (medsr upscale --method "
        "self), not a published one -- 4 x 4 space-to-depth fold, 3x3 head to 64 channels, 6 EDSR "
        "residual blocks (no BN, res_scale 1), a long skip, 3x3 tail initialised at zero, unfold, "
        "+ the input; chosen by an equal-CPU-time sweep on chris_t1 "
        "(docs/benchmarks/selfsr_network.md). scale > 1 interpolates first (cubic). tiny: 2 blocks "
        "of 8 channels, 2 x 2 fold.",
        presets=tuple(PRESETS["selfsr"]),
        paper_in_channels=1,
    )
)
def build_selfsr(**kwargs: Any) -> CompactResNet:
    """The self-SR restoration network; options: the keys of ``PRESETS["selfsr"]``."""
    return create_srnet(CompactResNet, "selfsr", PRESETS, **kwargs)
