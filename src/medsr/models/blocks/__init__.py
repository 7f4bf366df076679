"""Building blocks shared by the networks (stable names; other model files import them from here).

2D/3D layer choice (:mod:`.conv`):
    ``check_dims``, ``conv(dims, in, out, k, ...)`` ('same' padding), ``conv_transpose``,
    ``batch_norm``, ``instance_norm``, ``norm_layer(kind, dims, ch)`` ("batch", "instance", "layer",
    "none"), ``avg_pool``, ``max_pool``, ``activation(name, channels)`` ("relu", "lrelu", "prelu",
    "sigmoid", "tanh", None), ``conv_act`` (conv-[BN]-act), ``plain_cnn(dims, in, out, channels,
    layers, kernel=3)`` (VDSR's conv-ReLU stack),
    ``as_factors(scale, dims)`` (per-axis tuple), ``integer_factors`` (MedsrError unless integers),
    ``count_parameters(module, weights_only=False)``.

Up-samplers (:mod:`.upsample`, review section 3.3):
    ``PreUpsample(dims, factors, kernel="cubic", a=-0.5, border="symmetric")`` fixed MATLAB-bicubic
    / tricubic interpolation on the medsr grid, any positive factor;
    ``TransposedUpsample(dims, in, out, factors, kernel=3, init="default"|"bilinear"|"gaussian")``;
    ``SubPixelUpsample(dims, channels, factors, out_channels=None, staged=True, act=None,
    icnr=False)``;
    ``ResizeConvUpsample(dims, channels, factors, out_channels=None, staged=True, act=None)``;
    ``NearestUpsample(dims, factors)``;
    ``pixel_shuffle_nd(x, factors)`` / ``PixelShuffleND`` and ``pixel_unshuffle_nd`` /
    ``PixelUnshuffleND`` (anisotropic, e.g. (1, 1, 4));
    ``make_upsampler(kind, dims, channels, factors, out_channels=None, **kw)`` with kind in
    "subpixel", "transposed", "resize_conv", "pre", "nearest";
    ``stage_factors((4, 4)) -> [(2, 2), (2, 2)]``, ``icnr_(weight, factors)``, ``bilinear_kernel``,
    ``cubic_kernel``.

Learned interpolation (:mod:`.learned`, review section 3.4):
    ``ShepardInterpolation(dims, channels, kernel=5)`` (ShCNN, Ren et al. 2015: ``(y, mask_out) =
    layer(x, mask)``), ``LearnedPreUpsample(dims, channels, factors)`` (trained input up-sampler
    starting as linear interpolation; ``kernel="learned"`` of pre-upsampling networks).

Residual and dense blocks (:mod:`.residual`, :mod:`.dense`):
    ``ResidualBlock(dims, channels, k=3, bn=False, act="relu", res_scale=1.0,
    pre_activation=False)``,
    ``ResidualDenseBlock(dims, channels, growth, layers, fusion_kernel=1, act="relu",
    res_scale=1.0)``,
    ``RRDB(dims, channels=64, growth=32, blocks=3, layers=4, res_scale=0.2)``,
    ``DenseBlock(dims, in_channels, growth, layers, act="relu", bn=False, keep_input=True)``
    (``.out_channels``).
"""

from medsr.models.blocks.bspline import BSplineUpsample, cardinal_cubic_spline
from medsr.models.blocks.conv import (
    activation,
    as_factors,
    avg_pool,
    batch_norm,
    check_dims,
    conv,
    conv_act,
    conv_transpose,
    count_parameters,
    he_init,
    identity_init,
    instance_norm,
    integer_factors,
    max_pool,
    norm_layer,
    plain_cnn,
)
from medsr.models.blocks.dense import DenseBlock
from medsr.models.blocks.learned import LearnedPreUpsample, ShepardInterpolation
from medsr.models.blocks.residual import RRDB, ResidualBlock, ResidualDenseBlock
from medsr.models.blocks.upsample import (
    NearestUpsample,
    PixelShuffleND,
    PixelUnshuffleND,
    PreUpsample,
    ResizeConvUpsample,
    SubPixelUpsample,
    TransposedUpsample,
    bilinear_kernel,
    cubic_kernel,
    icnr_,
    make_upsampler,
    pixel_shuffle_nd,
    pixel_unshuffle_nd,
    stage_factors,
)

__all__ = [
    "RRDB",
    "BSplineUpsample",
    "DenseBlock",
    "LearnedPreUpsample",
    "NearestUpsample",
    "PixelShuffleND",
    "PixelUnshuffleND",
    "PreUpsample",
    "ResidualBlock",
    "ResidualDenseBlock",
    "ResizeConvUpsample",
    "ShepardInterpolation",
    "SubPixelUpsample",
    "TransposedUpsample",
    "activation",
    "as_factors",
    "avg_pool",
    "batch_norm",
    "bilinear_kernel",
    "cardinal_cubic_spline",
    "check_dims",
    "conv",
    "conv_act",
    "conv_transpose",
    "count_parameters",
    "cubic_kernel",
    "he_init",
    "icnr_",
    "identity_init",
    "instance_norm",
    "integer_factors",
    "make_upsampler",
    "max_pool",
    "norm_layer",
    "pixel_shuffle_nd",
    "pixel_unshuffle_nd",
    "plain_cnn",
    "stage_factors",
]
