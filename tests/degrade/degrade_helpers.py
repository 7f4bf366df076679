"""Helpers for the degradation tests: an oblique grid and world-coordinate ramps.

Imported by the test modules of this folder (``from degrade_helpers import ...``).
"""

from __future__ import annotations

import numpy as np

from medsr.volume import Volume, VolumeMeta


def tilted_affine(spacing: tuple[float, float, float] = (0.9, 1.1, 1.3)) -> np.ndarray:
    """Rotated about two axes, shifted, anisotropic: a tilted clinical acquisition."""
    a, b = np.deg2rad(23.0), np.deg2rad(-11.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    affine = np.eye(4)
    affine[:3, :3] = rz @ rx @ np.diag(spacing)
    affine[:3, 3] = (-40.5, 17.25, 8.0)
    return affine


def world_of(affine: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """World coordinates (mm) of index coordinates ``idx`` (``(..., 3)``)."""
    return idx @ affine[:3, :3].T + affine[:3, 3]


def ramp_volume(
    shape: tuple[int, int, int], gradient=(0.7, -0.3, 0.45), offset: float = 12.0
) -> Volume:
    """A float64 volume whose value is a linear function of the world position."""
    affine = tilted_affine()
    idx = np.stack(
        np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij"), axis=-1
    )
    data = world_of(affine, idx) @ np.asarray(gradient) + offset
    return Volume(data[None], affine, VolumeMeta(modality="MR", dtype="float64"))
