"""Shepard interpolation layer (ShCNN, Ren et al. 2015) and the learned input up-sampler."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from medical_fit_helpers import fit, t1_slice_pair

from medsr.errors import MedsrError
from medsr.models.blocks import LearnedPreUpsample, PreUpsample, ShepardInterpolation
from medsr.models.blocks.learned import ShepardPreUpsample
from medsr.models.registry import MODELS
from medsr.train.builders import build_model
from medsr.train.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def _holes(shape, keep=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) < keep).float()


@pytest.mark.parametrize("dims", [2, 3])
def test_shepard_fills_holes_by_normalised_weighted_average(dims):
    torch.manual_seed(0)
    layer = ShepardInterpolation(dims, channels=2, kernel=3)
    shape = (1, 2) + (10,) * dims
    x = torch.rand(shape)
    m = _holes((1, 1) + (10,) * dims)
    y, m_out = layer(x * m + 7.0 * (1 - m), m)  # values under the holes are ignored
    # known samples kept; every hole value is the kernel-weighted mean of its known neighbours
    assert torch.equal(y[m.expand_as(y) > 0], x[m.expand_as(x) > 0])
    w = layer.weights().detach()
    interior = (m[0, 0] == 0) & (m_out[0, 0] > 0)
    idx = next(p for p in torch.nonzero(interior).tolist() if all(0 < i < 9 for i in p))
    win = tuple(slice(i - 1, i + 2) for i in idx)
    for c in range(2):
        mw = m[(0, 0) + win] * w[c, 0]
        expect = (mw * x[(0, c) + win]).sum() / mw.sum()
        assert torch.isclose(y[(0, c) + tuple(idx)], expect, atol=1e-6)
    # a convex combination: constants are reproduced exactly, values stay within the data range
    const = torch.full(shape, 3.5)
    yc, _ = layer(const * m, m)
    assert torch.allclose(yc[m_out.expand_as(yc) > 0], torch.tensor(3.5), atol=1e-5)
    yd = y.detach()[m_out.expand_as(y) > 0]
    assert float(yd.min()) >= float(x.min()) - 1e-6 and float(yd.max()) <= float(x.max()) + 1e-6
    assert bool((yd != 7.0).all())


def test_shepard_mask_marks_unreachable_holes_and_stacking_fills_them():
    layer = ShepardInterpolation(2, channels=1, kernel=3)
    x = torch.ones(1, 1, 9, 9)
    m = torch.ones(1, 1, 9, 9)
    m[..., 2:7, 2:7] = 0  # a 5x5 hole: the centre is 2 samples from any known one
    y, m1 = layer(x * m, m)
    assert m1[0, 0, 4, 4] == 0 and y[0, 0, 4, 4] == 0 and m1[0, 0, 2, 2] == 1
    y2, m2 = layer(y, m1)
    assert m2[0, 0, 4, 4] == 0 and m2[0, 0, 3, 3] == 1
    y3, m3 = layer(y2, m2)  # three stacked layers of reach 1 fill a hole of radius 2 (ShCNN)
    assert bool(m3.all()) and torch.allclose(y3, x)


def test_shepard_kernels_are_trainable_and_learn_to_interpolate():
    torch.manual_seed(0)
    layer = ShepardInterpolation(2, channels=1, kernel=5, power=0.0)  # starts as a box average
    n = 32
    yy, xx = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    imgs = torch.stack([torch.sin(0.3 * xx * (k + 1) / 3 + 0.2 * yy) for k in range(4)])[:, None]

    def err() -> torch.Tensor:
        m = _holes(imgs.shape, keep=0.5, seed=1)
        y, _ = layer(imgs * m, m)
        return ((y - imgs) ** 2)[..., 2:-2, 2:-2].mean()

    before = float(err().detach())
    w0 = layer.weights().detach().clone()
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        loss = err()
        loss.backward()
        assert layer.theta.grad is not None and float(layer.theta.grad.abs().sum()) > 0
        opt.step()
    after = float(err().detach())
    assert after < 0.7 * before
    w = layer.weights().detach()
    # the learned weights favour near samples over far ones (Shepard's idea, now learned)
    assert float(w[0, 0, 2, 3]) > float(w[0, 0, 0, 0]) and not torch.allclose(w, w0)


def test_shepard_rejects_bad_settings():
    with pytest.raises(MedsrError, match="odd"):
        ShepardInterpolation(2, 1, kernel=4)
    with pytest.raises(MedsrError, match="expects"):
        ShepardInterpolation(2, 1)(torch.zeros(1, 2, 4, 4), torch.ones(1, 1, 4, 4))


@pytest.mark.parametrize(("dims", "factors"), [(2, 2), (2, 3), (3, (1, 2, 4))])
def test_learned_upsample_starts_as_linear_interpolation(dims, factors):
    torch.manual_seed(0)
    x = torch.rand((2, 1) + (7,) * dims)
    up = LearnedPreUpsample(dims, 1, factors)
    ref = PreUpsample(dims, factors, kernel="linear", border="replicate")
    with torch.no_grad():
        assert torch.allclose(up(x), ref(x), atol=1e-5)
    if dims == 2:
        mode = "bilinear"
        assert torch.allclose(up(x), F.interpolate(x, scale_factor=factors, mode=mode), atol=1e-5)


def test_learned_upsample_is_trained_with_the_network():
    torch.manual_seed(0)
    net = MODELS.create("vdsr", scale=2, preset="tiny", kernel="learned")
    assert isinstance(net.upsample, LearnedPreUpsample)
    w0 = net.upsample.up.conv.weight.detach().clone()
    hr = torch.rand(2, 1, 16, 16)
    lr = F.avg_pool2d(hr, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = F.mse_loss(net(lr), hr)
    loss.backward()
    assert float(net.upsample.up.conv.weight.grad.abs().sum()) > 0
    opt.step()
    assert not torch.equal(net.upsample.up.conv.weight, w0)
    with pytest.raises(MedsrError):
        MODELS.create("vdsr", scale=1.5, preset="tiny", kernel="learned")


@pytest.mark.parametrize(
    ("dims", "factors"), [(2, (2, 2)), (2, (3, 3)), (2, (1, 4)), (3, (2, 2, 2)), (3, (1, 1, 3))]
)
def test_shepard_upsample_is_a_normalised_average_on_the_pixel_centre_grid(dims, factors):
    layer = ShepardPreUpsample(dims, 2, factors)
    x = torch.rand((1, 2) + (5,) * dims)
    y = layer(x).detach()
    assert y.shape[2:] == tuple(5 * f for f in factors)
    const = layer(torch.full_like(x, 3.0)).detach()
    assert torch.allclose(const, torch.full_like(const, 3.0), atol=1e-5)  # borders too
    assert float(y.min()) >= float(x.min()) - 1e-6 and float(y.max()) <= float(x.max()) + 1e-6
    # a ramp along the last axis comes out mirror-symmetric about the grid's centre: the LR
    # samples sit at the HR coordinates i r + (r - 1) / 2, as PreUpsample's pixel centres
    ramp = torch.arange(5.0).expand((1, 2) + (5,) * dims)
    out = layer(ramp).detach()
    assert torch.allclose(out + out.flip(-1), torch.full_like(out, 4.0), atol=1e-5)
    if factors[-1] % 2:  # odd factor: HR samples on the LR samples nearly keep their values
        centre = out[(..., *(slice(f // 2, None, f) for f in factors))]
        assert torch.allclose(centre, ramp, atol=0.05)


def test_shepard_upsample_learns_to_interpolate_a_real_slice(shared_data):
    lr, hr = t1_slice_pair(shared_data, scale=2, size=48)
    layer = ShepardPreUpsample(2, 1, 2)
    theta0 = layer.theta.detach().clone()
    losses = fit(layer, [lr], hr, steps=60, lr=5e-2)
    assert losses[-1] < 0.8 * losses[0], losses[::10]
    assert not torch.equal(layer.theta, theta0) and float(layer.weights().detach().min()) > 0
    const = layer(torch.full_like(lr, 0.7)).detach()  # still a normalised average
    assert torch.allclose(const, torch.full_like(const, 0.7), atol=1e-5)


def test_shepard_upsample_is_an_option_of_pre_upsampling_networks_and_recipes():
    cfg = load_config(ROOT / "configs" / "srcnn.yaml", ["model.kwargs={kernel: shepard}"])
    net = build_model(cfg)
    assert isinstance(net.upsample, ShepardPreUpsample)
    lr = torch.rand(2, 1, 8, 8)
    theta0 = net.upsample.theta.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    out = net(lr)
    assert out.shape[2:] == tuple(8 * s for s in cfg.model.scale_tuple())
    F.mse_loss(out, torch.rand_like(out)).backward()
    opt.step()  # trained with the network
    assert not torch.equal(net.upsample.theta, theta0)
    for name in ("vdsr", "drrn", "dilated_sr"):
        model = MODELS.create(name, scale=3, preset="tiny", kernel="shepard")
        assert isinstance(model.upsample, ShepardPreUpsample)
        assert model(torch.rand(1, 1, 6, 6)).shape == (1, 1, 18, 18)
    with pytest.raises(MedsrError):
        MODELS.create("vdsr", scale=1.5, preset="tiny", kernel="shepard")
    with pytest.raises(MedsrError, match="reach"):
        ShepardPreUpsample(2, 1, 2, reach=0)
