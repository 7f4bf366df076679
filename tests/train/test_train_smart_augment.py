"""Smart augmentation (Lemley et al. 2017, review ref. [85]): a blending network A trained jointly
with the SR network on real CBSD68 crops."""

from __future__ import annotations

import pytest
import torch

from medsr.errors import MedsrError
from medsr.runtime import torch_seed, torch_threads
from medsr.train import parse_config
from medsr.train.builders import build_datamodule, build_model, build_task
from medsr.train.smart_augment import SmartAugmentSR

SMART = {"inputs": 2, "features": 8, "sr_weight": 0.3, "similarity_weight": 0.7}


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")
def test_network_a_learns_and_blends_new_samples(tiny_config) -> None:
    cfg = parse_config(tiny_config(data={"batch_size": 4, "augment": {"smart": SMART}}))
    with torch_threads(1), torch_seed(0):
        dm, norm, _ = build_datamodule(cfg)
        task = build_task(cfg, build_model(cfg), norm)
        assert isinstance(task, SmartAugmentSR)
        opt = task.configure_optimizers()
        a0 = [p.detach().clone() for p in task.augmenter.parameters()]
        b0 = [p.detach().clone() for p in task.model.parameters()]
        batches = [dm.train_set[(0, i)] for i in range(8)]
        losses = []
        for step in range(2):
            batch = {
                k: torch.stack([b[k] for b in batches[4 * step : 4 * step + 4]])
                for k in ("lr", "hr")
            }
            opt.zero_grad()
            loss = task.training_step(batch, step)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        hr = batch["hr"]
        with torch.no_grad():
            mixed, stacked, target = task.blend(hr)
            sr_loss, _ = task.loss(task.model(task._degrade(mixed, batch["lr"])), mixed)
            similarity = torch.nn.functional.mse_loss(mixed, target)
    assert all(v > 0 for v in losses) and float(sr_loss) > 0 and float(similarity) > 0
    # A's weights moved (the joint loss reaches it), and so did the SR network's
    assert any(not torch.equal(p, q) for p, q in zip(a0, task.augmenter.parameters()))
    assert any(not torch.equal(p, q) for p, q in zip(b0, task.model.parameters()))
    # a blend is a new sample: different from both of its inputs
    assert mixed.shape == hr.shape and stacked.shape[1] == 2 * hr.shape[1]
    for i in range(2):
        source = stacked[:, i : i + 1]
        assert (mixed - source).abs().mean() > 1e-3
    # its LR input lives on the batch's LR grid
    assert task._degrade(mixed, batch["lr"]).shape == batch["lr"].shape


def test_smart_augmentation_trains_from_the_recipe(tiny_config) -> None:
    from medsr.train.run import train

    cfg = parse_config(tiny_config(data={"batch_size": 3, "augment": {"smart": SMART}}))
    run = train(cfg)
    assert run.global_step == 4 and run.weights is not None
    log = next(run.run_dir.glob("logs/version_*/metrics.csv")).read_text()
    assert "train/smart_sr" in log and "train/smart_similarity" in log


def test_smart_augmentation_needs_a_batch_larger_than_its_inputs(tiny_config) -> None:
    cfg = parse_config(tiny_config(data={"batch_size": 2, "augment": {"smart": SMART}}))
    with pytest.raises(MedsrError, match="batch"):
        build_task(cfg, build_model(cfg), build_datamodule(cfg)[1])
