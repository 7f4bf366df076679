"""EnhanceNet's patch-wise texture loss (review ref. [48], Sajjadi et al. 2017, eq. 4)."""

import pytest
import torch

from medsr.errors import MedsrError
from medsr.losses import build_loss_term
from medsr.losses.perceptual import GramLoss, gram_matrix, load_vgg19, save_vgg19
from medsr.losses.texture import PatchTextureLoss


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    return save_vgg19(None, tmp_path_factory.mktemp("vgg") / "vgg19.safetensors", seed=3)


def _two_textures() -> torch.Tensor:
    """A 32x64 image: fine noise texture on the left tile, a smooth ramp on the right one."""
    g = torch.Generator().manual_seed(0)
    left = 0.5 + 0.3 * torch.rand(1, 1, 32, 32, generator=g)
    right = torch.linspace(0.2, 0.8, 32).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    return torch.cat([left, right], dim=3)


def test_texture_loss_is_the_mean_gram_distance_of_image_tiles(vgg_file):
    layers = {"relu1_1": 1.0, "relu2_1": 0.5}
    loss = PatchTextureLoss(vgg_file, layers, patch=16)
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 1, 32, 48, generator=g), torch.rand(2, 1, 32, 48, generator=g)
    net = load_vgg19(vgg_file, tuple(layers))
    expected = torch.zeros(())
    tiles_a = [a[:, :, i : i + 16, j : j + 16] for i in (0, 16) for j in (0, 16, 32)]
    tiles_b = [b[:, :, i : i + 16, j : j + 16] for i in (0, 16) for j in (0, 16, 32)]
    for name, w in layers.items():
        ga = torch.stack([gram_matrix(net(t)[name]) for t in tiles_a], 1)
        gb = torch.stack([gram_matrix(net(t)[name]) for t in tiles_b], 1)
        expected = expected + w * ((ga - gb) ** 2).mean()
    assert torch.allclose(loss(a, b), expected, rtol=1e-4)
    assert loss(a, a).item() == 0.0


def test_texture_loss_is_local_where_a_whole_image_gram_is_not(vgg_file):
    a = _two_textures()
    swapped = torch.cat([a[..., 32:], a[..., :32]], dim=3)  # same textures, other places
    layers = {"relu1_1": 1.0, "relu2_1": 1.0}
    local = PatchTextureLoss(vgg_file, layers, patch=32)(swapped, a).item()
    whole = GramLoss(vgg_file, layers, patch=None)(swapped, a).item()
    assert local > 20 * whole > 0


def test_texture_term_from_a_recipe_and_small_images_refused(vgg_file):
    term = build_loss_term("texture", {"weights": str(vgg_file), "patch": 16})
    assert isinstance(term, PatchTextureLoss) and set(term.layer_weights) == {
        "relu1_1", "relu2_1", "relu3_1"
    }
    with pytest.raises(MedsrError, match="smaller than its 16x16"):
        term(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
