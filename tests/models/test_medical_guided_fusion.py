"""Lin et al.'s two-stage fusion network guided by an HR image (review ref. [55],
``guided_fusion``): two inputs, the two stages, and a real-slice fit where the guide helps."""

from __future__ import annotations

import pytest
import torch
from medical_fit_helpers import fit, t1_slice_pair

from medsr.errors import MedsrError
from medsr.models import create_model, model_info


def test_guided_fusion_maps_a_channel_stack_and_a_guide_to_the_guide_grid() -> None:
    net = create_model(
        "guided_fusion", scale=2, dims=2, in_channels=5, preset="tiny", guide_channels=3
    )
    lr, guide = torch.rand(2, 5, 6, 7), torch.rand(2, 3, 12, 14)
    s1, s2 = net.forward_all(lr, guide)
    assert tuple(s1.shape) == tuple(s2.shape) == (2, 5, 12, 14)
    torch.testing.assert_close(net(lr, guide), s2)
    net3 = create_model("guided_fusion", scale=2, dims=3, preset="tiny")
    assert tuple(net3(torch.rand(1, 1, 3, 4, 5), torch.rand(1, 1, 6, 8, 10)).shape) == (
        1,
        1,
        6,
        8,
        10,
    )
    assert model_info("guided_fusion").paper_in_channels == 31


def test_guided_fusion_refuses_a_missing_or_misplaced_guide() -> None:
    net = create_model("guided_fusion", scale=2, dims=2, preset="tiny")
    with pytest.raises(MedsrError, match="guide"):
        net(torch.rand(1, 1, 6, 6))
    with pytest.raises(MedsrError, match="output grid"):
        net(torch.rand(1, 1, 6, 6), torch.rand(1, 1, 6, 6))  # guide on the LR grid


def test_guided_fusion_stages_are_residual_on_a_learned_upsampling() -> None:
    net = create_model("guided_fusion", scale=2, dims=2, preset="tiny").eval()
    for fusion in (net.stage1_fusion, net.stage2_fusion):
        torch.nn.init.zeros_(fusion[-1].weight)
        torch.nn.init.zeros_(fusion[-1].bias)
    lr, guide = torch.rand(1, 1, 6, 6), torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        s1, s2 = net.forward_all(lr, guide)
        torch.testing.assert_close(s1, net.upsample(lr))  # the learned input up-sampler
        torch.testing.assert_close(s2, s1)
        net.stage2_fusion[-1].bias.fill_(0.25)
        torch.testing.assert_close(net(lr, guide), s1 + 0.25)  # stage 2 refines stage 1


def test_guided_fusion_learns_from_the_guide_on_a_real_slice(shared_data) -> None:
    lr, hr = t1_slice_pair(shared_data, scale=4, size=64)
    guide = (1 - hr).clamp(0, 1) ** 2  # an HR image of "another contrast": inverted, squared
    losses = {}
    for name, g in (("guide", guide), ("no guide", torch.zeros_like(hr))):
        torch.manual_seed(0)
        net = create_model("guided_fusion", scale=4, dims=2, preset="tiny")
        losses[name] = fit(net, [lr, g], hr, steps=60, lr=2e-3)
    assert losses["guide"][-1] < 0.3 * losses["guide"][0]
    assert losses["guide"][-1] < 0.5 * losses["no guide"][-1]  # 0.0011 vs 0.0056 measured
