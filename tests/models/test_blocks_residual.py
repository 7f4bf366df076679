"""Residual, residual-dense and dense blocks: identity at zero residual, scaling, widths, counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks import (
    RRDB,
    DenseBlock,
    ResidualBlock,
    ResidualDenseBlock,
    activation,
    conv,
    count_parameters,
)


def _zero_last_conv(module: nn.Module) -> None:
    last = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))][-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)


@pytest.mark.parametrize("dims", [2, 3])
def test_residual_block_is_identity_when_its_last_conv_is_zero(dims):
    block = ResidualBlock(dims, 4, bn=False, act="relu")
    _zero_last_conv(block)
    x = torch.randn(1, 4, *(5,) * dims)
    torch.testing.assert_close(block(x), x)


def test_residual_scaling_scales_the_branch():
    torch.manual_seed(1)
    a = ResidualBlock(2, 4, res_scale=1.0)
    b = ResidualBlock(2, 4, res_scale=0.1)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(b(x) - x, 0.1 * (a(x) - x), atol=1e-6, rtol=1e-5)


def test_residual_block_bn_prelu_and_preactivation_layouts():
    srres = ResidualBlock(2, 8, bn=True, act="prelu")
    kinds = [type(m).__name__ for m in srres.body]
    assert kinds == ["Conv2d", "BatchNorm2d", "PReLU", "Conv2d", "BatchNorm2d"]
    pre = ResidualBlock(3, 8, bn=True, pre_activation=True)
    assert [type(m).__name__ for m in pre.body] == [
        "BatchNorm3d",
        "ReLU",
        "Conv3d",
        "BatchNorm3d",
        "ReLU",
        "Conv3d",
    ]


def test_residual_dense_block_widths_and_count():
    rdb = ResidualDenseBlock(2, 64, 64, 8, fusion_kernel=1)
    # RDN (Zhang et al. 2018): sum_c (64 + 64c) * 64 * 9 + biases, plus the 1x1 fusion 576 -> 64
    expected = sum((64 + 64 * c) * 64 * 9 + 64 for c in range(8)) + (64 + 8 * 64) * 64 + 64
    assert count_parameters(rdb) == expected == 1_364_544
    x = torch.randn(1, 64, 4, 4)
    assert rdb(x).shape == x.shape


def test_rrdb_matches_esrgan_layer_sizes():
    # ESRGAN dense block: convs 64->32, 96->32, 128->32, 160->32, 192->64 (3x3, with bias), x3
    per_rdb = sum((64 + 32 * i) * 32 * 9 + 32 for i in range(4)) + 192 * 64 * 9 + 64
    assert count_parameters(RRDB(2, 64, 32)) == 3 * per_rdb == 719_424
    block = RRDB(3, 4, 2)
    x = torch.randn(1, 4, 3, 3, 3)
    y = block(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert all(p.grad is not None for p in block.parameters())


def test_dense_block_both_connectivities():
    dn = DenseBlock(2, 5, 3, 4, keep_input=True)
    assert dn.out_channels == 5 + 12
    x = torch.randn(1, 5, 4, 4)
    out = dn(x)
    assert out.shape == (1, 17, 4, 4)
    torch.testing.assert_close(out[:, :5], x)  # the input is carried through
    sr = DenseBlock(2, 5, 3, 4, keep_input=False)
    assert sr.out_channels == 12 and sr(x).shape == (1, 12, 4, 4)
    # SRDenseNet layer inputs: 5 (block input), then 3, 6, 9 (earlier layer outputs only)
    assert [layer[0].in_channels for layer in sr.layers] == [5, 3, 6, 9]


def test_helpers_reject_bad_arguments():
    with pytest.raises(MedsrError):
        activation("swish")
    with pytest.raises(MedsrError):
        conv(4, 1, 1)
