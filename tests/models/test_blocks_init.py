"""The papers' initialisations: He et al. for deep plain ReLU stacks
(``medsr.models.blocks.he_init``), used by VDSR and DRRN -- with PyTorch's default one the signal
through a 20-layer VDSR body vanishes, and the shipped VDSR x2 training stalled at a zero residual
(docs/benchmarks/shipped.md) -- and DRCN's identity start of its recursive layer."""

from __future__ import annotations

import math

import pytest
import torch

from medsr.models import create_model
from medsr.models.blocks import he_init, identity_init, plain_cnn


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


def test_identity_init_passes_non_negative_maps_through() -> None:
    for dims, layer in (
        (2, torch.nn.Conv2d(5, 5, 3, padding=1)),
        (3, torch.nn.Conv3d(4, 4, 3, padding=1)),
    ):
        identity_init(layer)
        x = torch.rand(
            2, layer.in_channels, *([7] * dims), generator=torch.Generator().manual_seed(1)
        )
        with torch.no_grad():
            assert torch.equal(torch.relu(layer(x)), x)
    for bad in (
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.Conv2d(4, 4, 2),
        torch.nn.Conv2d(4, 4, 3, groups=2),
    ):
        with pytest.raises(ValueError, match="identity_init"):
            identity_init(bad)


def test_drcn_starts_as_in_its_paper() -> None:
    """DRCN (Kim et al. 2016, section 4.2): He et al. for the embedding and reconstruction filters,
    the identity for the recursive one, so at initialisation every recursion feeds the
    reconstruction the same maps and the D intermediate predictions coincide."""
    torch.manual_seed(0)
    net = create_model("drcn", preset="tiny", scale=2, dims=2, in_channels=1, channels=32)
    x = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        preds = net.forward_all(x)[:-1]
    assert len(preds) == 3
    assert all(torch.allclose(p, preds[0], atol=1e-6) for p in preds[1:])
    assert not torch.allclose(preds[0], net.upsample(x))  # the reconstruction is not silent
    inner = net.embed[2]  # 32 x 3 x 3 inputs: std sqrt(2 / 288)
    assert abs(float(inner.weight.std()) - math.sqrt(2 / 288)) < 0.1 * math.sqrt(2 / 288)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(float(m.bias.abs().max()) == 0.0 for m in convs)


def test_drrn_starts_from_he_init() -> None:
    """DRRN (Tai et al. 2017, section 4.1) initialises its convolutions as He et al."""
    torch.manual_seed(0)
    net = create_model("drrn", preset="paper", scale=2, dims=2, in_channels=1)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4
    for m in convs[1:3]:  # 128 x 3 x 3 inputs
        assert abs(float(m.weight.std()) - math.sqrt(2 / 1152)) < 0.05 * math.sqrt(2 / 1152)
    assert all(m.bias is None or float(m.bias.abs().max()) == 0.0 for m in convs)


def test_fsrcnn_starts_as_in_its_paper() -> None:
    """FSRCNN (Dong et al. 2016): He et al.'s initialisation for PReLU (slope 0.25) on the
    convolutions, std sqrt(2 / ((1 + 0.25^2) fan_in)); the deconvolution from N(0, 0.001)."""
    torch.manual_seed(0)
    net = create_model("fsrcnn", preset="paper", scale=2, dims=2, in_channels=1)
    first = net.body[0]  # 1 x 5 x 5 inputs, 56 maps
    mapping = net.body[4]  # 12 x 3 x 3 inputs, 12 maps
    for layer, fan_in in ((first, 25), (mapping, 108)):
        expected = math.sqrt(2 / ((1 + 0.25**2) * fan_in))
        assert abs(float(layer.weight.std()) - expected) < 0.15 * expected
    deconv = [m for m in net.deconv.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(deconv) == 1 and float(deconv[0].weight.std()) < 0.002
