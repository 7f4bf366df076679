"""Shi et al.'s local + global residual SR network (review ref. [75], ``lgrl_sr``): shapes, the two
residual paths, and a short fit on a real MR slice."""

from __future__ import annotations

import pytest
import torch
from medical_fit_helpers import fit, t1_slice_pair

from medsr.models import create_model, model_info
from medsr.models.medical.lgrl import LocalResidualBlock


@pytest.mark.parametrize(
    ("dims", "scale", "shape"),
    [(2, 2, (2, 1, 7, 9)), (2, 3, (1, 1, 5, 6)), (3, 2, (1, 1, 4, 5, 3))],
)
def test_lgrl_shapes(dims: int, scale: int, shape: tuple[int, ...]) -> None:
    net = create_model("lgrl_sr", scale=scale, dims=dims, preset="tiny")
    y = net(torch.rand(*shape))
    assert tuple(y.shape) == (*shape[:2], *(n * scale for n in shape[2:]))
    info = model_info("lgrl_sr")
    assert info.review_section == "4" and "Shi et al." in info.paper


def test_lgrl_global_residual_adds_the_interpolation() -> None:
    net = create_model("lgrl_sr", scale=2, dims=2, preset="tiny").eval()
    x = torch.rand(1, 1, 8, 8)
    last = net.body[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    with torch.no_grad():
        torch.testing.assert_close(net(x), net.upsample(x))  # F = 0: y = x_up exactly
        off = create_model("lgrl_sr", scale=2, dims=2, preset="tiny", global_skip=False)
        off.load_state_dict(net.state_dict())  # same keys with and without the skips
        assert float(off(x).abs().max()) == 0.0


def test_lgrl_local_skips_are_identity_paths() -> None:
    with_skip = create_model("lgrl_sr", scale=2, dims=2, preset="tiny").eval()
    without = create_model("lgrl_sr", scale=2, dims=2, preset="tiny", local_skip=False).eval()
    without.load_state_dict(with_skip.state_dict())
    blocks = [m for m in with_skip.body if isinstance(m, LocalResidualBlock)]
    assert len(blocks) == 2 and all(len(b.body) == 3 for b in blocks)  # conv-ReLU-conv
    h = torch.rand(1, 8, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(blocks[0](h), h + blocks[0].body(h))
        x = torch.rand(1, 1, 8, 8)
        assert float((with_skip(x) - without(x)).abs().max()) > 1e-4


def test_lgrl_a_few_steps_reduce_the_loss_on_a_real_slice(shared_data) -> None:
    lr, hr = t1_slice_pair(shared_data, scale=2)
    net = create_model("lgrl_sr", scale=2, dims=2, preset="tiny")
    losses = fit(net, [lr], hr, steps=30)
    assert losses[-1] < 0.7 * losses[0]
