"""The labelled variant rows of the section-4 table (medsr.bench.medical_rows): ``srcnn3d`` (Pham
et al., ISBI 2017) and ``umehara_srcnn_ct`` (Umehara et al. 2018, ref. [69] of Li, Sixou & Peyrin,
IRBM 2021) with a global residual on the cubic input, which neither paper has."""

from __future__ import annotations

from pathlib import Path

import torch

from medsr.bench.medical_rows import find_extra
from medsr.bench.networks import run_row
from medsr.models.io import load_weights


def _trained_model(run_root: Path) -> torch.nn.Module:
    weights = sorted(run_root.rglob("model.safetensors"))
    assert len(weights) == 1, weights
    model, _ = load_weights(weights[0])
    return model.eval()


def _is_interpolation_plus_body(model: torch.nn.Module, shape: tuple[int, ...]) -> None:
    """The output is the network's own cubic interpolation plus its convolutions: with the last
    convolution zeroed, the network returns exactly the interpolated input."""
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    last = model.body[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        assert torch.allclose(model(x), model.upsample(x), atol=1e-6)


def test_srcnn3d_residual_row_is_srcnn3d_plus_a_labelled_residual(tmp_path: Path) -> None:
    spec = find_extra("srcnn3d_residual")
    assert spec is not None and spec.steps == 1800 and spec.scored_on == "chris_t1 z"
    row = run_row("srcnn3d_residual", 2, work_dir=tmp_path, crop=(16, 16, 16), steps=1)
    assert row["train_steps"] == 1 and row["crop"] == [16, 16, 16]
    assert "VARIANT" in row["notes"] and "not in the paper" in row["paper"]
    assert row["command"].endswith("--method srcnn3d_residual --scale 2")
    assert 15.0 < row["bspline_psnr"] < 60.0 and 0.0 < row["psnr"] < 60.0
    model = _trained_model(tmp_path)
    # srcnn3d's bench network (9-5-5 kernels, 32/16 filters) with the residual switched on
    assert model.residual and [m.kernel_size[0] for m in model.body[::2]] == [9, 5, 5]
    assert [m.out_channels for m in model.body[::2]] == [32, 16, 1]
    _is_interpolation_plus_body(model, (1, 1, 6, 6, 6))


def test_umehara_ct_residual_row_is_srcnn_955_plus_a_residual(tmp_path: Path) -> None:
    spec = find_extra("umehara_srcnn_ct_residual")
    assert spec is not None and spec.steps == find_extra("umehara_srcnn_ct").steps
    row = run_row("umehara_srcnn_ct_residual", 2, work_dir=tmp_path, steps=1)
    assert row["train_steps"] == 1 and row["scored_on"] == "CT_pitch y (held out)"
    assert "VARIANT" in row["notes"] and "global residual" in row["recipe"]
    assert 40.0 < row["bspline_psnr"] < 60.0
    model = _trained_model(tmp_path)
    # Dong et al.'s SRCNN 9-5-5 with 64/32 filters (Umehara et al.'s network), plus the skip
    assert model.residual and [m.kernel_size[0] for m in model.body[::2]] == [9, 5, 5]
    assert [m.out_channels for m in model.body[::2]] == [64, 32, 1]
    _is_interpolation_plus_body(model, (1, 1, 8, 8))
