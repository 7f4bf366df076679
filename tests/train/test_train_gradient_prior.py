"""Gradient prior (Liang et al. 2016, review ref. [89]): a fixed Sobel layer feeds the network; its
weights stay exactly as built through a real training run, while the learned layers move."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback

from medsr.models.natural.gradient_prior import GradientExtractor, GradientPriorNet, sobel_kernels
from medsr.train import parse_config, train


def test_sobel_layer_gives_the_gradient_of_a_ramp_per_axis() -> None:
    ramp = torch.arange(10, dtype=torch.float32)
    x = (2.0 * ramp[:, None] - 3.0 * ramp[None, :])[None, None]  # d/dx = 2, d/dy = -3
    g = GradientExtractor(2, 1)(x)
    assert g.shape == (1, 2, 10, 10)
    assert torch.allclose(g[0, 0, 1:-1, 1:-1], torch.tensor(2.0))
    assert torch.allclose(g[0, 1, 1:-1, 1:-1], torch.tensor(-3.0))
    vol = ramp[None, None, :].expand(6, 6, 10)[None, None].contiguous()  # varies along z only
    g3 = GradientExtractor(3, 1)(vol)
    assert torch.allclose(g3[0, 2, 1:-1, 1:-1, 1:-1], torch.tensor(1.0))
    assert g3[0, :2].abs().max() == 0


def test_gradient_prior_weights_do_not_change_in_training(tiny_config) -> None:
    cfg = tiny_config(
        model={"name": "gradient_prior", "preset": "tiny"},
        optim={"name": "adam", "lr": 1e-2, "weight_decay": 1e-2},
        train={"max_steps": 6},
    )
    start: dict[str, torch.Tensor] = {}

    class Snapshot(Callback):
        def on_train_start(self, trainer, module) -> None:
            net = next(m for m in module.modules() if isinstance(m, GradientPriorNet))
            start.update({k: v.detach().clone() for k, v in net.state_dict().items()})

    result = train(parse_config(cfg), callbacks=[Snapshot()])
    model = result.model
    assert "gradient.weight" in model.state_dict()  # saved with the model, loads back
    assert not any(p is model.gradient.weight for p in model.parameters())  # never optimised
    expected = sobel_kernels(2).unsqueeze(1)
    assert torch.equal(model.gradient.weight, expected)
    assert torch.equal(model.gradient.weight, start["gradient.weight"])
    first = model.body[0].weight
    assert first.shape[1] == 3  # image + 2 gradient maps feed the network
    assert not torch.allclose(first, start["body.0.weight"])  # the learned layers did train
