"""The medical networks of the review section 4: shapes, gradients, determinism, two-input APIs,
progressive outputs, the T-L prior and user errors (tiny presets, small inputs)."""

from __future__ import annotations

import pytest
import torch

from medsr.errors import MedsrError
from medsr.models import create_model, list_models, model_info
from medsr.models.blocks.upsample import PreUpsample

GENERATORS = (
    "unet_sr",
    "gan_circle",
    "multicontrast_sr",
    "csn",
    "msfn",
    "tl_net",
    "srcnn3d",
    "resmi3d",
    "dcsrn",
    "mdcsrn",
    "smore",
    "saa",
    "sawgan",
    "progressive_gan",
)
TWO_INPUT = {"multicontrast_sr", "resmi3d"}
PRE_UPSAMPLING = (
    "unet_sr",
    "multicontrast_sr",
    "msfn",
    "srcnn3d",
    "resmi3d",
    "dcsrn",
    "mdcsrn",
    "smore",
    "saa",
)


def _inputs(
    net: torch.nn.Module, name: str, shape: tuple[int, ...], seed: int = 0
) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(*shape, generator=g)
    args = [x]
    if name in TWO_INPUT:
        out = [round(n * f) for n, f in zip(shape[2:], net.scale)]
        args.append(torch.rand(shape[0], 1, *out, generator=g))
    return args


def _check(name: str, dims: int, scale, shape: tuple[int, ...], in_channels: int = 1) -> None:
    net = create_model(name, scale=scale, dims=dims, in_channels=in_channels, preset="tiny")
    assert net.dims == dims
    assert len(net.scale) == dims
    args = _inputs(net, name, shape)
    y = net(*args)
    expected = tuple(round(n * f) for n, f in zip(shape[2:], net.scale))
    assert tuple(y.shape) == (shape[0], in_channels, *expected)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad and p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)


def test_all_medical_networks_are_registered() -> None:
    names = set(list_models())
    assert set(GENERATORS) <= names
    for name in GENERATORS:
        info = model_info(name)
        assert info.kind == "generator" and info.review_section == "4"
        assert "paper" in info.presets and "tiny" in info.presets and info.preset_note


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", GENERATORS)
def test_forward_backward_2d(name: str, scale: int) -> None:
    _check(name, 2, scale, (2, 1, 6, 7))


@pytest.mark.parametrize("scale", [(2, 2, 2), (1, 1, 4)])
@pytest.mark.parametrize("name", GENERATORS)
def test_forward_backward_3d(name: str, scale: tuple[int, int, int]) -> None:
    _check(name, 3, scale, (1, 1, 4, 5, 3))


@pytest.mark.parametrize("name", ["csn", "gan_circle", "unet_sr", "dcsrn", "progressive_gan"])
def test_any_channel_count(name: str) -> None:
    _check(name, 2, 2, (1, 3, 6, 6), in_channels=3)


@pytest.mark.parametrize("name", PRE_UPSAMPLING)
def test_pre_upsampling_scale_one_is_restoration(name: str) -> None:
    _check(name, 2, 1, (1, 1, 9, 8))


@pytest.mark.parametrize("name", ["unet_sr", "msfn", "smore"])
def test_pre_upsampling_accepts_fractional_factors(name: str) -> None:
    net = create_model(name, scale=(2.5, 1.5), dims=2, preset="tiny")
    y = net(torch.rand(1, 1, 6, 6))
    assert tuple(y.shape) == (1, 1, 15, 9)


@pytest.mark.parametrize("name", ["gan_circle", "csn", "tl_net", "sawgan", "progressive_gan"])
def test_post_upsampling_rejects_fractional_factors(name: str) -> None:
    with pytest.raises(MedsrError, match="integer"):
        create_model(name, scale=2.5, dims=2, preset="tiny")


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_weights(name: str) -> None:
    torch.manual_seed(123)
    a = create_model(name, scale=2, dims=2, preset="tiny").state_dict()
    torch.manual_seed(123)
    b = create_model(name, scale=2, dims=2, preset="tiny").state_dict()
    torch.manual_seed(124)
    c = create_model(name, scale=2, dims=2, preset="tiny").state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(
        not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point() and a[k].numel() > 1
    )


def test_unknown_preset_and_option_are_user_errors() -> None:
    with pytest.raises(MedsrError, match="preset"):
        create_model("csn", preset="huge")
    with pytest.raises(MedsrError, match="option"):
        create_model("dcsrn", preset="tiny", bogus=3)
    with pytest.raises(MedsrError, match="dims"):
        create_model("unet_sr", dims=4, preset="tiny")


@pytest.mark.parametrize("name", ["unet_sr", "msfn", "resmi3d", "multicontrast_sr"])
def test_global_residual_starts_from_the_interpolation(name: str) -> None:
    """With the last layer zeroed the residual networks return exactly their cubic interpolation."""
    net = create_model(name, scale=2, dims=2, preset="tiny").eval()
    last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        if last.bias is not None:
            last.bias.zero_()
    args = _inputs(net, name, (1, 1, 7, 6))
    if name == "multicontrast_sr":  # the SSR's last conv also feeds the output
        ssr_last = [m for m in net.ssr.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        with torch.no_grad():
            ssr_last.weight.zero_()
            ssr_last.bias.zero_()
    expected = PreUpsample(2, 2)(args[0])
    torch.testing.assert_close(net(*args), expected, atol=1e-6, rtol=0)


def test_multicontrast_single_and_multi_contrast_paths() -> None:
    net = create_model("multicontrast_sr", scale=2, dims=2, preset="tiny").eval()
    lr, ref = _inputs(net, "multicontrast_sr", (1, 1, 6, 6))
    ssr_only = net(lr)
    ssr, msr = net.forward_all(lr, ref)
    torch.testing.assert_close(ssr_only, ssr)
    torch.testing.assert_close(net(lr, ref), msr)
    # the reference steers the multi-contrast output, not the single-contrast one
    ssr2, msr2 = net.forward_all(lr, ref.flip(-1))
    torch.testing.assert_close(ssr2, ssr)
    assert not torch.allclose(msr2, msr)
    with pytest.raises(MedsrError, match="output grid"):
        net(lr, torch.rand(1, 1, 6, 6))
    with pytest.raises(MedsrError, match="channels"):
        net(lr, torch.rand(1, 2, 12, 12))


def test_resmi3d_reference_required_and_monomodal_variant() -> None:
    net = create_model("resmi3d", scale=(1, 1, 2), preset="tiny")
    lr = torch.rand(1, 1, 4, 4, 3)
    with pytest.raises(MedsrError, match="reference"):
        net(lr)
    mono = create_model("resmi3d", scale=(1, 1, 2), preset="tiny", ref_channels=0)
    assert tuple(mono(lr).shape) == (1, 1, 4, 4, 6)
    with pytest.raises(MedsrError, match="ref_channels=0"):
        mono(lr, torch.rand(1, 1, 4, 4, 6))


def test_progressive_stages_follow_the_prime_factors() -> None:
    net = create_model("progressive_gan", scale=(4, 2), dims=2, preset="tiny").eval()
    x = torch.rand(1, 1, 5, 6)
    outs = net.forward_all(x)
    assert [tuple(o.shape[2:]) for o in outs] == [(10, 12), (20, 12)]
    torch.testing.assert_close(net(x), outs[-1])
    net3 = create_model("progressive_gan", scale=(1, 1, 4), dims=3, preset="tiny")
    assert net3.stage_scales == [(1, 1, 2), (1, 1, 2)]


def test_tl_net_prior_codes_and_freezing() -> None:
    net = create_model("tl_net", scale=(1, 1, 2), dims=3, preset="tiny")
    prior = net.prior
    labels = torch.nn.functional.one_hot(
        torch.randint(0, prior.classes, (2, 8, 8, 6)), prior.classes
    )
    labels = labels.permute(0, 4, 1, 2, 3).float()
    code = prior.encode(labels)
    assert tuple(code.shape) == (2, prior.code_size)
    assert tuple(prior.decode(code, (8, 8, 6)).shape) == (2, prior.classes, 8, 8, 6)
    image = torch.rand(2, 1, 8, 8, 6)
    assert tuple(prior(image).shape) == (2, prior.classes, 8, 8, 6)  # the L path
    torch.testing.assert_close(net.shape_code(image), prior.predict(image))
    with pytest.raises(MedsrError, match="one-hot"):
        prior.encode(image)
    net.freeze_prior()
    assert all(not p.requires_grad for p in prior.parameters())
    sr_ids = {id(p) for p in net.sr_parameters()}
    assert sr_ids and not sr_ids & {id(p) for p in prior.parameters()}
    # the global anatomical loss reaches the SR weights through the frozen predictor
    sr = net(torch.rand(2, 1, 8, 8, 3))
    loss = (net.shape_code(sr) - net.shape_code(image)).square().sum()
    loss.backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in net.sr_parameters())
    assert all(p.grad is None for p in prior.parameters())


def test_smore_subpixel_tail_along_one_axis() -> None:
    net = create_model("smore", scale=(1, 4), dims=2, preset="tiny", upsampling="subpixel")
    assert tuple(net(torch.rand(1, 1, 8, 5)).shape) == (1, 1, 8, 20)
    with pytest.raises(MedsrError, match="upsampling"):
        create_model("saa", preset="tiny", upsampling="magic")
