"""Every natural-image network: LR (N, C, *spatial) -> SR (N, C, *spatial * scale) in 2D and 3D,
gradients reach every parameter, presets/options/factors are validated, weights are reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from natural_helpers import NATURAL

from medsr.errors import MedsrError
from medsr.models import create_model, list_models, model_info
from medsr.volume import zoom_grid

PRE = {"srcnn", "vdsr", "drcn", "drrn", "dilated_sr"}


def test_all_natural_networks_are_registered():
    assert set(NATURAL) <= set(list_models())
    for name in NATURAL:
        info = model_info(name)
        assert "tiny" in info.presets and "paper" in info.presets
        assert info.review_section.startswith("3.4")
        assert info.upsampling == (
            "pre" if name in PRE else ("progressive" if name == "lapsrn" else "post")
        )


def _check_forward_backward(net, x, expected_spatial):
    y = net(x)
    assert tuple(y.shape) == (x.shape[0], x.shape[1], *expected_spatial)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing[:3]}"


@pytest.mark.parametrize("name", NATURAL)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_2d_forward_backward(name, scale):
    if name == "lapsrn" and scale == 3:
        with pytest.raises(MedsrError, match="powers of two"):
            create_model(name, scale=scale, preset="tiny")
        return
    net = create_model(name, scale=scale, dims=2, in_channels=1, preset="tiny")
    assert net.scale == (scale, scale) and net.dims == 2
    _check_forward_backward(net, torch.randn(2, 1, 12, 10), (12 * scale, 10 * scale))


@pytest.mark.parametrize("name", NATURAL)
@pytest.mark.parametrize("factors", [(2, 2, 2), (1, 1, 4)])
def test_3d_forward_backward(name, factors):
    net = create_model(name, scale=factors, dims=3, in_channels=1, preset="tiny")
    assert net.scale == factors and net.dims == 3
    _check_forward_backward(
        net, torch.randn(1, 1, 8, 8, 6), tuple(n * f for n, f in zip((8, 8, 6), factors))
    )


@pytest.mark.parametrize("name", ["edsr", "srcnn", "lapsrn", "rdn"])
def test_multichannel_input(name):
    net = create_model(name, scale=2, dims=2, in_channels=3, preset="tiny")
    assert net(torch.randn(1, 3, 6, 7)).shape == (1, 3, 12, 14)


@pytest.mark.parametrize("name", sorted(PRE))
def test_pre_upsampling_takes_any_positive_factor(name):
    net = create_model(name, scale=(2.5, 1.0, 1.5), dims=3, preset="tiny")
    x = torch.randn(1, 1, 7, 5, 4)
    shape, _ = zoom_grid(x.shape[2:], np.eye(4), (2.5, 1.0, 1.5))
    assert tuple(net(x).shape[2:]) == shape
    # scale 1: a restoration network on an already-interpolated grid
    same = create_model(name, scale=1, dims=2, preset="tiny")
    assert same(torch.randn(1, 1, 9, 8)).shape == (1, 1, 9, 8)


@pytest.mark.parametrize("name", sorted(set(NATURAL) - PRE))
def test_post_upsampling_refuses_non_integer_factors(name):
    with pytest.raises(MedsrError, match="integer"):
        create_model(name, scale=2.5, preset="tiny")


def test_multi_output_networks():
    drcn = create_model("drcn", scale=2, preset="tiny")
    x = torch.randn(1, 1, 6, 6)
    outs = drcn.forward_all(x)
    assert len(outs) == drcn.recursions + 1 == 4
    assert all(o.shape == (1, 1, 12, 12) for o in outs)
    torch.testing.assert_close(drcn(x), outs[-1])
    # the learned ensemble starts as the mean of the recursive predictions
    torch.testing.assert_close(outs[-1], torch.stack(outs[:-1]).mean(0), atol=1e-6, rtol=1e-5)

    lap = create_model("lapsrn", scale=8, preset="tiny")
    levels = lap.forward_all(torch.randn(1, 1, 5, 4))
    assert [tuple(o.shape[2:]) for o in levels] == [(10, 8), (20, 16), (40, 32)]
    lap3 = create_model("lapsrn", scale=(1, 2, 4), dims=3, preset="tiny")
    assert [tuple(o.shape[2:]) for o in lap3.forward_all(torch.randn(1, 1, 3, 3, 2))] == [
        (3, 6, 4),
        (3, 6, 8),
    ]


def test_drcn_paper_preset_has_16_recursions():
    with torch.device("meta"):
        net = create_model("drcn", scale=2)
    assert net.recursions == 16


def test_lapsrn_image_branch_starts_bilinear():
    """At initialisation the image branch up-samples a constant image to the same constant."""
    lap = create_model("lapsrn", scale=2, preset="tiny")
    up = lap.levels[0].image_up(torch.full((1, 1, 6, 6), 3.0))
    torch.testing.assert_close(up[:, :, 1:-1, 1:-1], torch.full((1, 1, 10, 10), 3.0))


def test_fixed_seed_gives_same_weights():
    for name in NATURAL:
        torch.manual_seed(123)
        a = create_model(name, scale=2, preset="tiny").state_dict()
        torch.manual_seed(123)
        b = create_model(name, scale=2, preset="tiny").state_dict()
        torch.manual_seed(7)
        c = create_model(name, scale=2, preset="tiny").state_dict()
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
        assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point()), name


def test_user_mistakes_are_medsr_errors():
    with pytest.raises(MedsrError, match="preset"):
        create_model("edsr", preset="huge")
    with pytest.raises(MedsrError, match="does not take"):
        create_model("vdsr", preset="tiny", depth=3)
    with pytest.raises(MedsrError):
        create_model("vdsr", dims=4)
    with pytest.raises(MedsrError):
        create_model("edsr", scale=(2, 2), dims=3, preset="tiny")
    with pytest.raises(MedsrError):
        create_model("srcnn", in_channels=0, preset="tiny")
    with pytest.raises(MedsrError, match="unknown model"):
        create_model("srgan9000")


def test_overrides_change_the_architecture():
    net = create_model("vdsr", scale=2, preset="tiny", layers=6, channels=4)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6 and convs[0].out_channels == 4
    esp = create_model("espcn", scale=2, preset="tiny", icnr=True)
    y = esp(torch.randn(1, 1, 5, 5)).reshape(1, 1, 5, 2, 5, 2)
    assert (y.amax(dim=(3, 5)) - y.amin(dim=(3, 5))).abs().max() < 1e-6
