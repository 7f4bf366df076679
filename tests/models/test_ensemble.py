"""Self-ensemble (EDSR+, Lim et al. 2017): 8 transforms in 2D, 16 in 3D keeping one axis."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models import create_model
from medsr.models.ensemble import SelfEnsemble, ensemble_transforms


class _Shift(nn.Module):
    """Identity-like but not symmetric: it rolls the image by one voxel along the first axis."""

    scale = (1, 1)

    def forward(self, x):
        return torch.roll(x, 1, dims=2)


def test_group_sizes_and_distinct_elements():
    t2 = ensemble_transforms(2)
    t3 = ensemble_transforms(3, keep_axis=2)
    assert len(t2) == 8 and len(set(t2)) == 8
    assert len(t3) == 16 and len(set(t3)) == 16
    assert all(pair in (None, (0, 1)) for _, pair in t3)
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # the 8 transforms of a generic image are 8 different images (the dihedral group)
    from medsr.models.ensemble import _apply

    images = {tuple(_apply(x, f, p).flatten().tolist()) for f, p in t2}
    assert len(images) == 8


def test_ensemble_of_identity_returns_the_input():
    x = torch.randn(2, 1, 5, 6, 4)
    torch.testing.assert_close(SelfEnsemble(nn.Identity(), 3)(x), x)
    x2 = torch.randn(1, 2, 5, 7)
    torch.testing.assert_close(SelfEnsemble(nn.Identity(), 2)(x2), x2)


def test_ensemble_averages_the_inverse_transformed_outputs():
    """For the roll network the average is known: half the variants roll by +1, half by -1 along
    each axis ... computed directly from the definition."""
    x = torch.randn(1, 1, 5, 5)
    from medsr.models.ensemble import _apply, _undo

    expected = sum(_undo(_Shift()(_apply(x, f, p)), f, p) for f, p in ensemble_transforms(2)) / 8
    got = SelfEnsemble(_Shift(), 2)(x)
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, _Shift()(x))


@pytest.mark.parametrize("name", ["edsr", "vdsr"])
def test_ensemble_of_random_network_is_flip_and_rotation_invariant_2d(name):
    net = create_model(name, scale=2, dims=2, preset="tiny").eval()
    ens = SelfEnsemble(net, 2)
    x = torch.randn(1, 1, 7, 7)
    with torch.no_grad():
        y = ens(x)
        torch.testing.assert_close(
            ens(torch.flip(x, dims=[3])), torch.flip(y, dims=[3]), atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            ens(torch.rot90(x, 1, dims=(2, 3))),
            torch.rot90(y, 1, dims=(2, 3)),
            atol=1e-5,
            rtol=1e-5,
        )
        # the bare network is not (so the test can fail)
        assert not torch.allclose(
            net(torch.flip(x, dims=[3])), torch.flip(net(x), dims=[3]), atol=1e-5
        )


def test_ensemble_3d_keeps_the_anisotropic_axis():
    net = create_model("edsr", scale=(1, 1, 4), dims=3, preset="tiny").eval()
    ens = SelfEnsemble(net, 3, keep_axis=2)
    x = torch.randn(1, 1, 5, 5, 3)
    with torch.no_grad():
        y = ens(x)
        assert y.shape == (1, 1, 5, 5, 12)
        for axes in ([2], [3], [4], [2, 4]):
            torch.testing.assert_close(
                ens(torch.flip(x, dims=axes)), torch.flip(y, dims=axes), atol=1e-5, rtol=1e-5
            )
        torch.testing.assert_close(ens(x.transpose(2, 3)), y.transpose(2, 3), atol=1e-5, rtol=1e-5)


def test_ensemble_refuses_transposing_axes_with_different_factors():
    net = create_model("edsr", scale=(1, 1, 4), dims=3, preset="tiny")
    with pytest.raises(MedsrError, match="keep_axis"):
        SelfEnsemble(net, 3, keep_axis=0)
    with pytest.raises(MedsrError):
        SelfEnsemble(nn.Identity(), 2, keep_axis=1)


def test_flips_only_subgroup_for_networks_whose_axes_differ():
    """``transpose=False`` (self-SR's planes: the slice axis stays along the rows): the 4 flips of
    a 2D image, and the output is their mean; a non-square-scale model is then accepted."""
    from medsr.models.ensemble import _apply, _undo

    flips = ensemble_transforms(2, transpose=False)
    assert sorted(flips) == [((), None), ((0,), None), ((0, 1), None), ((1,), None)]
    assert len(ensemble_transforms(3, transpose=False)) == 8
    x = torch.randn(1, 1, 5, 6)
    expected = sum(_undo(_Shift()(_apply(x, f, p)), f, p) for f, p in flips) / 4
    torch.testing.assert_close(SelfEnsemble(_Shift(), 2, transpose=False)(x), expected)

    class _Anisotropic(_Shift):
        scale = (1, 2)

    with pytest.raises(MedsrError, match="keep_axis"):
        SelfEnsemble(_Anisotropic(), 2)
    assert len(SelfEnsemble(_Anisotropic(), 2, transpose=False).transforms) == 4
