"""EnhanceNet's generator (review ref. [48], Sajjadi et al. 2017, Table 1)."""

import torch
from torch import nn

from medsr.models import create_model, list_models, model_info
from medsr.models.blocks import PreUpsample, count_parameters


def _conv(cin: int, cout: int) -> int:
    return cin * cout * 9 + cout


def test_parameter_count_is_table_1_written_out():
    c = 64
    expected = (
        _conv(3, c)  # input conv
        + 10 * 2 * _conv(c, c)  # 10 residual blocks of two convs
        + 2 * _conv(c, c)  # x4: two (nearest x2 + conv) steps
        + _conv(c, c)  # conv + ReLU
        + _conv(c, 3)  # to the residual image
    )
    net = create_model("enhancenet", scale=4, in_channels=3)
    assert count_parameters(net) == expected == 852_867
    assert "enhancenet" in list_models() and model_info("enhancenet").year == 2017
    # nearest-neighbour up-sampling + convolution, never a transposed convolution
    assert not any(isinstance(m, (nn.ConvTranspose2d, nn.ConvTranspose3d)) for m in net.modules())


def test_output_is_bicubic_plus_the_learned_residual():
    net = create_model("enhancenet", scale=2, in_channels=1, preset="tiny")
    x = torch.rand(2, 1, 10, 12, generator=torch.Generator().manual_seed(0))
    bicubic = PreUpsample(2, (2, 2), kernel="cubic")(x)
    out = net(x)
    assert out.shape == (2, 1, 20, 24)
    assert not torch.allclose(out, bicubic)
    with torch.no_grad():
        last = net.tail[-1]
        last.weight.zero_()
        last.bias.zero_()
    assert torch.allclose(net(x), bicubic, atol=1e-6)


def test_3d_and_x3():
    net3 = create_model("enhancenet", scale=(2, 2, 1), dims=3, preset="tiny")
    assert net3(torch.rand(1, 1, 6, 6, 4)).shape == (1, 1, 12, 12, 4)
    net = create_model("enhancenet", scale=3, preset="tiny")
    assert net(torch.rand(1, 1, 5, 5)).shape == (1, 1, 15, 15)
