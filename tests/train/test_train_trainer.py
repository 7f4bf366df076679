"""The Lightning trainer of a run: precision choice, and no process-wide state left behind."""

import os
import random

import lightning as L
import numpy as np
import pytest
import torch

from medsr.errors import MedsrError
from medsr.train.config import parse_config
from medsr.train.run import train
from medsr.train.trainer import precision_for, process_rank


def test_precision_on_cpu_and_fp16_refused_for_gans(tiny_config):
    cfg = parse_config(tiny_config())
    assert precision_for(cfg, "cpu") == "32-true"
    gan = tiny_config(
        task="adversarial", discriminator={"name": "srgan_d", "preset": "tiny"}, adversarial={}
    )
    gan["train"]["precision"] = "16-mixed"
    with pytest.raises(MedsrError, match="train.precision: 16-mixed"):
        precision_for(parse_config(gan), "cpu")
    assert process_rank() == 0  # a plain process makes its own run folder


def test_train_restores_threads_flags_and_random_generators(tiny_config):
    """``train.threads``, the seeds and Lightning's deterministic flags hold only during the run."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(2)
    torch.manual_seed(1234)
    np.random.seed(99)
    random.seed(7)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    seen: dict[str, object] = {}

    class Probe(L.Callback):
        def on_train_start(self, trainer, pl_module):
            seen["threads"] = torch.get_num_threads()
            seen["deterministic"] = torch.are_deterministic_algorithms_enabled()

    try:
        cfg = tiny_config(train={"max_steps": 2, "checkpoint_every": 2, "threads": 1})
        cfg["train"]["deterministic"] = True
        first = train(parse_config(cfg), callbacks=[Probe()])
        assert seen == {"threads": 1, "deterministic": True}
        assert torch.get_num_threads() == 2
        assert torch.are_deterministic_algorithms_enabled() is deterministic
        assert torch.equal(torch.get_rng_state(), before[0])
        assert np.array_equal(np.random.get_state()[1], before[1])
        assert random.getstate() == before[2]
        assert not any(k.startswith(("MEDSR_", "PL_GLOBAL_SEED")) for k in os.environ)
        # the seed, not whatever the caller's generators held, fixes the run
        torch.manual_seed(5)
        again = train(parse_config(tiny_config(train={"max_steps": 2, "checkpoint_every": 2})))
        a, b = first.model.state_dict(), again.model.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
