"""Fixtures shared by the whole test suite.

- ``shared_data``: the real data folder ``../shared/data`` beside the repository (or skip).
- ``phantom``: a small synthetic 3-D volume on an oblique grid (anisotropic, rotated, shifted).
- ``tmp_out``: an empty output folder.
- ``medsr_main``: runs ``medsr ARGS`` in this process -> (exit code, stdout, stderr).
- ``tiny_run_config``: the config dict of a few-step training run of a tiny 2-D SRCNN.
- ``make_phantom`` / ``oblique``: the phantom factory and its affine, for tests that need variants
  (request them as fixtures; do not import this module, other folders have their own conftest).

Hypothesis profiles (the property tests in ``tests/properties``): ``medsr`` (the default, a few
hundred generated cases in all, for ``make test``) and ``long`` (10,000 cases per property, for a
slow CI run). Choose with ``pytest --hypothesis-profile=long`` or ``MEDSR_HYPOTHESIS_PROFILE=long``;
``--hypothesis-show-statistics`` prints how many cases each property ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

from medsr.volume import Volume, VolumeMeta

_NO_TIMING = {
    "deadline": None,  # 2 shared cores: timing varies; no "explain" phase (minutes per failure)
    "suppress_health_check": [HealthCheck.too_slow],
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}
settings.register_profile("medsr", max_examples=60, **_NO_TIMING)
settings.register_profile("long", max_examples=10_000, **_NO_TIMING)
settings.register_profile("ci-long", parent=settings.get_profile("long"))
settings.load_profile(os.environ.get("MEDSR_HYPOTHESIS_PROFILE", "medsr"))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real scans and pictures); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


def oblique_affine(spacing: tuple[float, float, float] = (0.9, 1.1, 2.5)) -> np.ndarray:
    """A rotated (about two axes), shifted affine with anisotropic spacing."""
    a, b = np.deg2rad(17.0), np.deg2rad(-8.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    affine = np.eye(4)
    affine[:3, :3] = rz @ rx @ np.diag(spacing)
    affine[:3, 3] = (-31.25, 12.5, -7.75)
    return affine


def make_phantom(shape: tuple[int, int, int] = (20, 16, 9), seed: int = 0) -> Volume:
    """Smooth ellipsoid 'head' with a brighter core and mild noise, values ~0..1000 (MR-like)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r2 = sum((g / s) ** 2 for g, s in zip(grids, (0.85, 0.8, 0.9)))
    core = sum((g / 0.35) ** 2 for g in grids)
    data = 600.0 * (r2 < 1) + 300.0 * (core < 1) + 20.0 * grids[0] + rng.normal(0, 5, shape)
    data = np.clip(data, 0, None).astype(np.float32)
    meta = VolumeMeta(modality="MR", dtype="float32")
    return Volume(data[None], oblique_affine(), meta)


@pytest.fixture
def phantom() -> Volume:
    """A fresh small oblique MR-like volume (20 x 16 x 9, float32)."""
    return make_phantom()


@pytest.fixture(name="make_phantom")
def make_phantom_fixture() -> Callable[..., Volume]:
    """The phantom factory: ``make_phantom(shape=(20, 16, 9), seed=0) -> Volume``."""
    return make_phantom


@pytest.fixture
def oblique() -> np.ndarray:
    """The phantom's affine: rotated about two axes, shifted, spacing 0.9 x 1.1 x 2.5 mm."""
    return oblique_affine()


@pytest.fixture
def tmp_out(tmp_path: Path) -> Path:
    """An empty folder for outputs."""
    out = tmp_path / "out"
    out.mkdir()
    return out


def _tiny_run_config(images: Path, out: Path) -> dict[str, Any]:
    return {
        "name": "tiny",
        "seed": 0,
        "output_dir": str(out),
        "model": {"name": "srcnn", "preset": "tiny", "scale": 2, "dims": 2, "in_channels": 1},
        "data": {
            "train": {"hr_dir": str(images)},
            "degradation": "bicubic",
            "color": "y",
            "normalisation": {"kind": "minmax", "params": {"min": 0, "max": 255}},
            "patch_size": 24,
            "batch_size": 2,
        },
        "loss": {"terms": {"l1": {"weight": 1.0}}},
        "optim": {"name": "adam", "lr": 1e-3},
        "train": {
            "max_steps": 4,
            "checkpoint_every": 2,
            "log_every": 1,
            "progress": "none",
            "threads": 1,
        },
    }


@pytest.fixture(scope="session")
def tiny_run_config() -> Callable[[Path, Path], dict[str, Any]]:
    """``tiny_run_config(images, out)``: a fresh config dict of a 4-step run (SRCNN tiny preset,
    x2, bicubic LR, L1, Adam, 24-pixel patches of the 8-bit luma pictures in ``images``) that
    writes to ``out``."""
    return _tiny_run_config


@pytest.fixture
def medsr_main(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``medsr_main(*args)``: ``medsr ARGS`` through :func:`medsr.cli.main` in this process ->
    (exit code, stdout, stderr) of that run only (earlier captured output is dropped)."""
    from medsr.cli import main

    def run(*args: str | os.PathLike[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
