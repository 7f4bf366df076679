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


@pytest.fixture()
def tiny_self_case(brain_crop):
    """A 32^3 thick-slice case (x4 along z), its target grid and the options of a seconds-long
    self-SR run through the engine's ``self`` method (1-block network, 30 iterations)."""
    from medsr.bench.selfsr import simulate_thick_slices
    from medsr.volume import TargetGrid

    crop = brain_crop.with_data(np.ascontiguousarray(brain_crop.data[:, 8:40, 8:40, 8:40]))
    case = simulate_thick_slices(crop, axis=2, factor=4.0)
    target = TargetGrid.from_factors(case.lr, case.factors)
    common = {"model_kwargs": {"channels": 8, "blocks": 1}, "patch": 24, "batch": 4,
              "threads": 1, "budget": "30it"}
    return case, target, common
