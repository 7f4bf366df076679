"""Discriminators: output shapes in 2D/3D for any input size, the papers' layouts, spectral
normalisation (Miyato et al. 2018), determinism and ONNX export."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.models import create_model, list_models, model_info
from medsr.models.discriminators import bake_spectral_norm, receptive_field

DISCRIMINATORS = ("srgan_d", "esrgan_d", "patchgan_d", "gan_circle_d", "mdcsrn_d", "srfeat_fd")
PATCH = {"patchgan_d", "gan_circle_d"}


def _layers(net: torch.nn.Module, kinds: tuple[type, ...]) -> list[torch.nn.Module]:
    return [m for m in net.modules() if isinstance(m, kinds)]


def test_registered_as_discriminators() -> None:
    names = list_models("discriminator")
    assert set(DISCRIMINATORS) <= set(names)
    assert not set(DISCRIMINATORS) & set(list_models())  # not listed among generators
    assert all(model_info(n).kind == "discriminator" for n in DISCRIMINATORS)


@pytest.mark.parametrize("size", [24, 29, 40])
@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_output_shapes_any_size_2d(name: str, size: int) -> None:
    d = create_model(name, dims=2, in_channels=2, preset="tiny")
    y = d(torch.rand(3, 2, size, size + 3))
    if name in PATCH:
        assert y.shape[:2] == (3, 1) and y.dim() == 4 and min(y.shape[2:]) >= 1
    else:
        assert tuple(y.shape) == (3, 1)
    y.sum().backward()
    assert all(p.grad is not None for p in d.parameters())


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_output_shapes_3d(name: str) -> None:
    d = create_model(name, dims=3, in_channels=1, preset="tiny")
    y = d(torch.rand(2, 1, 24, 20, 26))
    assert y.shape[:2] == (2, 1)
    assert y.dim() == (5 if name in PATCH else 2)


def test_paper_layouts_on_paper_patch_sizes() -> None:
    # SRGAN, Ledig et al. 2017 Fig. 4: 96x96 input -> 512 x 6 x 6 into the 1024-unit dense layer
    srgan = create_model("srgan_d", in_channels=3)
    convs = _layers(srgan, (torch.nn.Conv2d,))
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert tuple(srgan.features(torch.rand(1, 3, 96, 96)).shape) == (1, 512, 6, 6)
    assert srgan.classifier[0].in_features == 512 * 36 and srgan.classifier[0].out_features == 1024
    assert len(_layers(srgan, (torch.nn.BatchNorm2d,))) == 7
    # ESRGAN VGG-128: 128x128 input -> 512 x 4 x 4 -> 100 -> 1
    esrgan = create_model("esrgan_d", in_channels=3)
    assert tuple(esrgan.features(torch.rand(1, 3, 128, 128)).shape) == (1, 512, 4, 4)
    assert [lin.out_features for lin in _layers(esrgan, (torch.nn.Linear,))] == [100, 1]
    # mDCSRN: SRGAN layout with LayerNorm (GroupNorm(1, C)) instead of BN, 3D by default
    mdcsrn = create_model("mdcsrn_d")
    assert mdcsrn.dims == 3
    assert not _layers(mdcsrn, (torch.nn.BatchNorm3d,))
    assert all(g.num_groups == 1 for g in _layers(mdcsrn, (torch.nn.GroupNorm,)))
    # SRFeat: feature discriminator on 512-channel VGG maps by default
    assert create_model("srfeat_fd").in_channels == 512


def test_patchgan_is_70x70() -> None:
    """Isola et al. 2017: the C64-C128-C256-C512 PatchGAN judges 70x70 patches."""
    d = create_model("patchgan_d", in_channels=3)
    assert d.receptive_field == 70
    assert receptive_field([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]) == 70
    # one output per 8-pixel step: 256 -> 30 x 30 patch logits (the pix2pix map)
    assert tuple(d(torch.rand(1, 3, 256, 256)).shape) == (1, 1, 30, 30)
    # the patch logit depends only on its 70x70 window
    x = torch.rand(1, 3, 96, 96)
    d.eval()
    y0 = d(x)
    x2 = x.clone()
    x2[..., 80:, 80:] = 0.0
    y1 = d(x2)
    assert torch.equal(y0[..., 0, 0], y1[..., 0, 0])
    assert not torch.equal(y0[..., -1, -1], y1[..., -1, -1])
    gc = create_model("gan_circle_d")
    assert _layers(gc, (torch.nn.InstanceNorm2d,)) and not _layers(gc, (torch.nn.BatchNorm2d,))


def test_patch_discriminator_too_small_input_is_a_user_error() -> None:
    d = create_model("patchgan_d", preset="tiny")
    with pytest.raises(MedsrError, match="at least"):
        d(torch.rand(1, 1, d.min_size - 1, 32))


def _sigma(weight: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2))


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_spectral_norm_bounds_every_layer(name: str) -> None:
    torch.manual_seed(0)
    d = create_model(name, dims=2, in_channels=1, preset="tiny", spectral_norm=True)
    layers = _layers(d, (torch.nn.Conv2d, torch.nn.Linear))
    assert layers and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    d.train()
    for _ in range(5):  # each training-mode forward runs one more power iteration
        d(torch.rand(2, 1, 32, 32))
    d.eval()
    sigmas = [_sigma(m.weight) for m in layers]
    assert max(abs(s - 1.0) for s in sigmas) < 0.05
    # without spectral normalisation the same layers are far from 1
    torch.manual_seed(0)
    plain = create_model(name, dims=2, in_channels=1, preset="tiny")
    raw = [_sigma(m.weight) for m in _layers(plain, (torch.nn.Conv2d, torch.nn.Linear))]
    assert max(abs(s - 1.0) for s in raw) > 0.2


def test_spectral_norm_in_3d() -> None:
    torch.manual_seed(0)
    d = create_model("mdcsrn_d", dims=3, preset="tiny", spectral_norm=True)
    for _ in range(10):
        d(torch.rand(1, 1, 16, 16, 16))
    d.eval()
    assert all(
        abs(_sigma(m.weight) - 1.0) < 0.05 for m in _layers(d, (torch.nn.Conv3d, torch.nn.Linear))
    )


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_same_seed_same_weights(name: str) -> None:
    torch.manual_seed(7)
    a = create_model(name, preset="tiny").state_dict()
    torch.manual_seed(7)
    b = create_model(name, preset="tiny").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_options_and_errors() -> None:
    d = create_model("srgan_d", preset="tiny", pool=2, hidden=4)
    assert d.classifier[0].in_features == 16 * 4 and d.classifier[0].out_features == 4
    with pytest.raises(MedsrError, match="option"):
        create_model("esrgan_d", preset="tiny", growth=3)
    with pytest.raises(MedsrError, match="norm"):
        create_model("srgan_d", preset="tiny", norm="weird")
    # the SR factor is accepted and ignored, so training code can pass the same kwargs
    assert tuple(
        create_model("patchgan_d", preset="tiny", scale=4)(torch.rand(1, 1, 32, 32)).shape
    )[:2] == (1, 1)


@pytest.mark.parametrize(
    "name,dims", [("esrgan_d", 2), ("patchgan_d", 3), ("mdcsrn_d", 3), ("srgan_d", 2)]
)
def test_onnx_export(name: str, dims: int, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    from medsr.models.onnx import open_session

    torch.manual_seed(0)
    d = create_model(name, dims=dims, preset="tiny", spectral_norm=(name == "srgan_d")).eval()
    x = torch.rand(2, 1, *([24] * dims))
    if name == "srgan_d":  # the power iteration does not export: bake the normalised weights first
        with torch.no_grad():
            before = d(x)
        bake_spectral_norm(d)
        assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in d.modules())
        with torch.no_grad():
            torch.testing.assert_close(d(x), before)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            d, (x,), str(tmp_path / "d.onnx"), dynamo=False, input_names=["x"], output_names=["y"]
        )
    got = open_session(tmp_path / "d.onnx").run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        want = d(x).numpy()
    assert np.abs(got - want).max() < 1e-4
