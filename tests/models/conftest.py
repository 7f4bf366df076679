"""Fixtures for the model tests: one CPU thread (the machine is shared) and a fixed seed."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_single_thread_seeded():
    """Run every model test on one thread with ``torch.manual_seed(0)``; restore the thread
    count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
