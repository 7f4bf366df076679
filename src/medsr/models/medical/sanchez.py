"""3D SRGAN for brain MRI with three up-sampling choices (review section 4, ref. [77]).

Sanchez I., Vilaplana V., "Brain MRI super-resolution using 3D generative adversarial networks",
MIDL 2018 (arXiv:1812.11440). The generator is SRGAN's (Ledig et al. 2017) with 3D convolutions:
a 9^3 conv + PReLU head, residual blocks (conv-BN-PReLU-conv-BN) under a long skip, the
up-sampling stage, and a 9^3 output conv. The paper compares three up-sampling layers, selectable
here with ``upsampling``:

* ``"nearest_conv"`` -- nearest-neighbour resize then convolution (resize-convolution, Odena et
  al. 2016), checkerboard-free by construction;
* ``"subpixel"`` -- sub-pixel convolution (Shi et al. 2016) with the usual random init, whose
  output starts with a period-2 checkerboard;
* ``"subpixel_icnr"`` -- the same layer with the ICNR initialisation ("checkerboard artifact free
  sub-pixel convolution", Aitken et al. 2017): it starts as convolution + nearest-neighbour
  up-sampling, so the initial output has no period-2 component.

:func:`period2_energy` measures that component (the share of a volume's non-constant energy at the
Nyquist frequency of any axis). Training (``configs/sanchez_gan3d.yaml``): least-squares GAN
(Mao et al. 2017) for both players, and a content term of MSE plus an image-gradient term
(the gradient-difference loss of Mathieu et al. 2016), as the paper's abstract describes; the
discriminator is SRGAN's in 3D (``srgan_d``, dims 3).

Deviation, **not in the paper** (off by default): ``global_skip`` adds a fixed up-sampling of the
input to the output, so the generator learns the residual ``y - up(x)`` as VDSR (Kim et al. 2016)
and GAN-CIRCLE do: ``"bspline"`` (cubic B-spline interpolation, Unser 1999: the cardinal cubic
spline, :class:`medsr.models.blocks.BSplineUpsample`), ``"cubic"`` (Keys a=-0.5, MATLAB) or
``"linear"``. The paper's generator (SRGAN's) has no interpolation path; ``None`` (the default)
is the paper's generator.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks import (
    ResidualBlock,
    ResizeConvUpsample,
    SubPixelUpsample,
    conv,
)
from medsr.models.medical._common import make_interpolator
from medsr.models.natural._common import ResidualTrunkNet, create_srnet, residual_trunk
from medsr.models.registry import ModelInfo, register_model

__all__ = ["GLOBAL_SKIPS", "UPSAMPLING", "SanchezGenerator3D", "period2_energy"]

#: The three up-sampling layers the paper compares.
UPSAMPLING = ("nearest_conv", "subpixel", "subpixel_icnr")

#: The interpolations ``global_skip`` may add (a deviation, not in the paper; default None).
GLOBAL_SKIPS = ("bspline", "cubic", "linear")


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "sanchez_gan3d": {
        "paper": {"blocks": 16, "channels": 64, "bn": True, "upsampling": "subpixel_icnr",
                  "global_skip": None},
        "tiny": {"blocks": 2, "channels": 8, "bn": True, "upsampling": "subpixel_icnr",
                 "global_skip": None},
    },
}


class SanchezGenerator3D(ResidualTrunkNet):
    """``tail(upsample(h + body(h)))``, ``h = head(x)``; ``upsampling`` in :data:`UPSAMPLING`.
    With ``global_skip`` in :data:`GLOBAL_SKIPS` (not in the paper) ``up(x)`` is added."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        c, bn, kind = int(config["channels"]), bool(config["bn"]), config["upsampling"]
        if kind not in UPSAMPLING:
            raise MedsrError(f"upsampling must be one of {', '.join(UPSAMPLING)}, got {kind!r}")
        self.head = nn.Sequential(conv(dims, in_channels, c, 9), nn.PReLU())
        self.body = residual_trunk(
            dims,
            c,
            int(config["blocks"]),
            lambda: ResidualBlock(dims, c, 3, bn=bn, act="prelu"),
            bn=bn,
        )
        if kind == "nearest_conv":
            self.upsample: nn.Module = ResizeConvUpsample(dims, c, self.scale, act="prelu")
        else:
            self.upsample = SubPixelUpsample(
                dims, c, self.scale, act="prelu", icnr=kind == "subpixel_icnr"
            )
        self.tail = conv(dims, c, in_channels, 9)
        skip = config.get("global_skip")
        if skip is not None and skip not in GLOBAL_SKIPS:
            raise MedsrError(
                f"global_skip must be None or one of {', '.join(GLOBAL_SKIPS)}, got {skip!r}"
            )
        self.skip: nn.Module | None = (
            None if skip is None else make_interpolator(dims, self.scale, skip)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y if self.skip is None else y + self.skip(x)


def period2_energy(x: torch.Tensor) -> float:
    """Share of the non-constant energy of ``x`` ``(N, C, *spatial)`` at the Nyquist frequency of
    at least one spatial axis (the period-2 "checkerboard" pattern): ``sum |X(k)|^2`` over the
    frequencies ``k`` with some ``k_a = n_a / 2``, divided by ``sum |X(k)|^2`` over ``k != 0``.
    Zero for a nearest-neighbour x2 up-sampled signal, one for a pure +-1 checkerboard, about
    ``1 - (1 - 1/n)^d`` for white noise (compare methods rather than read it absolutely)."""
    dims = x.dim() - 2
    spatial = tuple(range(2, 2 + dims))
    spec = torch.fft.fftn(x.double() - x.double().mean(dim=spatial, keepdim=True), dim=spatial)
    power = spec.abs() ** 2
    nyquist = torch.zeros(power.shape[2:], dtype=torch.bool)
    for a, n in enumerate(power.shape[2:]):
        if n % 2:
            raise MedsrError("period2_energy needs even sizes along every spatial axis")
        index = [slice(None)] * dims
        index[a] = n // 2
        nyquist[tuple(index)] = True
    total = float(power.sum())
    return float(power[..., nyquist].sum()) / total if total > 0 else 0.0


@register_model(
    ModelInfo(
        name="sanchez_gan3d",
        paper="Sanchez & Vilaplana, Brain MRI super-resolution using 3D generative adversarial "
        "networks, MIDL 2018",
        year=2018,
        upsampling="post",
        review_section="4",
        dims=(3, 2),
        preset_note="SRGAN generator in 3D (9^3 head, residual blocks with BN and PReLU, long "
        "skip, 9^3 tail) with upsampling = nearest_conv | subpixel | subpixel_icnr (the paper's "
        "three choices). paper: 16 blocks of 64 channels, SRGAN's sizes (the paper's exact "
        "depth could not be checked here); tiny: 2 blocks of 8. global_skip = bspline | cubic | "
        "linear adds an interpolated input (not in the paper; off by default).",
        presets=tuple(PRESETS["sanchez_gan3d"]),
        paper_in_channels=1,
    )
)
def build_sanchez_gan3d(**kwargs: Any) -> SanchezGenerator3D:
    """3D SRGAN generator of Sanchez & Vilaplana 2018; options: keys of ``PRESETS``."""
    return create_srnet(SanchezGenerator3D, "sanchez_gan3d", PRESETS, **kwargs)
