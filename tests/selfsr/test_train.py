"""The self-SR training loop: the batch chosen from the window."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.selfsr.config import Budget, SelfSRConfig
from medsr.selfsr.network import build_network
from medsr.selfsr.pairs import TrainingPairs
from medsr.selfsr.train import BATCH_MAX, STEP_PIXELS, step_batch, train_restoration


def test_step_batch_keeps_the_pixels_of_a_step() -> None:
    assert step_batch((48, 48)) == 16 and 16 * 48 * 48 == STEP_PIXELS
    assert step_batch((64, 64)) == 9  # 36,864 pixels as 16 x 48 x 48
    assert step_batch((96, 24)) == 16
    assert step_batch((24, 24)) == BATCH_MAX  # thin planes: not 4x the pixels
    assert step_batch((400, 400)) == 1


@pytest.mark.parametrize("patch, window, batch", [(64, (64, 64), 9), (48, (48, 48), 16)])
def test_training_records_the_batch_it_chose(patch: int, window: tuple, batch: int) -> None:
    rng = np.random.default_rng(0)
    planes = rng.random((4, 80, 80)).astype(np.float32) + 0.5
    pairs = TrainingPairs([planes * 0.9], [planes])
    net = build_network("selfsr", "tiny")
    result = train_restoration(
        net, pairs, budget=Budget(iterations=3), patch=patch, batch=None, lr=1e-3, rng=rng
    )
    assert result.batch == batch and tuple(result.window) == window
    assert result.as_dict()["batch"] == batch and result.iterations == 3
    assert SelfSRConfig().batch is None  # the default chooses it
