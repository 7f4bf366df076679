"""Dilated dense progressive network (review ref. [62], simplified reading)."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from medical_fit_helpers import fit, t1_slice_pair

from medsr.errors import MedsrError
from medsr.models import create_model, model_info
from medsr.models.blocks import PreUpsample, count_parameters
from medsr.models.natural.ddpn import DDPN, PRESETS
from medsr.normalise import Normaliser
from medsr.train.builders import build_model, build_task
from medsr.train.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def _expected(cfg: dict, levels: int, cin: int = 1) -> int:
    """Parameters of the 2D network written out from the architecture (3x3 convs with bias)."""
    c, g, n, b = cfg["channels"], cfg["growth"], cfg["layers"], cfg["blocks"]
    dense = sum((c + i * g) * g * 9 + g for i in range(n)) + (c + n * g) * c + c
    level = b * dense + (c * 4 * c * 9 + 4 * c) + (c * cin * 9 + cin)
    return cin * c * 9 + c + levels * level


@pytest.mark.parametrize(("preset", "scale", "levels"), [("default", 2, 1), ("default", 4, 2),
                                                          ("tiny", 8, 3)])
def test_parameter_count_matches_the_architecture(preset, scale, levels):
    with torch.device("meta"):
        net = create_model("ddpn", scale=scale, preset=preset, dims=2)
    assert count_parameters(net) == _expected(PRESETS["ddpn"][preset], levels)
    if preset == "default" and scale == 4:
        assert count_parameters(net) == 863_234  # the "default" preset at x4 on Y
    info = model_info("ddpn")
    assert info.upsampling == "progressive" and "[62]" in info.paper


def test_dilated_dense_levels_shapes_dilation_and_x3_refused():
    torch.manual_seed(0)
    net = create_model("ddpn", scale=4, preset="tiny", dims=2)
    rates = [m.dilation[0] for m in net.modules() if isinstance(m, torch.nn.Conv2d)
             and m.kernel_size == (3, 3)]
    assert {1, 2, 3} <= set(rates)
    x = torch.rand(2, 1, 6, 7)
    outs = net.forward_all(x)
    assert [tuple(o.shape[2:]) for o in outs] == [(12, 14), (24, 28)]
    outs[-1].mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    net3 = create_model("ddpn", scale=(1, 2, 2), preset="tiny", dims=3)
    assert tuple(net3(torch.rand(1, 1, 3, 4, 4)).shape) == (1, 1, 3, 8, 8)
    with pytest.raises(MedsrError, match="powers of two"):
        create_model("ddpn", scale=3, preset="tiny")


def test_ddpn_learns_a_real_slice_beyond_its_bicubic_branch(shared_data):
    """60 Adam steps on a real T1 slice at x4 take the output below the MSE of the fixed
    bicubic image branch alone (the residuals of both levels are learned)."""
    lr, hr = t1_slice_pair(shared_data, scale=4, size=48)
    bicubic = float(F.mse_loss(PreUpsample(2, (4, 4))(lr), hr))
    net = create_model("ddpn", scale=4, preset="tiny", dims=2)
    losses = fit(net, [lr], hr, steps=60, lr=1e-3)
    assert losses[-1] < 0.85 * bicubic, (losses[-1], bicubic)


def test_ddpn_trains_from_a_progressive_recipe_with_every_level_supervised():
    """Reached from a recipe: LapSRN's (multi-level Charbonnier) with ``model.name=ddpn``."""
    cfg = load_config(
        ROOT / "configs" / "lapsrn.yaml", ["model.name=ddpn", "model.preset=tiny"]
    )
    net = build_model(cfg)
    assert isinstance(net, DDPN)
    task = build_task(cfg, net, Normaliser("minmax", {"min": 0, "max": 255}))
    assert task.multi_output is not None
    task.log = lambda *a, **k: None  # no trainer attached
    lr = torch.rand(2, 1, 8, 8)
    hr = F.interpolate(lr, scale_factor=4, mode="bilinear")
    task.training_step({"lr": lr, "hr": hr}, 0).backward()
    for level in net.levels:  # both levels (x2, x4) receive the multi-level loss
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in level.parameters())
