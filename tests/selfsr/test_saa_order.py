"""SAA as the papers order it (refs. [83] Zhao et al. MICCAI 2018, [84] SMORE): the anti-aliasing
network on the through-plane planes of one orientation, then the SR network on the other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.degrade import SliceProfile, ThickSlice
from medsr.errors import MedsrError
from medsr.infer.methods import MethodOptions, TargetGrid, get_method
from medsr.selfsr import SelfSRConfig
from medsr.selfsr.apply import restore_through_plane


class _RowMean(torch.nn.Module):
    """Replaces every plane row by its mean over the columns (the in-plane axis of the plane)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1, keepdim=True).expand_as(x).clone()


@pytest.mark.parametrize(("orientation", "flat_axis", "other_axis"), [(0, 0, 1), (1, 1, 0)])
def test_one_orientation_restores_only_its_planes(orientation, flat_axis, other_axis) -> None:
    rng = np.random.default_rng(0)
    volume = (0.5 + 0.5 * rng.random((1, 6, 7, 5))).astype(np.float32)  # all foreground
    out = restore_through_plane(_RowMean(), volume, 2, orientations=1, orientation=orientation)
    # planes of orientation o contain in-plane axis o and z: the network flattened axis o only
    assert float(out.std(axis=1 + flat_axis).max()) < 1e-6
    assert float(out.std(axis=1 + other_axis).min()) > 1e-3
    both = restore_through_plane(_RowMean(), volume, 2, orientations=2)
    one = [
        restore_through_plane(_RowMean(), volume, 2, orientations=1, orientation=o) for o in (0, 1)
    ]
    np.testing.assert_allclose(both, 0.5 * (one[0] + one[1]), atol=1e-6)


def test_papers_order_applies_anti_aliasing_then_sr_on_orthogonal_planes(brain_crop) -> None:
    lr = ThickSlice(2, 4.0, "rect", fwhm=2.0)(brain_crop)  # 2 mm slabs every 4 mm: aliasing
    target = TargetGrid.from_factors(lr, (1.0, 1.0, 4.0))
    method = get_method("self").fn
    extra = {
        "iterations": "6",
        "patch": "24",
        "batch": "2",
        "threads": "1",
        "profile": "rect",
        "slice_thickness": "2",
        "anti_alias": "true",
    }
    out, info = method(lr, target, MethodOptions(seed=0, extra={**extra, "saa_order": "papers"}))
    assert out.shape == target.shape
    assert info["anti_aliasing"] is True and info["saa_order"] == "papers"
    stages = {s["stage"]: s["planes"] for s in info["stages"]}
    assert stages == {"anti-aliasing": ["x-z"], "super-resolution": ["y-z"]}
    _, info = method(lr, target, MethodOptions(seed=0, extra=extra))  # default: both, averaged
    assert info["saa_order"] == "both"
    assert all(s["planes"] == ["x-z", "y-z"] for s in info["stages"])
    with pytest.raises(MedsrError, match="saa_order"):
        SelfSRConfig(saa_order="sideways")
    assert SelfSRConfig(profile=SliceProfile("rect")).saa_order == "both"
