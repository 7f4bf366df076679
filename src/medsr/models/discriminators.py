"""Discriminators (critics) of the adversarial SR methods (review sections 3.4.7 and 4).

All take ``(N, C, *spatial)`` in 2D or 3D and return one logit per image ``(N, 1)`` (VGG-style
critics) or a map of patch logits ``(N, 1, *patch_grid)`` (PatchGAN-style). None ends with a
sigmoid: the GAN variant (vanilla, least squares, WGAN-GP, relativistic) is a loss concern.

* ``srgan_d`` -- Ledig et al., "Photo-realistic single image SR using a GAN", CVPR 2017, Fig. 4:
  eight 3x3 convs (64, 64, 128, 128, 256, 256, 512, 512 filters, strides 1, 2, ...), BN from the
  second, LeakyReLU 0.2, dense 1024, LeakyReLU, dense 1.
* ``esrgan_d`` -- Wang et al., "ESRGAN", ECCV-W 2018: the VGG-128 discriminator of their code (ten
  convs alternating 3x3 stride 1 and 4x4 stride 2, 64 -> 512 filters, BN, LeakyReLU 0.2; dense 100,
  dense 1). Relativistic averaging is a loss concern.
* ``patchgan_d`` -- Isola et al., "Image-to-image translation with conditional adversarial
  networks", CVPR 2017: the 70x70 PatchGAN C64-C128-C256-C512 (4x4 convs, BN but not on the first,
  LeakyReLU 0.2) and a final 4x4 conv to one channel.
* ``gan_circle_d`` -- You et al., GAN-CIRCLE (IEEE TMI 2020), the discriminator of the authors'
  released code: 4x4 convs 64 (s2) - 128 (s2) - 256 (s2) - 512 (s1) with instance normalisation
  from the second and LeakyReLU 0.2, then a 4x4 conv to one channel (a patch critic, for the
  least-squares/Wasserstein losses of the paper).
* ``mdcsrn_d`` -- Chen et al., mDCSRN (MICCAI 2018), Fig. 1: "identical to SRGAN except BatchNorm
  is replaced by LayerNorm, suggested by WGAN-GP" (Gulrajani et al. 2017). LayerNorm over (C,
  *spatial) is written as ``GroupNorm(1, C)`` so that it works for any patch size.
* ``srfeat_fd`` -- Park et al., "SRFeat: single image SR with feature discrimination", ECCV 2018:
  the feature discriminator judges VGG-19 feature maps instead of pixels; same layout as the SRGAN
  critic with ``in_channels`` = the number of feature channels (512 for VGG-19 conv5).

Any input size works: where the papers end in dense layers sized for a fixed patch (96 for SRGAN,
128 for ESRGAN, 64^3 for mDCSRN), an adaptive average pooling to that grid (``pool``; 6, 4 and 4
per axis) comes first, so paper-sized inputs see exactly the paper's layers and other sizes are
pooled to them. ``spectral_norm=True`` wraps every conv and linear layer with
:func:`torch.nn.utils.parametrizations.spectral_norm` (Miyato et al., ICLR 2018);
:func:`bake_spectral_norm` fixes the normalised weights before ONNX export.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from medsr.errors import MedsrError
from medsr.models.blocks.conv import check_dims, conv, norm_layer
from medsr.models.natural._common import resolve_config
from medsr.models.registry import MODELS, ModelInfo, register_model

__all__ = [
    "PatchDiscriminator",
    "VGGStyleDiscriminator",
    "apply_spectral_norm",
    "bake_spectral_norm",
    "create_critic",
    "receptive_field",
]

Critic = TypeVar("Critic", bound=nn.Module)

# (out_channels, kernel, stride, normalised) per conv
_SRGAN = [
    (64, 3, 1, False),
    (64, 3, 2, True),
    (128, 3, 1, True),
    (128, 3, 2, True),
    (256, 3, 1, True),
    (256, 3, 2, True),
    (512, 3, 1, True),
    (512, 3, 2, True),
]
_SRGAN_TINY = [(8, 3, 1, False), (8, 3, 2, True), (16, 3, 1, True), (16, 3, 2, True)]
_ESRGAN = [
    (64, 3, 1, False),
    (64, 4, 2, True),
    (128, 3, 1, True),
    (128, 4, 2, True),
    (256, 3, 1, True),
    (256, 4, 2, True),
    (512, 3, 1, True),
    (512, 4, 2, True),
    (512, 3, 1, True),
    (512, 4, 2, True),
]
_ESRGAN_TINY = [(8, 3, 1, False), (8, 4, 2, True), (16, 3, 1, True), (16, 4, 2, True)]
_PATCH = [(64, 4, 2, False), (128, 4, 2, True), (256, 4, 2, True), (512, 4, 1, True)]
_PATCH_TINY = [(8, 4, 2, False), (16, 4, 2, True)]


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv / transposed conv / linear layer of
    ``module`` (in place; returns it). PyTorch's parametrization runs one power iteration per
    training-mode forward and normalises the weight reshaped to ``(out, -1)``."""
    targets = [
        m
        for m in module.modules()
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear))
    ]
    for m in targets:
        _spectral_norm(m)
    return module


def bake_spectral_norm(module: nn.Module) -> nn.Module:
    """Replace every spectral-norm parametrization by its current normalised weight (in place;
    returns ``module``): the power iteration (``aten::vdot``) has no ONNX form, so bake before
    export."""
    for m in list(module.modules()):
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return module


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field of a chain of (kernel, stride) convolutions: ``r = 1 + sum (k_l - 1) prod
    s_<l``."""
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


def _conv_stack(
    dims: int,
    in_channels: int,
    convs: Sequence[tuple[int, int, int, bool]],
    norm: str,
    slope: float,
    *,
    padding: int | None,
) -> tuple[list[nn.Module], int]:
    """The conv-[norm]-LeakyReLU layers of ``convs`` (``(out_channels, kernel, stride,
    normalised)`` each; no conv bias before batch norm) and the channels they end with: the
    feature stack of both critic layouts. ``padding=None``: 'same' padding."""
    layers: list[nn.Module] = []
    cin = in_channels
    for cout, k, s, normalised in convs:
        use_norm = normalised and norm != "none"
        bias = not (use_norm and norm == "batch")
        layers.append(conv(dims, cin, cout, k, stride=s, padding=padding, bias=bias))
        if use_norm:
            layers.append(norm_layer(norm, dims, cout))
        layers.append(nn.LeakyReLU(slope))
        cin = cout
    return layers, cin


def _check_input(x: torch.Tensor, dims: int) -> None:
    if x.dim() != dims + 2:
        raise MedsrError(f"expected a {dims + 2}-D tensor (N, C, *spatial), got {x.dim()}-D")


class VGGStyleDiscriminator(nn.Module):
    """Conv-[norm]-LeakyReLU stack, adaptive average pooling to ``pool`` per axis, dense ``hidden``,
    LeakyReLU, dense 1. Output ``(N, 1)`` logits. ``pool=None``: SRGAN's grid -- 96x96 patches give
    6x6 after four stride-2 convs, 64^3 patches 4^3 in 3D."""

    def __init__(
        self,
        dims: int,
        in_channels: int,
        convs: Sequence[tuple[int, int, int, bool]],
        *,
        norm: str,
        pool: int | None,
        hidden: int,
        slope: float = 0.2,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        pool = int(pool) if pool is not None else (6 if dims == 2 else 4)
        self.in_channels = in_channels
        layers, cin = _conv_stack(dims, in_channels, convs, norm, slope, padding=None)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(pool) if dims == 2 else nn.AdaptiveAvgPool3d(pool)
        self.classifier = nn.Sequential(
            nn.Linear(cin * pool**dims, hidden), nn.LeakyReLU(slope), nn.Linear(hidden, 1)
        )
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dims)
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class PatchDiscriminator(nn.Module):
    """Fully convolutional patch critic (PatchGAN): one logit per receptive-field patch,
    ``(N, 1, *grid)``. ``min_size`` is the smallest input edge that gives a non-empty grid."""

    def __init__(
        self,
        dims: int,
        in_channels: int,
        convs: Sequence[tuple[int, int, int, bool]],
        *,
        norm: str,
        slope: float = 0.2,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.in_channels = in_channels
        layers, cin = _conv_stack(dims, in_channels, convs, norm, slope, padding=1)
        layers.append(conv(dims, cin, 1, 4, stride=1, padding=1))
        geometry = [(k, s) for _, k, s, _ in convs] + [(4, 1)]
        self.body = nn.Sequential(*layers)
        self.geometry = geometry
        self.receptive_field = receptive_field(geometry)
        self.min_size = self._min_size()
        if spectral_norm:
            apply_spectral_norm(self)

    def _out_size(self, n: int) -> int:
        for k, s in self.geometry:
            n = (n + 2 - k) // s + 1
        return n

    def _min_size(self) -> int:
        n = 1
        while self._out_size(n) < 1:
            n += 1
        return n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dims)
        if min(int(s) for s in x.shape[2:]) < self.min_size:
            raise MedsrError(
                f"this patch discriminator needs inputs of at least {self.min_size} voxels per "
                f"axis, got {tuple(x.shape[2:])}; use larger patches"
            )
        return self.body(x)


# --------------------------------------------------------------------------- presets and builders
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "srgan_d": {
        "paper": {"convs": _SRGAN, "norm": "batch", "pool": None, "hidden": 1024, "slope": 0.2},
        "tiny": {"convs": _SRGAN_TINY, "norm": "batch", "pool": 1, "hidden": 8, "slope": 0.2},
    },
    "esrgan_d": {
        "paper": {"convs": _ESRGAN, "norm": "batch", "pool": 4, "hidden": 100, "slope": 0.2},
        "tiny": {"convs": _ESRGAN_TINY, "norm": "batch", "pool": 1, "hidden": 8, "slope": 0.2},
    },
    "mdcsrn_d": {
        "paper": {"convs": _SRGAN, "norm": "layer", "pool": 4, "hidden": 1024, "slope": 0.2},
        "tiny": {"convs": _SRGAN_TINY, "norm": "layer", "pool": 1, "hidden": 8, "slope": 0.2},
    },
    "srfeat_fd": {
        "paper": {"convs": _SRGAN, "norm": "batch", "pool": 2, "hidden": 1024, "slope": 0.2},
        "tiny": {"convs": _SRGAN_TINY, "norm": "batch", "pool": 1, "hidden": 8, "slope": 0.2},
    },
    "patchgan_d": {
        "paper": {"convs": _PATCH, "norm": "batch", "slope": 0.2},
        "tiny": {"convs": _PATCH_TINY, "norm": "batch", "slope": 0.2},
    },
    "gan_circle_d": {
        "paper": {"convs": _PATCH, "norm": "instance", "slope": 0.2},
        "tiny": {"convs": _PATCH_TINY, "norm": "instance", "slope": 0.2},
    },
}


def create_critic(
    cls: type[Critic],
    name: str,
    *,
    dims: int | None = None,
    in_channels: int = 1,
    preset: str = "paper",
    spectral_norm: bool = False,
    scale: Any = None,
    **overrides: Any,
) -> Critic:
    """The builder behind every registered discriminator: ``cls(dims, in_channels, **config,
    spectral_norm=)`` with ``PRESETS[name][preset]`` updated by ``overrides``; ``dims`` defaults to
    the first of the model's ``ModelInfo.dims``. ``scale`` is accepted and ignored so that training
    code can pass the generator's keywords unchanged."""
    del scale  # discriminators ignore the SR factor
    if dims is None:
        dims = MODELS.info(name).dims[0]
    cfg = resolve_config(name, PRESETS[name], preset, overrides)
    return cls(dims, in_channels, spectral_norm=spectral_norm, **cfg)


def _info(
    name: str,
    paper: str,
    year: int,
    section: str,
    note: str,
    paper_in_channels: int,
    dims: tuple[int, ...] = (2, 3),
) -> ModelInfo:
    return ModelInfo(
        name=name,
        paper=paper,
        year=year,
        upsampling="none",
        review_section=section,
        dims=dims,
        preset_note=note,
        kind="discriminator",
        presets=tuple(PRESETS[name]),
        paper_in_channels=paper_in_channels,
    )


@register_model(
    _info(
        "srgan_d",
        "Ledig et al., Photo-realistic single image super-resolution using a generative "
        "adversarial network, CVPR 2017",
        2017,
        "3.4.7",
        "paper: Fig. 4 -- 8 3x3 convs 64-512 (strides 1,2,...), BN from the 2nd, LeakyReLU 0.2, "
        "dense 1024, dense 1 (no sigmoid). Adaptive pooling to 6x6 (96-pixel patches, as the "
        "paper) / 4^3 in 3D before the dense layers. tiny: 4 convs 8-16, pool 1.",
        3,
    )
)
def build_srgan_d(**kwargs: Any) -> VGGStyleDiscriminator:
    """SRGAN discriminator; options: the keys of ``PRESETS["srgan_d"]``."""
    return create_critic(VGGStyleDiscriminator, "srgan_d", **kwargs)


@register_model(
    _info(
        "esrgan_d",
        "Wang et al., ESRGAN: enhanced super-resolution generative adversarial networks, ECCV "
        "Workshops 2018",
        2018,
        "3.4.7",
        "paper: VGG-128 critic of the authors' code -- 10 convs (3x3 s1 / 4x4 s2 pairs, 64-512), "
        "BN from the 2nd, LeakyReLU 0.2, dense 100, dense 1; adaptive pooling to 4x4 (128-pixel "
        "patches). Relativistic use is a loss concern. tiny: 4 convs 8-16, pool 1.",
        3,
    )
)
def build_esrgan_d(**kwargs: Any) -> VGGStyleDiscriminator:
    """ESRGAN VGG-128 discriminator; options: the keys of ``PRESETS["esrgan_d"]``."""
    return create_critic(VGGStyleDiscriminator, "esrgan_d", **kwargs)


@register_model(
    _info(
        "patchgan_d",
        "Isola et al., Image-to-image translation with conditional adversarial networks, CVPR 2017",
        2017,
        "3.4.7",
        "paper: 70x70 PatchGAN C64-C128-C256-C512 (4x4 convs, strides 2,2,2,1, BN except the "
        "first, LeakyReLU 0.2) + 4x4 conv to 1 channel; one logit per 70x70 patch. tiny: C8-C16.",
        3,
    )
)
def build_patchgan_d(**kwargs: Any) -> PatchDiscriminator:
    """PatchGAN discriminator; options: the keys of ``PRESETS["patchgan_d"]``."""
    return create_critic(PatchDiscriminator, "patchgan_d", **kwargs)


@register_model(
    _info(
        "gan_circle_d",
        "You et al., CT super-resolution GAN constrained by the identical, residual, and cycle "
        "learning ensemble (GAN-CIRCLE), IEEE TMI 39(1):188-203",
        2020,
        "4",
        "paper: the authors' released discriminator (charlesyou999648/GAN-CIRCLE) -- 4x4 convs 64 "
        "s2, 128 s2, 256 s2, 512 s1 with instance norm from the 2nd, LeakyReLU 0.2, 4x4 conv to 1: "
        "a patch critic. tiny: 8-16.",
        1,
    )
)
def build_gan_circle_d(**kwargs: Any) -> PatchDiscriminator:
    """GAN-CIRCLE discriminator; options: the keys of ``PRESETS["gan_circle_d"]``."""
    return create_critic(PatchDiscriminator, "gan_circle_d", **kwargs)


@register_model(
    _info(
        "mdcsrn_d",
        "Chen et al., Efficient and accurate MRI super-resolution using a generative adversarial "
        "network and 3D multi-level densely connected network, MICCAI 2018",
        2018,
        "4",
        "paper: SRGAN critic with LayerNorm instead of BN (WGAN-GP), here GroupNorm(1, C) = "
        "LayerNorm over (C, *spatial) with per-channel affine; dense 1024, dense 1, no sigmoid "
        "(Wasserstein critic); adaptive pooling to 4^3 (64^3 patches). tiny: 4 convs 8-16.",
        1,
        dims=(3, 2),
    )
)
def build_mdcsrn_d(**kwargs: Any) -> VGGStyleDiscriminator:
    """mDCSRN WGAN-GP critic; options: the keys of ``PRESETS["mdcsrn_d"]``."""
    return create_critic(VGGStyleDiscriminator, "mdcsrn_d", **kwargs)


@register_model(
    _info(
        "srfeat_fd",
        "Park et al., SRFeat: single image super-resolution with feature discrimination, ECCV 2018",
        2018,
        "3.4.7",
        "paper: feature discriminator on VGG-19 feature maps (in_channels = feature channels, "
        "default 512 for conv5): SRGAN-style convs 64-512 with BN and LeakyReLU 0.2, dense 1024, "
        "dense 1; adaptive pooling to 2x2 (the paper's 296-pixel patches give ~18x18 conv5 maps, "
        "~2x2 after four stride-2 convs). tiny: 4 convs 8-16.",
        512,
    )
)
def build_srfeat_fd(**kwargs: Any) -> VGGStyleDiscriminator:
    """SRFeat feature discriminator (``in_channels`` 512 by default: VGG-19 conv5 maps); options:
    the keys of ``PRESETS["srfeat_fd"]``."""
    return create_critic(VGGStyleDiscriminator, "srfeat_fd", **{"in_channels": 512, **kwargs})
