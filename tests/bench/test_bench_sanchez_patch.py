"""The section-4 row of Sanchez & Vilaplana's 3D GAN (MIDL 2018, ref. [77]; Li, Sixou & Peyrin,
IRBM 2021, section 4; :mod:`medsr.bench.networks`) trains on HR patches degraded one by one into
thick slices along z. With the former 24^3 patches, the x4 LR patch had 6 slices, fewer than the
generator's reach along z, and the generator learnt the zero padding of the patch faces: on the
MNI brain (its training data) its MSE was 0.010 on 24^3 patches but 0.24 on 48^3 ones, and its
output on whole volumes was about 1.5 times too bright (the recorded x4 row, 11.67 dB). The
x2 row (12 LR slices) generalised to whole volumes (MSE 0.005 on 24^3, 0.007 on 96^3).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from medsr.models import create_model
from medsr.recipes import recipes_folder
from medsr.train.config import load_config

#: LR slices along z of the x2 row's training patch that generalised to whole volumes.
MIN_LR_SLICES = 12


def _bench_patch() -> list[int]:
    cfg = load_config(Path(recipes_folder()) / "sanchez_gan3d.yaml", ["profile=bench"])
    p = cfg.data.patch_size
    return [int(p)] * 3 if isinstance(p, int) else [int(v) for v in p]


@pytest.mark.parametrize("scale", [2, 4])
def test_bench_patch_has_enough_lr_slices_along_z(scale: int) -> None:
    """At both benchmark scales the LR training patch has at least 12 slices along z."""
    patch = _bench_patch()
    assert patch[2] % scale == 0
    assert patch[2] // scale >= MIN_LR_SLICES, (patch, scale)


def test_generator_reach_along_z_exceeds_the_old_x4_patch() -> None:
    """Why 6 LR slices were too few: one LR slice changes the bench generator's output more than
    3 LR slices (12 HR slices) away on each side, so every output voxel of a 6-slice patch
    depends on the zero padding beyond its faces."""
    torch.manual_seed(0)
    net = create_model(
        "sanchez_gan3d", preset="paper", scale=[1, 1, 4], dims=3, in_channels=1,
        blocks=4, channels=16,
    ).eval()
    x = torch.zeros(1, 1, 8, 8, 40)
    x[..., 20] = 1.0
    with torch.no_grad():
        change = (net(x) - net(torch.zeros_like(x))).abs().amax(dim=(0, 1, 2, 3))
    touched = torch.nonzero(change > 0).flatten()
    centre = 4 * 20 + 2
    assert int(touched.min()) < centre - 12 and int(touched.max()) > centre + 12
