"""Self-SR in bfloat16 (``precision=``): mixed-precision training and inference of the network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medsr.bench.selfsr import score, simulate_thick_slices
from medsr.errors import MedsrError
from medsr.runtime import autocast, cpu_has_native_bf16, resolve_precision
from medsr.selfsr import SelfSRConfig
from medsr.selfsr import self_super_resolve as _self_super_resolve
from medsr.volume import TargetGrid

TINY = {"model_kwargs": {"channels": 16, "blocks": 2}, "patch": 24, "batch": 4, "seed": 1}


def test_native_bf16_is_read_from_the_cpu_flags() -> None:
    amx = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16 amx_tile\n"
    avx = "flags\t\t: fpu avx512f avx512_bf16\n"
    plain = "flags\t\t: fpu sse2 avx2 avx512f avx512bw\n"
    assert cpu_has_native_bf16(amx) and cpu_has_native_bf16(avx)
    assert not cpu_has_native_bf16(plain) and not cpu_has_native_bf16("")


def test_auto_precision_follows_the_machine_and_checks_names() -> None:
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("auto", "cuda") == "fp32"
    with pytest.raises(MedsrError, match="precision"):
        resolve_precision("fp16")
    with pytest.raises(MedsrError, match="precision"):
        SelfSRConfig(precision="half")


def test_autocast_runs_convolutions_in_bf16_only_when_asked() -> None:
    conv = torch.nn.Conv2d(1, 4, 3)
    x = torch.rand(1, 1, 8, 8)
    with autocast("fp32"):
        assert conv(x).dtype == torch.float32
    with autocast("bf16"):
        assert conv(x).dtype == torch.bfloat16
    assert conv(x).dtype == torch.float32  # nothing left behind


def test_bf16_self_sr_matches_fp32_closely_and_is_recorded(brain_crop) -> None:
    """The same training in bfloat16: the voxels differ (so the option acts) but the result is
    as good as float32 within a small margin, and the sidecar says which precision ran."""
    crop = brain_crop.with_data(np.ascontiguousarray(brain_crop.data[:, 4:52, 4:52, 8:40]))
    case = simulate_thick_slices(crop, axis=2, factor=4.0)
    target = TargetGrid.from_factors(case.lr, case.factors)
    runs = {
        p: _self_super_resolve(case.lr, target, SelfSRConfig(budget="60it", precision=p, **TINY))
        for p in ("fp32", "bf16")
    }
    (a, info_a), (b, info_b) = runs["fp32"], runs["bf16"]
    assert info_a["precision"] == {"asked": "fp32", "used": "fp32"}
    assert info_b["precision"] == {"asked": "bf16", "used": "bf16"}
    assert b.data.dtype == np.float32 and np.isfinite(b.data).all()
    assert not np.array_equal(a.data, b.data)
    pa, pb = score(case, a)["psnr"], score(case, b)["psnr"]
    assert abs(pa - pb) < 0.5, (pa, pb)
