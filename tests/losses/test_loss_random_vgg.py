"""Seeded random VGG features (``random_vgg19``, ``srfeat.weights: random:SEED``): a stand-in for
ImageNet VGG-19 (He, Wang & Hopcroft, NeurIPS 2016) built by the one He-normal initialisation
that ``save_vgg19(None, ...)`` writes, so ``random:3`` is the network of ``save_vgg19(None, p,
seed=3)`` read back by ``load_vgg19``."""

from __future__ import annotations

import pytest
import torch

from medsr.errors import MedsrError
from medsr.losses.perceptual import load_vgg19, random_vgg19, save_vgg19
from medsr.train.medical.srfeat import FrozenFeatureMaps


def _image() -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    return torch.rand(2, 1, 48, 48, generator=g)


def _maps(weights: str, layer: str = "relu5_4") -> torch.Tensor:
    with pytest.warns(UserWarning, match=r"randomly initialised VGG19.*simplification of SRFeat"):
        feats = FrozenFeatureMaps(weights, layer)
    with torch.no_grad():
        return feats(_image())


def test_random_seed_gives_the_same_maps_twice_and_other_maps_for_another_seed() -> None:
    a, b, c = _maps("random:3"), _maps("random:3"), _maps("random:4")
    assert a.shape == (2, 512, 3, 3) and float(a.abs().sum()) > 0
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("layer", ["relu5_4", "relu2_2"])
def test_random_is_the_network_save_vgg19_writes_and_load_vgg19_reads(tmp_path, layer) -> None:
    path = save_vgg19(None, tmp_path / "vgg19_seed3.safetensors", seed=3)
    loaded = load_vgg19(path, (layer,))
    fresh = random_vgg19((layer,), seed=3)
    want, got = loaded.state_dict(), fresh.state_dict()
    assert want.keys() == got.keys() and len(got) > 0
    assert all(torch.equal(want[k], got[k]) for k in want)
    assert not any(p.requires_grad for p in fresh.parameters()) and not fresh.training
    with torch.no_grad():
        from_file = loaded(_image())[layer]
    assert torch.equal(_maps("random:3", layer), from_file)


def test_plain_random_is_seed_zero_whatever_the_global_generator() -> None:
    torch.manual_seed(123)
    plain = _maps("random")
    torch.manual_seed(456)  # the He-normal draws come from their own seeded generator
    assert torch.equal(plain, _maps("random:0"))


def test_weights_are_he_normal() -> None:
    net = random_vgg19(("relu5_4",), seed=0)
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    for conv in (convs[0], convs[-1]):
        std = (2.0 / (conv.in_channels * 9)) ** 0.5
        assert abs(float(conv.weight.std()) / std - 1) < 0.05
        assert float(conv.bias.abs().max()) == 0.0


def test_malformed_random_is_a_one_line_error_and_a_missing_file_stays_one() -> None:
    with pytest.raises(MedsrError, match=r"random:SEED") as err:
        FrozenFeatureMaps("random:x", "relu5_4")
    assert "\n" not in str(err.value) and "'random:x'" in str(err.value)
    with pytest.raises(MedsrError, match=r"weights file .*no_vgg.safetensors not found") as err:
        FrozenFeatureMaps("no_vgg.safetensors", "relu5_4")
    assert "\n" not in str(err.value)
