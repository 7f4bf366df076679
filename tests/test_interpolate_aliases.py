"""The MATLAB cubic kernel is ``cubic``; ``bicubic`` (and kin) typed by users map to it in one
place."""

from __future__ import annotations

import numpy as np
import pytest

from medsr.infer.job import Job
from medsr.infer.pipeline import UpscaleConfig
from medsr.interpolate import ALIASES, METHODS, canonical_method, zoom_array
from medsr.selfsr.dip import dip_operator
from medsr.volume import TargetGrid, Volume


@pytest.mark.parametrize(
    "typed,name",
    [
        ("bicubic", "cubic"),
        ("BiCubic", "cubic"),
        ("tricubic", "cubic"),
        ("trilinear", "linear"),
        ("lanczos3", "lanczos"),
        ("cubic", "cubic"),
        ("auto", "auto"),
        ("thick-slice", "thick-slice"),
    ],
)
def test_canonical_method(typed: str, name: str) -> None:
    assert canonical_method(typed) == name


def test_aliases_point_at_methods() -> None:
    assert set(ALIASES.values()) <= set(METHODS) and not set(ALIASES) & set(METHODS)


def test_bicubic_is_the_cubic_kernel_everywhere_it_is_typed() -> None:
    x = np.random.default_rng(0).random((1, 6, 7, 1)).astype(np.float32)
    np.testing.assert_array_equal(
        zoom_array(x, (2, 3, 1), "bicubic"), zoom_array(x, (2, 3, 1), "cubic")
    )
    job = Job(factors="2", config=UpscaleConfig(finish="bicubic")).validate()
    assert job.config.finish == "cubic"
    scan = Volume(np.zeros((1, 5, 6, 4), np.float32), np.eye(4))
    target = TargetGrid.from_factors(scan, (2.0, 2.0, 1.0))
    _, info = dip_operator(scan, target, kind="bicubic")  # type: ignore[arg-type]
    assert info["operator"] == "cubic"
