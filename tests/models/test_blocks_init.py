"""He initialisation of deep plain ReLU stacks (``medsr.models.blocks.he_init``) and VDSR's use of
it: with PyTorch's default initialisation the signal through a 20-layer VDSR body vanishes, and
the shipped VDSR x2 training stalled at a zero residual (docs/benchmarks/shipped.md)."""

from __future__ import annotations

import math

import torch

from medsr.models import create_model
from medsr.models.blocks import he_init, plain_cnn


def _body_std(body: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(body(x).std())


def test_he_init_weights_and_biases() -> None:
    torch.manual_seed(0)
    body = he_init(plain_cnn(2, 1, 1, 32, 6))
    convs = [m for m in body.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6
    for m in convs[1:-1]:  # 32 x 3 x 3 inputs: std sqrt(2 / 288)
        assert abs(float(m.weight.std()) - math.sqrt(2 / 288)) < 0.1 * math.sqrt(2 / 288)
    assert all(float(m.bias.abs().max()) == 0.0 for m in convs)


def test_signal_survives_twenty_layers_only_with_he_init() -> None:
    x = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    default = _body_std(plain_cnn(2, 1, 1, 32, 20), x)
    torch.manual_seed(0)
    he = _body_std(he_init(plain_cnn(2, 1, 1, 32, 20)), x)
    assert he > 30 * default  # the default init shrinks the signal layer after layer
    assert he > 0.01


def test_vdsr_starts_from_he_init() -> None:
    torch.manual_seed(0)
    kw = {"layers": 20, "channels": 32}
    net = create_model("vdsr", preset="paper", scale=2, dims=2, in_channels=1, **kw)
    convs = [m for m in net.body.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(float(m.bias.abs().max()) == 0.0 for m in convs)
    x = torch.rand(1, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    up = net.upsample(x)
    assert _body_std(net.body, up) > 0.01  # a residual that can learn, not a vanished one
