"""The saliency-weighted GAN recipe (review ref. [67], Mahapatra et al. 2017) trains: the
saliency-weighted MSE and the adversarial term are non-zero and move the weights (real CBSD68
pictures, the recipe's stand-in for fundus photographs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from medsr.losses import SaliencyWeightedMSE
from medsr.train.run import train

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "sawgan.yaml"


class _Recorder(L.Callback):
    """Per step: logged losses and whether generator / discriminator weights changed."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.task: Any = None

    @staticmethod
    def _copy(module: torch.nn.Module) -> list[torch.Tensor]:
        return [p.detach().clone() for p in module.parameters()]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        self._g, self._d = self._copy(pl_module.model), self._copy(pl_module.discriminator)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        def moved(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
            return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))

        self.steps.append(
            {
                "g": moved(self._g, pl_module.model),
                "d": moved(self._d, pl_module.discriminator),
                "logged": {k: float(v) for k, v in trainer.logged_metrics.items()},
            }
        )
        self.task = pl_module


@pytest.fixture(scope="module")
def sawgan_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, _Recorder]:
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)
    torch.set_num_threads(1)
    rec = _Recorder()
    out = tmp_path_factory.mktemp("sawgan") / "run"
    overrides = [
        f"output_dir={out}",
        "model.preset=tiny",
        "discriminator.preset=tiny",
        "data.val=null",
        "data.train.limit=2",
        "data.patch_size=24",
        "data.batch_size=2",
        "train.max_steps=3",
        "train.checkpoint_every=3",
        "train.log_every=1",
        "train.progress=none",
        "train.threads=1",
    ]
    try:
        result = train(RECIPE, overrides, callbacks=[rec])
    finally:
        mp.undo()
    return result, rec


def test_both_terms_non_zero_and_both_networks_train(sawgan_run) -> None:
    result, rec = sawgan_run
    assert result.global_step == 3
    assert isinstance(rec.task.loss.terms["saliency_mse"], SaliencyWeightedMSE)
    for step in rec.steps:
        assert step["g"] and step["d"]
        assert step["logged"]["train/saliency_mse"] > 0
        assert step["logged"]["train/adv_g"] > 0
        assert step["logged"]["train/loss_d"] > 0


def test_each_term_alone_moves_the_generator(sawgan_run, bsd_crops: Path) -> None:
    from medsr.io import read

    _, rec = sawgan_run
    task = rec.task
    g, d = task.model.train(), task.discriminator
    img = read(sorted(bsd_crops.glob("*.png"))[0]).data[:, :24, :24, 0]  # (1, 24, 24) luma
    hr = torch.from_numpy(img / 255.0).float()[None].repeat(2, 3, 1, 1)
    lr = torch.nn.functional.avg_pool2d(hr, 4)
    params = list(g.parameters())

    def grad_norm(loss: torch.Tensor) -> float:
        grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
        return sum(float(x.abs().sum()) for x in grads if x is not None)

    sr = g(lr)
    assert grad_norm(task.loss.terms["saliency_mse"](sr, hr)) > 0
    assert grad_norm(task.adv.generator_loss(d(sr), None)) > 0
