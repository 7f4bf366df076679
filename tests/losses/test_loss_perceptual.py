"""Perceptual / Gram losses on a local VGG19 file, and the auto-encoder shape prior."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from medsr.errors import MedsrError
from medsr.losses import (
    GramLoss,
    LearnedFeatureLoss,
    PerceptualLoss,
    ShapePriorLoss,
    build_loss_term,
    gram_matrix,
    load_autoencoder,
    save_autoencoder,
)
from medsr.losses.perceptual import (
    VGG19_LAYERS,
    VGG19Features,
    convert_vgg19_checkpoint,
    load_vgg19,
    save_vgg19,
)
from medsr.models.autoencoder import ConvAutoEncoder


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory) -> Path:
    return save_vgg19(None, tmp_path_factory.mktemp("vgg") / "vgg19.safetensors", seed=3)


def test_vgg19_layout_matches_torchvision_indices():
    assert len(VGG19_LAYERS) == 37  # 16 convs + 16 ReLUs + 5 pools
    assert VGG19_LAYERS[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert VGG19_LAYERS.index("conv5_4") == 34 and VGG19_LAYERS.index("relu5_4") == 35
    net = VGG19Features(("relu2_2",))
    assert len(net.features) == VGG19_LAYERS.index("relu2_2") + 1  # truncated after the layer


def test_missing_or_foreign_weights_file_is_a_one_line_user_error(tmp_path):
    with pytest.raises(MedsrError) as err:
        load_vgg19(tmp_path / "nope.safetensors")
    assert "nope.safetensors" in str(err.value) and "\n" not in str(err.value)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(MedsrError, match="bad.safetensors"):
        load_vgg19(bad)
    with pytest.raises(MedsrError, match="weights"):
        build_loss_term(
            "perceptual", {"weights": str(tmp_path / "none.safetensors")}, where="loss.terms"
        )
    with pytest.raises(MedsrError, match="unknown VGG19 layer"):
        VGG19Features(("relu9_9",))


def test_perceptual_loss_properties(vgg_file):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 1, 32, 32, generator=g), torch.rand(2, 1, 32, 32, generator=g)
    loss = PerceptualLoss(str(vgg_file), {"relu2_2": 1.0, "relu3_4": 0.5}, criterion="l2")
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-12)
    pred = x.clone().requires_grad_(True)
    value = loss(pred, y)
    value.backward()
    assert value.item() > 0 and pred.grad.abs().sum() > 0
    # the frozen network stays out of parameters, state dicts and optimisers
    assert list(loss.parameters()) == [] and loss.state_dict() == {}
    assert not any(p.requires_grad for p in loss.net.parameters())
    loss.train()
    assert not loss.net.training
    loss.to(torch.float64)
    assert next(loss.net.parameters()).dtype == torch.float64


def test_perceptual_loss_on_volumes_is_slice_wise(vgg_file):
    g = torch.Generator().manual_seed(1)
    vol = torch.rand(1, 1, 16, 16, 4, generator=g)
    loss = PerceptualLoss(str(vgg_file), {"relu1_2": 1.0}, slice_axis=2)
    slices = PerceptualLoss(str(vgg_file), {"relu1_2": 1.0})
    other = torch.rand(1, 1, 16, 16, 4, generator=g)
    per_slice = sum(slices(vol[..., k], other[..., k]) for k in range(4)) / 4
    assert loss(vol, other).item() == pytest.approx(per_slice.item(), rel=1e-5)


def test_gram_matrix_of_known_features():
    f = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])  # (N=1, C=2, M=2)
    g = gram_matrix(f)
    assert g.shape == (1, 2, 2)
    assert torch.allclose(g[0], torch.tensor([[5 / 4, 11 / 4], [11 / 4, 25 / 4]]))  # F F^T / (C M)
    assert torch.allclose(g, g.transpose(1, 2))


def test_gram_loss_ignores_positions_but_not_statistics(vgg_file):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 1, 32, 32, generator=g)
    loss = GramLoss(str(vgg_file), {"relu1_1": 1.0}, patch=None)
    flipped = torch.flip(x, dims=[3])  # same texture, other positions: Gram (almost) unchanged
    brighter = (x * 0.3 + 0.6).clamp(0, 1)
    assert loss(flipped, x).item() < 0.1 * loss(brighter, x).item()
    tiled = GramLoss(str(vgg_file), {"relu1_1": 1.0}, patch=8)
    assert tiled(x, x).item() == pytest.approx(0.0, abs=1e-12)
    assert tiled(brighter, x).item() > 0


def test_convert_torchvision_style_checkpoint(tmp_path, vgg_file):
    state = {f"features.{k.split('.', 1)[1]}": v for k, v in load_file(str(vgg_file)).items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state, tmp_path / "vgg19.pth")
    out = convert_vgg19_checkpoint(tmp_path / "vgg19.pth", tmp_path / "converted.safetensors")
    a, b = load_file(str(out)), load_file(str(vgg_file))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(MedsrError, match="features"):
        torch.save({"x": torch.zeros(1)}, tmp_path / "other.pth")
        convert_vgg19_checkpoint(tmp_path / "other.pth", tmp_path / "o.safetensors")


@pytest.mark.parametrize("dims", [2, 3])
def test_autoencoder_roundtrip_and_learned_feature_loss(tmp_path, dims):
    torch.manual_seed(0)
    ae = ConvAutoEncoder(dims=dims, channels=(4, 8), code_channels=2)
    x = torch.rand((2, 1) + (16,) * dims)
    assert ae(x).shape == x.shape and ae.encode(x).shape == (2, 2) + (4,) * dims
    path = save_autoencoder(ae, tmp_path / "ae.safetensors", {"note": "test"})
    back = load_autoencoder(path)
    assert torch.equal(back.encode(x), ae.encode(x))
    prior = LearnedFeatureLoss(path)
    assert ShapePriorLoss is LearnedFeatureLoss  # the former name stays an alias
    assert isinstance(build_loss_term("shape_prior", {"weights": str(path)}), LearnedFeatureLoss)
    assert prior(x, x).item() == 0.0
    assert prior(x.flip(-1), x).item() > 0
    with pytest.raises(MedsrError, match="multiples of 4"):
        ae(torch.rand((1, 1) + (10,) * dims))
    with pytest.raises(MedsrError, match="auto-encoder"):
        save_vgg19(None, tmp_path / "v.safetensors")
        load_autoencoder(tmp_path / "v.safetensors")
