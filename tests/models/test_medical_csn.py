"""CSN as the review describes it (ref. [76], Zhao et al. 2019): merge-and-run units between a
residual and a dense branch, an end-of-block 1x1 fusion layer and a block skip."""

from __future__ import annotations

import torch
from medical_fit_helpers import fit, t1_slice_pair

from medsr.models import create_model
from medsr.models.medical.csn import ChannelSplittingBlock, MergeAndRunUnit


def test_csn_parameter_shapes_follow_the_block_layout() -> None:
    net = create_model("csn", scale=2, dims=2, preset="tiny")  # 8 features, 2 blocks of 2 units
    assert len(net.blocks) == 2
    block = net.blocks[0]
    assert isinstance(block, ChannelSplittingBlock) and len(block.units) == 2
    assert tuple(block.fuse.weight.shape) == (8, 8, 1, 1)  # the end-of-block fusion layer
    unit = block.units[0]
    assert isinstance(unit, MergeAndRunUnit)
    assert [tuple(m.weight.shape) for m in unit.residual if hasattr(m, "weight")] == [
        (4, 4, 3, 3),
        (4, 4, 3, 3),
    ]  # the residual branch works on half the channels
    assert [tuple(layer[0].weight.shape) for layer in unit.dense] == [(4, 4, 3, 3), (4, 8, 3, 3)]
    assert tuple(unit.dense_fuse.weight.shape) == (4, 12, 1, 1)  # dense concatenation -> half


def test_csn_block_is_merge_and_run_then_fusion_then_skip() -> None:
    block = ChannelSplittingBlock(2, 8, units=1, dense_layers=2, growth=4).eval()
    x = torch.rand(1, 8, 6, 5)
    with torch.no_grad():
        x_r, x_d = x[:, :4], x[:, 4:]
        m = 0.5 * (x_r + x_d)
        unit = block.units[0]
        d1 = unit.dense[0](x_d)
        d2 = unit.dense[1](torch.cat([x_d, d1], 1))
        y_r = m + unit.residual(x_r)
        y_d = m + unit.dense_fuse(torch.cat([x_d, d1, d2], 1))
        expected = x + block.fuse(torch.cat([y_r, y_d], 1))
        torch.testing.assert_close(block(x), expected)


def test_csn_fusion_and_block_skip_change_the_output() -> None:
    full = create_model("csn", scale=2, dims=2, preset="tiny").eval()
    x = torch.rand(1, 1, 8, 8)
    no_skip = create_model("csn", scale=2, dims=2, preset="tiny", block_skip=False).eval()
    no_skip.load_state_dict(full.state_dict())
    no_fusion = create_model("csn", scale=2, dims=2, preset="tiny", fusion=False).eval()
    kept = {k: v for k, v in full.state_dict().items() if ".fuse." not in k}
    assert set(no_fusion.state_dict()) == set(kept)  # only the fusion layers are gone
    no_fusion.load_state_dict(kept)
    with torch.no_grad():
        y = full(x)
        assert float((y - no_skip(x)).abs().max()) > 1e-4
        assert float((y - no_fusion(x)).abs().max()) > 1e-4


def test_csn_a_few_steps_reduce_the_loss_on_a_real_slice(shared_data) -> None:
    lr, hr = t1_slice_pair(shared_data, scale=2)
    net = create_model("csn", scale=2, dims=2, preset="tiny")
    losses = fit(net, [lr], hr, steps=40, lr=2e-3)
    assert losses[-1] < 0.5 * losses[0]
