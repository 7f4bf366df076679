"""The "paper" presets: layer settings and parameter counts against the papers (or, where a paper
gives no number, against the count its stated layer list implies)."""

from __future__ import annotations

import torch

from medsr.models import create_model
from medsr.models.blocks.conv import count_parameters


def _convs(net: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))]


def test_srcnn_9_5_5_weights_match_dong_et_al() -> None:
    """Dong et al., TPAMI 2016, section 4.3.2: the 9-5-5 SRCNN (64/32 filters) has 57,184 weights.
    Pham et al. 2017 use the same layers with 3D kernels."""
    net2d = create_model("srcnn3d", dims=2, scale=2)
    assert count_parameters(net2d, weights_only=True) == 57_184
    net3d = create_model("srcnn3d", dims=3, scale=2)
    assert [tuple(c.kernel_size) for c in _convs(net3d)] == [(9, 9, 9), (5, 5, 5), (5, 5, 5)]
    assert count_parameters(net3d, weights_only=True) == 64 * 9**3 + 64 * 32 * 5**3 + 32 * 5**3


def test_resmi3d_is_the_10_layer_multimodal_recnn() -> None:
    net = create_model("resmi3d", scale=2)
    convs = _convs(net)
    assert len(convs) == 10
    assert convs[0].in_channels == 2  # interpolated LR + HR reference
    assert all(tuple(c.kernel_size) == (3, 3, 3) for c in convs)
    weights = 2 * 64 * 27 + 8 * 64 * 64 * 27 + 64 * 27
    assert count_parameters(net) == weights + 9 * 64 + 1


def test_dcsrn_dense_block_k24_four_units() -> None:
    net = create_model("dcsrn", scale=1)
    assert net.head.out_channels == 48  # 2k
    cins = [u[2].in_channels for u in net.block.units]
    assert cins == [48, 72, 96, 120]
    assert all(u[2].out_channels == 24 and isinstance(u[1], torch.nn.ELU) for u in net.block.units)
    expected = (27 * 48 + 48) + sum(2 * c + c * 24 * 27 + 24 for c in cins) + (144 + 1)
    assert count_parameters(net) == expected


def test_mdcsrn_b4u4_with_compressors() -> None:
    """Chen et al. MICCAI 2018, Fig. 1: b4u4, k = 16, first conv and compressors give 2k = 32
    maps."""
    net = create_model("mdcsrn", scale=1)
    assert len(net.blocks) == 4 and all(len(b.units) == 4 for b in net.blocks)
    assert net.head.out_channels == 32
    assert [c.out_channels for c in net.compressors] == [32, 32, 32]
    assert [tuple(c.kernel_size) for c in net.compressors] == [(1, 1, 1)] * 3
    assert net.tail.in_channels == 32 + 4 * 4 * 16 and tuple(net.tail.kernel_size) == (1, 1, 1)


def test_gan_circle_filter_schedule() -> None:
    """You et al. (GAN-CIRCLE), section III-C: 12 feature layers with decaying filter counts."""
    net = create_model("gan_circle", scale=2)
    assert net.widths == [64, 54, 48, 43, 39, 35, 31, 28, 25, 22, 18, 16]
    assert net.a1[0].in_channels == sum(net.widths)
    assert tuple(net.up.conv.kernel_size) == (4, 4) and tuple(net.up.conv.stride) == (2, 2)


def test_unet_sr_is_the_ronneberger_unet() -> None:
    net = create_model("unet_sr", scale=1)
    assert [b[0].out_channels for b in net.down] == [64, 128, 256, 512]
    assert net.bottom[0].out_channels == 1024
    assert net.residual


def test_srgan_style_generators_have_16_residual_blocks() -> None:
    for name in ("sawgan", "progressive_gan"):
        net = create_model(name, scale=4)
        stages = [net] if name == "sawgan" else list(net.stages)
        for st in stages:
            blocks = [m for m in st.body if m.__class__.__name__ == "ResidualBlock"]
            assert len(blocks) == 16
            assert tuple(st.head[0].kernel_size) == (9, 9)
    assert len(create_model("progressive_gan", scale=8).stages) == 3  # x8 = three x2 stages


def test_tl_net_prior_code_is_64_dimensional() -> None:
    net = create_model("tl_net", scale=(1, 1, 4))
    assert net.prior.code_size == 64
    assert net.prior.encoder.fc.out_features == 64 and net.prior.predictor.fc.out_features == 64
