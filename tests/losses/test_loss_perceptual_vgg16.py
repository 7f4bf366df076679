"""VGG16 option of the perceptual loss (review section 3.3 names VGG16; Johnson et al. 2016)."""

import pytest
import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.losses import build_loss_term
from medsr.losses.perceptual import (
    VGG16_LAYERS,
    PerceptualLoss,
    convert_vgg19_checkpoint,
    load_vgg19,
    save_vgg19,
)


def _torchvision_vgg16_features() -> nn.Sequential:
    """torchvision's ``vgg16().features`` layout, written out (configuration "D")."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    mods: list[nn.Module] = []
    cin = 3
    for c in cfg:
        if c == "M":
            mods.append(nn.MaxPool2d(2, 2))
        else:
            mods += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU(inplace=True)]
            cin = c
    return nn.Sequential(*mods)


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    return save_vgg19(None, tmp_path_factory.mktemp("vgg16") / "vgg16.safetensors", seed=5,
                      arch="vgg16")


def test_vgg16_layer_names_follow_torchvision_indices():
    assert len(VGG16_LAYERS) == 31
    for name, idx in {"conv1_1": 0, "relu2_2": 8, "pool2": 9, "relu3_3": 15, "pool3": 16,
                      "conv4_1": 17, "relu4_3": 22, "relu5_3": 29, "pool5": 30}.items():
        assert VGG16_LAYERS.index(name) == idx
    with pytest.raises(MedsrError, match="VGG16 layer"):
        load_vgg19("unused", ("relu5_4",), arch="vgg16")  # VGG16 has no 5_4


def test_vgg16_weights_from_a_torchvision_state_dict_give_its_features(tmp_path):
    torch.manual_seed(0)
    ref = _torchvision_vgg16_features().eval()
    src = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in ref.state_dict().items()}, src)
    dst = convert_vgg19_checkpoint(src, tmp_path / "vgg16.safetensors", arch="vgg16")
    net = load_vgg19(dst, ("relu2_2", "relu3_3"), arch="vgg16")
    x = torch.rand(1, 3, 32, 32)
    xs = (x - net.mean) / net.std
    with torch.no_grad():
        out = net(x)
        assert torch.allclose(out["relu2_2"], ref[:9](xs), atol=1e-5)
        assert torch.allclose(out["relu3_3"], ref[:16](xs), atol=1e-5)
    # a VGG19 file is refused for the VGG16 network, and the other way round
    with pytest.raises(MedsrError, match="vgg16 weights, not vgg19"):
        load_vgg19(dst, ("relu5_4",))
    with pytest.raises(MedsrError, match="not a VGG16"):
        torch.save({f"features.{k}": v for k, v in ref[:9].state_dict().items()}, src)
        convert_vgg19_checkpoint(src, tmp_path / "x.safetensors", arch="vgg16")


def test_vgg16_perceptual_loss_zero_on_identical_positive_otherwise(vgg16_file):
    loss = build_loss_term("perceptual", {"weights": str(vgg16_file), "network": "vgg16"})
    assert isinstance(loss, PerceptualLoss) and set(loss.layer_weights) == {"relu2_2"}
    assert loss.net.arch == "vgg16"
    torch.manual_seed(1)
    hr = torch.rand(2, 1, 24, 24)
    assert float(loss(hr, hr.clone())) == 0.0
    worse = float(loss(hr + 0.2 * torch.randn_like(hr), hr))
    slight = float(loss(hr + 0.02 * torch.randn_like(hr), hr))
    assert worse > slight > 0.0
    with pytest.raises(MedsrError, match="unknown VGG network"):
        build_loss_term("perceptual", {"weights": str(vgg16_file), "network": "vgg11"})
