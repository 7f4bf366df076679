"""Fixtures of the self-SR tests: a realistic crop of the built-in brain (edges, sulci, CSF)."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.volume import Volume, crop_affine


@pytest.fixture(scope="session")
def brain_crop() -> Volume:
    """A 56 x 64 x 48 crop of the built-in 1 mm T1 brain (MNI ICBM152): cortex and ventricles."""
    import medsr.data

    brain = medsr.data.sample("brain")
    start = (46, 60, 60)
    size = (56, 64, 48)
    index = (slice(None),) + tuple(slice(s, s + n) for s, n in zip(start, size, strict=True))
    return Volume(
        np.ascontiguousarray(brain.data[index], dtype=np.float32),
        crop_affine(brain.affine, start),
        brain.meta.copy(),
    )
