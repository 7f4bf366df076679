"""The self-SR restoration network as a model of the zoo (``selfsr``, review section 4.2.2): the
default of ``--method self`` is exactly the registry preset, folding is a lossless reshuffle, and
``medsr.selfsr.network.build_network`` is a thin, checked call to ``create_model``."""

from __future__ import annotations

import pytest
import torch

from medsr.errors import MedsrError
from medsr.models import create_model, list_models, model_info
from medsr.models.blocks.conv import count_parameters
from medsr.models.medical._common import crop_spatial, pad_to_multiple
from medsr.models.medical.smore import CompactResNet
from medsr.selfsr.network import DEFAULT_ARCH, build_network


def test_selfsr_is_registered_with_the_default_network() -> None:
    assert DEFAULT_ARCH == "selfsr" and "selfsr" in list_models()
    info = model_info("selfsr")
    assert info.kind == "generator" and info.dims == (2,) and set(info.presets) == {"paper", "tiny"}
    net = create_model("selfsr", scale=1)
    assert isinstance(net, CompactResNet) and net.unshuffle == (4, 4)
    # 4x4 fold of one channel: head 16->64, six residual blocks of two 64->64 convs, tail 64->16
    head, block, tail = 16 * 64 * 9 + 64, 2 * (64 * 64 * 9 + 64), 64 * 16 * 9 + 16
    assert count_parameters(net) == head + 6 * block + tail == 461_648


def test_build_network_default_is_the_registry_model_with_the_same_init() -> None:
    torch.manual_seed(3)
    a = build_network()
    torch.manual_seed(3)
    b = create_model("selfsr", scale=1, dims=2, in_channels=1)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert list(sa)[:3] == ["head.weight", "head.bias", "body.0.body.0.weight"]


def test_untrained_network_is_the_identity_and_any_size_works() -> None:
    net = create_model("selfsr", scale=1)
    x = torch.rand(2, 1, 21, 30)  # not multiples of the 4x4 fold: padded and cropped back
    assert torch.equal(net(x), x)


def test_fold_and_unfold_are_exact_inverses_around_the_convolutions() -> None:
    """With the tail made the identity on the folded maps, the residual is the input itself: the
    fold / pad / crop path loses nothing (any fold factors)."""
    for unshuffle in [(1, 1), (4, 2), (2, 4)]:
        net = create_model("selfsr", scale=1, preset="tiny", unshuffle=unshuffle, blocks=0)
        folded = unshuffle[0] * unshuffle[1]
        with torch.no_grad():  # head and tail: identity 1x1-centred kernels on the folded channels
            net.head = torch.nn.Conv2d(folded, folded, 3, padding=1)
            eye = torch.zeros(folded, folded, 3, 3)
            eye[range(folded), range(folded), 1, 1] = 1.0
            net.head.weight.copy_(eye)
            net.head.bias.zero_()
            net.tail = torch.nn.Conv2d(folded, folded, 3, padding=1)
            net.tail.weight.copy_(0.5 * eye)
            net.tail.bias.zero_()
        x = torch.rand(1, 1, 9, 11)
        torch.testing.assert_close(net(x), 2 * x)  # x + 0.5 (h + h)


def test_scale_interpolates_first_and_errors_are_medsr_errors() -> None:
    net = create_model("selfsr", scale=(1, 4), preset="tiny")
    assert tuple(net(torch.rand(1, 1, 6, 5)).shape) == (1, 1, 6, 20)
    with pytest.raises(MedsrError, match="2D"):
        create_model("selfsr", dims=3, preset="tiny")
    with pytest.raises(MedsrError, match="unshuffle"):
        create_model("selfsr", preset="tiny", unshuffle=(2, 2, 2))
    with pytest.raises(MedsrError, match="option"):
        build_network("selfsr", width=8)  # the width is called channels in every network


def test_build_network_refuses_what_is_not_a_2d_generator() -> None:
    with pytest.raises(MedsrError, match="2D generator"):
        build_network("srgan_d")
    with pytest.raises(MedsrError, match="unknown model"):
        build_network("no_such_net")
    assert tuple(build_network("vdsr", "tiny")(torch.rand(1, 1, 7, 9)).shape) == (1, 1, 7, 9)


def test_pad_to_multiple_per_axis() -> None:
    x = torch.rand(1, 1, 5, 6)
    padded, spatial = pad_to_multiple(x, (4, 4))
    assert tuple(padded.shape[2:]) == (8, 8) and spatial == (5, 6)
    assert torch.equal(padded[..., 7, :6], x[..., 4, :])  # replicated last row
    assert torch.equal(crop_spatial(padded, spatial), x)
    assert tuple(pad_to_multiple(x, 4)[0].shape[2:]) == (8, 8)
