"""The trainer's ``regularise`` section (review section 2.4): L1 weight sparsity shrinks the
kernels, DeCov decorrelates the features of its layer, dropout is set where a network has it."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.losses.regularisers import decorrelation_penalty, weight_l1
from medsr.models import create_model
from medsr.runtime import torch_seed
from medsr.train.config import RegulariseSection, parse_config
from medsr.train.regularise import Regulariser, feature_layer
from medsr.train.run import train


class _Keep(L.Callback):
    """Keeps the trained task (its network and logged metrics) at the end of training."""

    def on_train_end(self, trainer, pl_module):
        self.module = pl_module
        self.logged = {k: float(v) for k, v in trainer.logged_metrics.items()}


def _run(tiny_config, **regularise) -> _Keep:
    cfg = tiny_config(
        regularise=regularise,
        optim={"name": "adam", "lr": 5e-3},
        train={"max_steps": 25, "checkpoint_every": 25},
    )
    keep = _Keep()
    train(parse_config(cfg), callbacks=[keep])
    return keep


def test_decov_matches_the_covariance_formula() -> None:
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(3, 4, 5, 6, generator=gen)
    samples = h.transpose(0, 1).reshape(4, -1).double().numpy()
    cov = np.cov(samples)
    expected = 0.5 * ((cov**2).sum() - (np.diag(cov) ** 2).sum())
    assert float(decorrelation_penalty(h)) == pytest.approx(expected, rel=1e-4)
    lin = torch.nn.Linear(3, 2, bias=True)
    assert weight_l1(lin).item() == pytest.approx(float(lin.weight.detach().abs().mean()))


def test_l1_weight_sparsity_shrinks_the_kernels(tiny_config) -> None:
    plain = _run(tiny_config)
    sparse = _run(tiny_config, l1_weight=1.0)
    assert "train/reg_l1" in sparse.logged and "train/reg_l1" not in plain.logged
    l1_plain = weight_l1(plain.module.model).item()
    l1_sparse = weight_l1(sparse.module.model).item()
    assert l1_sparse < 0.8 * l1_plain, (l1_sparse, l1_plain)


def test_decorrelation_lowers_the_feature_covariance(tiny_config) -> None:
    def decov(keep: _Keep) -> float:
        net = keep.module.model.eval()
        _name, layer = feature_layer(net)
        out: list[torch.Tensor] = []
        handle = layer.register_forward_hook(lambda m, i, o: out.append(o))
        with torch.no_grad(), torch_seed(1):
            net(torch.rand(4, 1, 12, 12))
        handle.remove()
        return float(decorrelation_penalty(out[0]))

    plain = _run(tiny_config)
    decor = _run(tiny_config, decorrelation_weight=1000.0)
    assert "train/reg_decov" in decor.logged
    assert decov(decor) < 0.2 * decov(plain), (decov(decor), decov(plain))


def test_dropout_where_the_network_has_it() -> None:
    net = create_model("gan_circle", preset="tiny", scale=2, dims=2, in_channels=1)
    Regulariser(RegulariseSection(dropout=0.5), net)
    drops = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(m.p == 0.5 for m in drops)
    x = torch.rand(1, 1, 16, 16)
    net.train()
    with torch_seed(0):
        a, b = net(x), net(x)
    assert not torch.equal(a, b)  # active in training
    net.eval()
    assert torch.equal(net(x), net(x))
    srcnn = create_model("srcnn", preset="tiny", scale=2, dims=2, in_channels=1)
    with pytest.raises(MedsrError, match="regularise.dropout: .* has no dropout layers"):
        Regulariser(RegulariseSection(dropout=0.1), srcnn)
    with pytest.raises(MedsrError, match="no module 'nope'"):
        Regulariser(RegulariseSection(decorrelation_weight=1.0, decorrelation_layer="nope"), srcnn)


def test_config_refuses_bad_values(tiny_config) -> None:
    with pytest.raises(MedsrError, match="regularise.dropout"):
        parse_config(tiny_config(regularise={"dropout": 1.5}))
    with pytest.raises(MedsrError, match="regularise.l1_weight"):
        parse_config(tiny_config(regularise={"l1_weight": -1}))
