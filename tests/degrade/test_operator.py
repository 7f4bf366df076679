"""The one acquisition operator A (review eq. 3): numpy = torch, exact adjoint, back-projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import medsr.degrade.operator as operator_module
from medsr.degrade import (
    AcquisitionOperator,
    BicubicDown,
    SliceProfile,
    ThickSlice,
    acquisition_operator,
    thick_slice_operator,
)
from medsr.errors import MedsrError
from medsr.volume import TargetGrid, Volume


def _scan(shape=(9, 8, 6), spacing=(1.0, 1.0, 3.0)) -> Volume:
    return Volume(np.zeros((1,) + shape, np.float32), np.diag(list(spacing) + [1.0]))


def _operators() -> dict[str, AcquisitionOperator]:
    scan = _scan()
    thick = TargetGrid.from_factors(scan, (1.0, 1.0, 3.0))
    combined = TargetGrid.from_factors(scan, (2.0, 1.0, 2.5))
    return {
        "thick-slice": acquisition_operator(scan, thick, SliceProfile("gaussian")),
        "thick-rect-gap": acquisition_operator(scan, thick, SliceProfile("rect", gap=0.8)),
        "cubic": acquisition_operator(scan, combined, slice_axes=()),
        "combined": acquisition_operator(scan, combined, SliceProfile("rect"), slice_axes=(2,)),
        "array": thick_slice_operator(
            (10, 7, 12), 0, 2.5, SliceProfile("array", samples=(1, 2, 1)), 0
        ),
    }


@pytest.mark.parametrize("name", list(_operators()))
def test_numpy_and_torch_agree(name: str) -> None:
    op = _operators()[name]
    x = np.random.default_rng(0).random((2,) + op.in_shape).astype(np.float32)
    y = op.apply(x)
    assert y.shape == (2,) + op.out_shape and y.dtype == np.float32
    t = op.as_torch()(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(t, y, atol=1e-5)
    yt = np.random.default_rng(1).random(y.shape).astype(np.float32)
    np.testing.assert_allclose(
        op.as_torch().adjoint(torch.from_numpy(yt)[None])[0].numpy(), op.adjoint(yt), atol=1e-5
    )


@pytest.mark.parametrize("name", list(_operators()))
def test_dot_product_adjoint(name: str) -> None:
    op = _operators()[name]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1,) + op.in_shape)
    y = rng.standard_normal((1,) + op.out_shape)
    lhs = float(np.vdot(op.apply(x), y))  # float64 in, float64 out
    rhs = float(np.vdot(x, op.adjoint(y)))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)
    # and in torch (float32)
    tx, ty = torch.from_numpy(x[None]).float(), torch.from_numpy(y[None]).float()
    torch_op = op.as_torch()
    t_lhs = float((torch_op(tx) * ty).sum())
    t_rhs = float((tx * torch_op.adjoint(ty)).sum())
    assert t_lhs == pytest.approx(t_rhs, rel=1e-4, abs=1e-4)


def test_torch_application_is_differentiable() -> None:
    op = _operators()["combined"].as_torch()
    x = torch.rand((1, 1) + _operators()["combined"].in_shape, requires_grad=True)
    op(x).square().sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_the_operator_is_the_degradation_of_medsr_degrade() -> None:
    scan = _scan()
    x = np.random.default_rng(3).random((1, 18, 8, 15)).astype(np.float32)
    target = TargetGrid.from_factors(scan, (2.0, 1.0, 2.5))
    assert target.shape == (18, 8, 15)
    thick = acquisition_operator(scan, target, SliceProfile(), fwhm=1.0)
    expected = ThickSlice(2, 2.5, "gaussian", fwhm=2.5).apply_array(
        ThickSlice(0, 2.0, "gaussian", fwhm=2.0).apply_array(x)
    )
    np.testing.assert_allclose(thick.apply(x), expected, atol=1e-5)
    cubic = acquisition_operator(scan, target, slice_axes=())
    expected = BicubicDown((2.0, 1.0, 2.5)).apply_array(x)
    np.testing.assert_allclose(cubic.apply(x), expected, atol=1e-5)
    assert cubic.info["cubic_axes"] == [0, 2] and cubic.info["slice_axes"] == []


def test_thickness_in_mm_becomes_fine_voxels() -> None:
    scan = _scan(spacing=(1.0, 1.0, 4.0))
    target = TargetGrid.from_factors(scan, (1.0, 1.0, 4.0))
    op = acquisition_operator(scan, target, SliceProfile("rect", thickness=2.0))
    assert op.info["fwhm_voxels"] == {"2": 2.0} and op.axes == [2]
    # a 2 mm slab on a 1 mm grid: each thick slice averages its two central fine voxels
    x = np.zeros((1,) + op.in_shape, np.float32)
    x[..., 1] = 8.0  # the 2nd fine voxel of the first thick slice (centre between 1 and 2)
    assert op.apply(x)[0, 0, 0, 0] == pytest.approx(4.0)
    # a shape instead of the scan: the spacing is the target's times its factors
    same = acquisition_operator(scan.shape, target, SliceProfile("rect", thickness=2.0))
    np.testing.assert_array_equal(same.apply(x), op.apply(x))


def test_slabs_give_the_same_numbers(monkeypatch) -> None:
    op = _operators()["combined"]
    x = np.random.default_rng(4).random((2,) + op.in_shape).astype(np.float32)
    whole = op.apply(x)
    monkeypatch.setattr(operator_module, "_SLAB_BYTES", 1)  # one output row per slab
    np.testing.assert_array_equal(op.apply(x), whole)
    seen: list[tuple[int, int]] = []

    def sink(r0: int, r1: int, blocks: list[np.ndarray]) -> None:
        seen.append((r0, r1))
        np.testing.assert_array_equal(blocks[0], whole[:, r0:r1])
        np.testing.assert_array_equal(blocks[1], 2 * whole[:, r0:r1])

    op.apply_slabs(x, sink, (None, lambda s: 2 * s))
    assert seen[0] == (0, 1) and seen[-1][1] == op.out_shape[0]


@pytest.mark.parametrize("name", ["thick-slice", "thick-rect-gap", "combined", "cubic"])
def test_back_projection_solves_a_x_equals_y(name: str) -> None:
    op = _operators()[name]
    rng = np.random.default_rng(5)
    y = rng.random((1,) + op.out_shape)
    x = np.zeros((1,) + op.in_shape)
    op.back_project(y, x)
    np.testing.assert_allclose(op.apply(x), y, atol=1e-6)
    pinv = op.pseudo_inverse()
    assert pinv.in_shape == op.out_shape and pinv.out_shape == op.in_shape


def test_refuses_coarser_targets_and_wrong_shapes() -> None:
    scan = _scan()
    with pytest.raises(MedsrError, match=">= 1"):
        acquisition_operator(scan, TargetGrid.from_factors(scan, (0.5, 1.0, 1.0)))
    op = _operators()["cubic"]
    with pytest.raises(ValueError):
        op.apply(np.zeros((1, 3, 3, 3), np.float32))
