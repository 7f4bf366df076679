"""Pick 2D or 3D layers with one helper, so every network is written once for both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
from torch import nn

from medsr.errors import MedsrError

Layer = TypeVar("Layer", bound=nn.Module)


def check_dims(dims: int) -> int:
    if dims not in (2, 3):
        raise MedsrError(f"dims must be 2 or 3, got {dims}")
    return dims


def _nd(dims: int, two_d: type[Layer], three_d: type[Layer]) -> type[Layer]:
    """The 2D or the 3D class of a layer (the one place that picks by ``dims``)."""
    return two_d if check_dims(dims) == 2 else three_d


def conv(
    dims: int,
    in_ch: int,
    out_ch: int,
    kernel: int | Sequence[int] = 3,
    *,
    stride: int = 1,
    padding: int | Sequence[int] | str | None = None,
    dilation: int = 1,
    bias: bool = True,
    groups: int = 1,
) -> nn.Module:
    """``Conv2d``/``Conv3d`` with 'same' padding by default (odd kernels)."""
    cls = _nd(dims, nn.Conv2d, nn.Conv3d)
    if padding is None:
        if isinstance(kernel, int):
            padding = dilation * (kernel - 1) // 2
        else:
            padding = tuple(dilation * (k - 1) // 2 for k in kernel)
    options = {"padding": padding, "dilation": dilation, "bias": bias, "groups": groups}
    return cls(in_ch, out_ch, kernel, stride=stride, **options)


def conv_transpose(
    dims: int,
    in_ch: int,
    out_ch: int,
    kernel: int | Sequence[int],
    *,
    stride: int | Sequence[int],
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    bias: bool = True,
) -> nn.Module:
    cls = _nd(dims, nn.ConvTranspose2d, nn.ConvTranspose3d)
    options = {"padding": padding, "output_padding": output_padding, "bias": bias}
    return cls(in_ch, out_ch, kernel, stride=stride, **options)


def batch_norm(dims: int, ch: int) -> nn.Module:
    return _nd(dims, nn.BatchNorm2d, nn.BatchNorm3d)(ch)


def instance_norm(dims: int, ch: int, affine: bool = True) -> nn.Module:
    return _nd(dims, nn.InstanceNorm2d, nn.InstanceNorm3d)(ch, affine=affine)


def norm_layer(kind: str, dims: int, ch: int) -> nn.Module:
    """A normalisation layer by name: "batch" (Ioffe & Szegedy 2015; SRGAN, DCSRN), "instance"
    (affine; GAN-CIRCLE's critic), "layer" (``GroupNorm(1, ch)`` = LayerNorm over (C, *spatial) with
    a per-channel affine, as WGAN-GP critics use: mDCSRN) or "none" (identity)."""
    if kind == "batch":
        return batch_norm(dims, ch)
    if kind == "instance":
        return instance_norm(dims, ch, affine=True)
    if kind == "layer":
        check_dims(dims)
        return nn.GroupNorm(1, ch)
    if kind == "none":
        return nn.Identity()
    raise MedsrError(f"unknown norm {kind!r}; use batch, instance, layer or none")


def avg_pool(dims: int, kernel: int, stride: int | None = None) -> nn.Module:
    return _nd(dims, nn.AvgPool2d, nn.AvgPool3d)(kernel, stride)


def max_pool(dims: int, kernel: int, stride: int | None = None) -> nn.Module:
    return _nd(dims, nn.MaxPool2d, nn.MaxPool3d)(kernel, stride)


def as_factors(scale: float | Sequence[int | float], dims: int) -> tuple:
    """A per-axis factor tuple of length ``dims`` from a number or a sequence."""
    if isinstance(scale, (int, float)):
        return (scale,) * dims
    scale = tuple(scale)
    if len(scale) != dims:
        raise MedsrError(f"scale needs {dims} per-axis factors for dims={dims}, got {scale}")
    return scale


def integer_factors(scale: float | Sequence[int | float], dims: int) -> tuple[int, ...]:
    """Per-axis integer factors (post-upsampling networks need integers)."""
    factors = as_factors(scale, dims)
    out = []
    for f in factors:
        if abs(f - round(f)) > 1e-9 or round(f) < 1:
            raise MedsrError(
                f"this network up-samples by integer factors only, got {factors}; use a "
                "pre-upsampling network or let `upscale` resample the remainder"
            )
        out.append(int(round(f)))  # noqa: RUF046 - f may be a NumPy scalar
    return tuple(out)


def activation(name: str | None, channels: int = 1, *, negative_slope: float = 0.2) -> nn.Module:
    """An activation layer by name: "relu", "lrelu" (LeakyReLU, slope 0.2 as ESRGAN), "prelu"
    (one learned slope per layer as in SRGAN, or ``channels`` slopes when ``channels > 1``),
    "sigmoid", "tanh", or None / "none" for identity."""
    if name is None or name == "none":
        return nn.Identity()
    if name == "relu":
        return nn.ReLU(inplace=False)
    if name == "lrelu":
        return nn.LeakyReLU(negative_slope, inplace=False)
    if name == "prelu":
        return nn.PReLU(num_parameters=channels)
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    raise MedsrError(f"unknown activation {name!r}; use relu, lrelu, prelu, sigmoid, tanh or none")


def conv_act(
    dims: int,
    in_ch: int,
    out_ch: int,
    kernel: int | Sequence[int] = 3,
    *,
    act: str | None = "relu",
    bn: bool = False,
    dilation: int = 1,
    bias: bool = True,
) -> nn.Sequential:
    """``conv -> [BN] -> act``, 'same' padding: the plain layer most SR networks stack."""
    layers: list[nn.Module] = [conv(dims, in_ch, out_ch, kernel, dilation=dilation, bias=bias)]
    if bn:
        layers.append(batch_norm(dims, out_ch))
    if act is not None and act != "none":
        layers.append(activation(act, 1))
    return nn.Sequential(*layers)


def plain_cnn(
    dims: int, in_ch: int, out_ch: int, channels: int, layers: int, kernel: int = 3
) -> nn.Sequential:
    """``layers`` convolutions ``in_ch -> channels -> ... -> channels -> out_ch`` with ReLU between
    them and none after the last: the residual predictor of VDSR (Kim et al. 2016), which ReCNN
    (Pham et al. 2019) and both sub-networks of Zeng et al. (2018) reuse. Fewer than 2 layers
    still give the first and the last convolution."""
    mods: list[nn.Module] = [conv(dims, in_ch, channels, kernel), nn.ReLU()]
    for _ in range(layers - 2):
        mods += [conv(dims, channels, channels, kernel), nn.ReLU()]
    mods.append(conv(dims, channels, out_ch, kernel))
    return nn.Sequential(*mods)


def he_init(module: nn.Module, negative_slope: float = 0.0) -> nn.Module:
    """He et al. (ICCV 2015) initialisation of every convolution of ``module``: normal weights of
    standard deviation sqrt(2 / ((1 + a^2) fan_in)) (their eq. 15, ``a = negative_slope``: 0 for
    ReLU, the initial slope for PReLU), zero biases; returns ``module``. Deep plain ReLU stacks
    need it: with PyTorch's default (uniform, a = sqrt(5)) each layer shrinks the signal, and a
    20-layer VDSR body stalled at a zero residual (docs/benchmarks/shipped.md)."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d):
            nn.init.kaiming_normal_(
                m.weight, a=negative_slope, mode="fan_in", nonlinearity="leaky_relu"
            )
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def identity_init(layer: nn.Conv1d | nn.Conv2d | nn.Conv3d) -> nn.Module:
    """Identity initialisation of a square convolution (``in == out`` channels, odd kernel): every
    weight zero except each output channel's self-connection at the kernel centre (1), zero bias;
    returns ``layer``. The recursive layer of DRCN (Kim et al., CVPR 2016, section 4.2) starts so,
    after IRNN (Le, Jaitly & Hinton 2015): a ReLU layer so initialised passes non-negative maps
    through unchanged, however many times it is applied."""
    if layer.in_channels != layer.out_channels or layer.groups != 1:
        raise ValueError("identity_init needs a square convolution without groups")
    if any(k % 2 == 0 for k in layer.kernel_size):
        raise ValueError("identity_init needs an odd kernel")
    with torch.no_grad():
        layer.weight.zero_()
        centre = tuple(k // 2 for k in layer.kernel_size)
        for c in range(layer.out_channels):
            layer.weight[(c, c, *centre)] = 1.0
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def count_parameters(module: nn.Module, *, weights_only: bool = False) -> int:
    """Number of learnable parameters; ``weights_only`` leaves out biases (and 1-D params such as
    BN/PReLU), the way some papers (e.g. FSRCNN) count."""
    total = 0
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        if weights_only and (name.endswith("bias") or p.dim() <= 1):
            continue
        total += p.numel()
    return total
