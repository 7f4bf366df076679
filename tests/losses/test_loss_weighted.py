"""WeightedSum, saliency-weighted L1 and the multi-output (DRCN / LapSRN) losses."""

import pytest
import torch
import torch.nn.functional as F

from medsr.errors import MedsrError
from medsr.losses import (
    L1Loss,
    L2Loss,
    MultiOutputLoss,
    SaliencyWeightedL1,
    WeightedSum,
    build_weighted_sum,
)
from medsr.losses.multi import downscale_to


def test_weighted_sum_adds_weighted_terms_and_reports_each():
    a, b = torch.zeros(1, 1, 4, 4), torch.full((1, 1, 4, 4), 2.0)
    total, parts = WeightedSum({"l1": (L1Loss(), 0.5), "l2": (L2Loss(), 0.25)})(a, b)
    assert parts["l1"].item() == pytest.approx(2.0) and parts["l2"].item() == pytest.approx(4.0)
    assert total.item() == pytest.approx(0.5 * 2 + 0.25 * 4)
    ws = build_weighted_sum({"hr_l1": {"kind": "l1", "weight": 3.0}, "tv": {"weight": 0.0}})
    total, parts = ws(a, b)
    assert total.item() == pytest.approx(6.0) and set(parts) == {"hr_l1", "tv"}
    with pytest.raises(MedsrError):
        WeightedSum({})


def test_saliency_weights_emphasise_edges():
    img = torch.zeros(1, 1, 16, 16)
    img[..., 8:] = 1.0  # a vertical edge
    loss = SaliencyWeightedL1(gain=4.0, smooth=1)
    w = loss.weights(img)
    assert w.min().item() == pytest.approx(1.0) and w.max().item() == pytest.approx(5.0)
    assert w[0, 0, 4, 7] > w[0, 0, 4, 2]
    # same error budget at the edge costs more than in a flat area
    err_edge, err_flat = img.clone(), img.clone()
    err_edge[..., 7] += 0.5
    err_flat[..., 2] += 0.5
    assert loss(err_edge, img) > loss(err_flat, img)
    assert SaliencyWeightedL1(gain=0.0)(err_flat, img).item() == pytest.approx(
        F.l1_loss(err_flat, img).item()
    )


def test_drcn_multi_output_loss_and_alpha_decay():
    target = torch.zeros(1, 1, 4, 4)
    outs = [
        torch.full_like(target, 1.0),
        torch.full_like(target, 3.0),
        torch.full_like(target, 2.0),
    ]
    loss = MultiOutputLoss(L2Loss(), "drcn", alpha=1.0, alpha_min=0.0, alpha_decay_steps=10)
    assert loss.alpha(0) == 1.0 and loss.alpha(5) == pytest.approx(0.5) and loss.alpha(50) == 0.0
    inter, final = (1.0 + 9.0) / 2, 4.0
    assert loss(outs, target, step=0).item() == pytest.approx(inter)
    assert loss(outs, target, step=5).item() == pytest.approx(0.5 * inter + 0.5 * final)
    assert loss(outs, target, step=100).item() == pytest.approx(final)


def test_lapsrn_multi_output_loss_compares_each_level_with_the_downscaled_target():
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(1, 1, 16, 16, generator=g)
    levels = [downscale_to(hr, (8, 8)), hr.clone()]
    loss = MultiOutputLoss(L1Loss(), "lapsrn")
    assert loss(levels, hr).item() == pytest.approx(0.0, abs=1e-7)
    wrong = [levels[0] + 0.1, hr]
    assert loss(wrong, hr).item() == pytest.approx(0.1, abs=1e-6)
    vol = torch.rand(1, 1, 8, 8, 8, generator=g)
    assert downscale_to(vol, (4, 4, 4)).shape[2:] == (4, 4, 4)


def test_saliency_mse_counts_errors_where_the_target_has_structure() -> None:
    """Mahapatra et al. 2017 (ref. [67]): the same squared error costs more on an edge (salient)
    than on a flat region of the HR target."""
    from medsr.losses import SaliencyWeightedMSE, build_loss_term

    target = torch.zeros(1, 1, 48, 48)
    target[..., 24:, :] = 1.0  # one horizontal edge
    loss = build_loss_term("saliency_mse", {"sigma": 1.0})
    assert isinstance(loss, SaliencyWeightedMSE)
    on_edge, flat = target.clone(), target.clone()
    on_edge[..., 22:26, 10:14] += 0.5
    flat[..., 4:8, 10:14] += 0.5
    assert float(loss(on_edge, target)) > 5 * float(loss(flat, target)) >= 0
    assert float(loss(target, target)) == 0.0
