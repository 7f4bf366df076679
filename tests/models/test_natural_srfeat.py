"""The SRFeat generator (review ref. [63], Park et al. 2018): x4 by two sub-pixel stages, and every
residual block reaches the output only through its long-range 1x1 skip."""

from __future__ import annotations

import torch

from medsr.models import create_model, list_models, model_info


def test_shapes_and_registry() -> None:
    assert "srfeat" in list_models() and model_info("srfeat").review_section == "3.4.7"
    net = create_model("srfeat", scale=4, dims=2, in_channels=3, preset="paper")
    assert len(net.blocks) == len(net.skips) == 16 and net.head.out_channels == 128
    tiny = create_model("srfeat", scale=4, dims=2, in_channels=3, preset="tiny")
    assert tiny(torch.rand(2, 3, 8, 6)).shape == (2, 3, 32, 24)


def test_blocks_reach_the_output_through_the_long_range_skips() -> None:
    torch.manual_seed(0)
    net = create_model("srfeat", scale=2, dims=2, in_channels=1, preset="tiny").eval()
    x = torch.rand(1, 1, 12, 12)
    with torch.no_grad():
        base = net(x)
        net.blocks[0].body[0].weight.add_(0.5)  # change the first block
        assert not torch.allclose(net(x), base)  # it matters, through the skips
        for skip in net.skips:  # cut every long-range skip
            skip.weight.zero_()
            skip.bias.zero_()
        cut = net(x)
        net.blocks[1].body[0].weight.add_(0.5)
        assert torch.equal(net(x), cut)  # the blocks no longer reach the output
