"""Pick 2D or 3D layers with one helper, so every network is written once for both."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from medsr.errors import MedsrError


def check_dims(dims: int) -> int:
    if dims not in (2, 3):
        raise MedsrError(f"dims must be 2 or 3, got {dims}")
    return dims


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
    cls = nn.Conv2d if check_dims(dims) == 2 else nn.Conv3d
    if padding is None:
        if isinstance(kernel, int):
            padding = dilation * (kernel - 1) // 2
        else:
            padding = tuple(dilation * (k - 1) // 2 for k in kernel)
    return cls(
        in_ch,
        out_ch,
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias=bias,
        groups=groups,
    )


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
    cls = nn.ConvTranspose2d if check_dims(dims) == 2 else nn.ConvTranspose3d
    return cls(
        in_ch,
        out_ch,
        kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        bias=bias,
    )


def batch_norm(dims: int, ch: int) -> nn.Module:
    return nn.BatchNorm2d(ch) if check_dims(dims) == 2 else nn.BatchNorm3d(ch)


def instance_norm(dims: int, ch: int, affine: bool = True) -> nn.Module:
    return (
        nn.InstanceNorm2d(ch, affine=affine)
        if check_dims(dims) == 2
        else nn.InstanceNorm3d(ch, affine=affine)
    )


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
    return nn.AvgPool2d(kernel, stride) if check_dims(dims) == 2 else nn.AvgPool3d(kernel, stride)


def max_pool(dims: int, kernel: int, stride: int | None = None) -> nn.Module:
    return nn.MaxPool2d(kernel, stride) if check_dims(dims) == 2 else nn.MaxPool3d(kernel, stride)


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
