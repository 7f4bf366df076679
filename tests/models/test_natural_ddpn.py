"""Dilated dense progressive network (review ref. [62], simplified reading)."""

import pytest
import torch

from medsr.errors import MedsrError
from medsr.models import create_model, model_info
from medsr.models.blocks import count_parameters
from medsr.models.natural.ddpn import PRESETS


def _expected(cfg: dict, levels: int, cin: int = 1) -> int:
    """Parameters of the 2D network written out from the architecture (3x3 convs with bias)."""
    c, g, n, b = cfg["channels"], cfg["growth"], cfg["layers"], cfg["blocks"]
    dense = sum((c + i * g) * g * 9 + g for i in range(n)) + (c + n * g) * c + c
    level = b * dense + (c * 4 * c * 9 + 4 * c) + (c * cin * 9 + cin)
    return cin * c * 9 + c + levels * level


@pytest.mark.parametrize(("preset", "scale", "levels"), [("default", 2, 1), ("default", 4, 2),
                                                          ("tiny", 8, 3)])
def test_parameter_count_matches_the_architecture(preset, scale, levels):
    with torch.device("meta"):
        net = create_model("ddpn", scale=scale, preset=preset, dims=2)
    assert count_parameters(net) == _expected(PRESETS["ddpn"][preset], levels)
    if preset == "default" and scale == 4:
        assert count_parameters(net) == 863_234  # the "default" preset at x4 on Y
    info = model_info("ddpn")
    assert info.upsampling == "progressive" and "[62]" in info.paper


def test_dilated_dense_levels_shapes_dilation_and_x3_refused():
    torch.manual_seed(0)
    net = create_model("ddpn", scale=4, preset="tiny", dims=2)
    rates = [m.dilation[0] for m in net.modules() if isinstance(m, torch.nn.Conv2d)
             and m.kernel_size == (3, 3)]
    assert {1, 2, 3} <= set(rates)
    x = torch.rand(2, 1, 6, 7)
    outs = net.forward_all(x)
    assert [tuple(o.shape[2:]) for o in outs] == [(12, 14), (24, 28)]
    outs[-1].mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    net3 = create_model("ddpn", scale=(1, 2, 2), preset="tiny", dims=3)
    assert tuple(net3(torch.rand(1, 1, 3, 4, 4)).shape) == (1, 1, 3, 8, 8)
    with pytest.raises(MedsrError, match="powers of two"):
        create_model("ddpn", scale=3, preset="tiny")
