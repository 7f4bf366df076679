"""The acquisition operator ``A`` of the review's eq. 3 (``g = A f``): one home for all of medsr.

Li, Sixou & Peyrin (IRBM 2021) write the acquisition of the low-resolution ``g`` from the unknown
high-resolution ``f`` as ``g = A f + n`` (eq. 3). Every place that needs ``A`` on a pair of grids
-- the data-consistency report and iterative back-projection of ``medsr upscale``
(:mod:`medsr.infer.consistency`), Deep Image Prior's data term (:mod:`medsr.selfsr.dip`) and the
training pairs of self-supervised SR (:mod:`medsr.selfsr.pairs`) -- builds it here, so a method is
scored against the very operator it optimised. In the spirit of deepinv's ``LinearPhysics``,
:class:`AcquisitionOperator` gives ``A``, its exact adjoint ``A^T``, the back-projection
``B = A^T (A A^T)^{-1}`` and a differentiable torch application; the noise ``n`` is a separate
model (:mod:`medsr.degrade.noise`).

``A`` is separable: one sparse ``(m, n)`` matrix per spatial axis, from
:class:`medsr.degrade.ThickSlice` (slice profile, Greenspan 2009; SMORE, Zhao et al. 2021) or the
MATLAB cubic kernel of :class:`medsr.degrade.BicubicDown`. The numpy application works in slabs of
output axis 0 (besides input and output, only a slab of some tens of MB is allocated) and applies
every axis with :func:`medsr.degrade.separable.apply_along_axis`, the one 1D kernel of medsr.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from medsr.degrade.base import float_dtype
from medsr.degrade.bicubic import resize_kernel_matrix
from medsr.degrade.separable import apply_along_axis
from medsr.degrade.slice_profile import SliceProfile
from medsr.errors import MedsrError
from medsr.volume import TargetGrid, Volume, spacing_of, zoom_grid

if TYPE_CHECKING:
    import torch

__all__ = [
    "AcquisitionOperator",
    "SlabSink",
    "TorchOperator",
    "acquisition_operator",
    "thick_slice_operator",
]

#: ``sink(r0, r1, blocks)``: receives the rows ``r0:r1`` of output axis 0, one block per transform.
SlabSink = Callable[[int, int, list[np.ndarray]], None]
SlabTransform = Callable[[np.ndarray], np.ndarray] | None

_SLAB_BYTES = 32 * 2**20


def _pseudo_inverse(a: sp.csr_matrix, tol: float = 1e-7) -> sp.csr_matrix:
    """``A^T (A A^T)^{-1}``; entries below ``tol`` times the largest are dropped (banded)."""
    g = (a @ a.T).toarray()
    p = np.linalg.solve(g, a.toarray()).T  # G symmetric: (G^{-1} A)^T
    p[np.abs(p) < tol * np.abs(p).max()] = 0.0
    return sp.csr_matrix(p)


@dataclass(frozen=True, eq=False)
class AcquisitionOperator:
    """A separable linear operator from a fine grid ``in_shape`` to a coarse one (review eq. 3).

    Attributes:
        in_shape: spatial shape ``(X, Y, Z)`` ``A`` acts on (the fine / target grid).
        matrices: ``{spatial axis: (m, n) sparse matrix}``; axes left out are untouched.
        info: JSON-friendly description (which model along which axis, thicknesses).

    Arrays are ``(C, X, Y, Z)``; tensors for :meth:`as_torch` are ``(N, C, *spatial)``.
    """

    in_shape: tuple[int, int, int]
    matrices: Mapping[int, sp.csr_matrix]
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = tuple(int(n) for n in self.in_shape)
        if len(shape) != 3:
            raise MedsrError(f"an acquisition operator acts on (X, Y, Z) grids, got {shape}")
        mats = {int(a): sp.csr_matrix(m) for a, m in self.matrices.items()}
        for a, m in mats.items():
            if a not in (0, 1, 2) or m.shape[1] != shape[a]:
                raise ValueError(f"matrix {m.shape} cannot act on axis {a} of a {shape} grid")
        object.__setattr__(self, "in_shape", shape)
        object.__setattr__(self, "matrices", mats)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Spatial shape of ``A x`` (the acquired grid)."""
        return tuple(  # type: ignore[return-value]
            self.matrices[a].shape[0] if a in self.matrices else n
            for a, n in enumerate(self.in_shape)
        )

    @property
    def axes(self) -> list[int]:
        """The spatial axes ``A`` changes."""
        return sorted(self.matrices)

    # ------------------------------------------------------------------ numpy
    def apply(
        self,
        x: np.ndarray,
        transform: SlabTransform = None,
        *,
        dtype: np.dtype | type | None = None,
    ) -> np.ndarray:
        """``A x`` for ``x`` of shape ``(C, *in_shape)``, slab by slab.

        ``transform`` is applied to every input slab first (e.g. the rounding of a storage
        dtype); ``dtype`` is the working type (default float32, float64 for float64 input).
        """
        self._check(x, self.in_shape, "A")
        return _separable(x, self.matrices, _dtype(x, dtype), transforms=(transform,))

    def apply_slabs(
        self,
        x: np.ndarray,
        sink: SlabSink,
        transforms: Sequence[SlabTransform] = (None,),
        *,
        dtype: np.dtype | type | None = None,
    ) -> None:
        """``A t(x)`` for every ``t`` of ``transforms``, handed to ``sink`` slab by slab (nothing
        of full size is allocated: the data-consistency report sums its errors this way)."""
        self._check(x, self.in_shape, "A")
        _separable(x, self.matrices, _dtype(x, dtype), transforms=tuple(transforms), sink=sink)

    def adjoint(self, y: np.ndarray, *, dtype: np.dtype | type | None = None) -> np.ndarray:
        """The exact adjoint ``A^T y`` for ``y`` of shape ``(C, *out_shape)``."""
        return self.transpose().apply(y, dtype=dtype)

    def transpose(self) -> AcquisitionOperator:
        """``A^T`` as an operator from the acquired grid to the fine one."""
        mats = {a: m.T.tocsr() for a, m in self.matrices.items()}
        return AcquisitionOperator(self.out_shape, mats, {**self.info, "transposed": True})

    def pseudo_inverse(self) -> AcquisitionOperator:
        """The back-projection ``B = A^T (A A^T)^{-1}``, axis by axis (the minimum-norm
        correction: one step ``x + B (y - A x)`` makes ``A x = y`` in exact arithmetic)."""
        mats = {a: _pseudo_inverse(m) for a, m in self.matrices.items()}
        return AcquisitionOperator(self.out_shape, mats, {**self.info, "pseudo_inverse": True})

    def back_project(
        self,
        residual: np.ndarray,
        into: np.ndarray,
        pseudo_inverse: AcquisitionOperator | None = None,
    ) -> None:
        """``into += B residual`` in place, slab by slab (``B`` from :meth:`pseudo_inverse`,
        computed when not given)."""
        b = pseudo_inverse or self.pseudo_inverse()
        self._check(residual, self.out_shape, "the back-projection")
        self._check(into, self.in_shape, "the back-projection's output")
        _separable(residual, b.matrices, np.dtype(into.dtype), out=into, add=True)

    # ------------------------------------------------------------------ torch
    def as_torch(self, device: str = "cpu") -> TorchOperator:
        """The same operator on torch tensors (dense float32 matrices, differentiable)."""
        return TorchOperator(self.matrices, device)

    @staticmethod
    def _check(x: np.ndarray, shape: tuple[int, ...], what: str) -> None:
        if np.ndim(x) != 4 or tuple(x.shape[1:]) != tuple(shape):
            raise ValueError(f"{what} needs a (C, {shape}) array, got {np.shape(x)}")


class TorchOperator:
    """An :class:`AcquisitionOperator` on ``(N, C, *spatial)`` tensors (autograd flows through).

    The spatial part may be 2D when the operator leaves axis 2 alone (2D images).
    """

    def __init__(self, matrices: Mapping[int, sp.csr_matrix], device: str = "cpu") -> None:
        import torch

        self.matrices = {
            int(a): torch.as_tensor(np.asarray(m.toarray()), dtype=torch.float32, device=device)
            for a, m in matrices.items()
        }

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``A x``: the axes in increasing order, one matrix product each."""
        return self._product(x, sorted(self.matrices.items()), transpose=False)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """``A^T y``."""
        return self._product(y, sorted(self.matrices.items(), reverse=True), transpose=True)

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """Spatial shape of ``A x`` for spatial ``shape``."""
        out = list(shape)
        for axis, mat in self.matrices.items():
            out[axis] = int(mat.shape[0])
        return tuple(out)

    @staticmethod
    def _product(x: torch.Tensor, mats: list, transpose: bool) -> torch.Tensor:
        import torch

        out = x
        for axis, mat in mats:
            dim = 2 + axis
            if dim >= out.ndim:
                raise ValueError(f"the operator acts on axis {axis}; got a tensor of {out.ndim}D")
            m = mat.T if transpose else mat
            out = torch.movedim(torch.matmul(m, torch.movedim(out, dim, -2)), -2, dim)
        return out


# ---------------------------------------------------------------------- builders
def thick_slice_operator(
    shape: Sequence[int],
    axis: int,
    factor: float,
    profile: SliceProfile,
    fwhm_voxels: float,
) -> AcquisitionOperator:
    """Thick slices along one axis of a ``shape`` grid: spacing ``factor``, thickness
    ``fwhm_voxels`` (both in voxels of that grid; ``factor = 1`` blurs without sampling).

    The operator self-supervised SR degrades its training planes with (SMORE, review ref. [84]).
    """
    shape = tuple(int(n) for n in shape)
    op = profile.thick_slice(axis, factor, fwhm_voxels)
    info = {
        "slice_axes": [axis],
        "cubic_axes": [],
        "profile": profile.kind,
        "fwhm_voxels": {str(axis): float(fwhm_voxels)},
    }
    return AcquisitionOperator(shape, op.axis_matrices(shape), info)  # type: ignore[arg-type]


def acquisition_operator(
    acquired: Volume | Sequence[int],
    target: TargetGrid,
    profile: SliceProfile | None = None,
    *,
    slice_axes: Sequence[int] | None = None,
    fwhm: float | None = None,
) -> AcquisitionOperator:
    """``A`` from the ``target`` grid (made from the acquired grid by ``zoom_grid``) onto the
    acquired one: the forward model of review eq. 3 for an up-scaling.

    Along every axis of ``slice_axes`` (default: every axis the target up-samples) the acquired
    voxel is a thick slice with ``profile`` (:class:`ThickSlice`); along the other up-sampled axes
    it is MATLAB's antialiased cubic down-sampling (:class:`BicubicDown`, the "BI" model). Axes
    the target keeps are untouched. ``slice_axes=()`` gives the cubic operator.

    Args:
        acquired: the scan (its spacing converts a thickness in mm) or its spatial shape (the
            spacing is then the target's times its factors).
        target: the fine grid (:class:`medsr.volume.TargetGrid`).
        profile: the slice profile (default: Gaussian, FWHM = the slice spacing).
        slice_axes: the axes that get the slice profile.
        fwhm: slice thickness in *acquired* voxels on every slice axis; overrides the profile's
            thickness and gap (the data-consistency check's parametrisation).

    Raises:
        MedsrError: a target coarser than the scan along some axis.
    """
    profile = profile or SliceProfile()
    if isinstance(acquired, Volume):
        shape = tuple(int(n) for n in acquired.shape)
        spacing = [float(s) for s in spacing_of(acquired.affine)]
    else:
        shape = tuple(int(n) for n in acquired)[-3:]
        spacing = [float(s) * float(f) for s, f in zip(spacing_of(target.affine), target.factors)]
    fine = tuple(int(n) for n in target.shape)
    factors = [float(f) for f in target.factors]
    if any(f < 1 for f in factors):
        raise MedsrError(
            f"the acquisition operator maps a finer grid onto the scan; factors {tuple(factors)} "
            "must be >= 1 on every axis"
        )
    changed = [a for a in range(3) if not (fine[a] == shape[a] and abs(factors[a] - 1.0) < 1e-9)]
    thick = changed if slice_axes is None else [int(a) for a in slice_axes]
    mats: dict[int, sp.csr_matrix] = {}
    fwhm_voxels: dict[str, float] = {}
    for a in changed:
        f = factors[a]
        if a in thick:
            # an array profile carries its own width; the nominal one is still reported
            if fwhm is not None:
                width = float(fwhm) * f
            else:
                width = profile.thickness_mm(spacing[a]) / (spacing[a] / f)
            mat = sp.csr_matrix(profile.thick_slice(a, f, width).axis_matrices(fine)[a])
            fwhm_voxels[str(a)] = round(width, 4)
        else:
            m = zoom_grid(fine, np.eye(4), [1.0 / f if b == a else 1.0 for b in range(3)])[0][a]
            mat = sp.csr_matrix(resize_kernel_matrix(fine[a], m, 1.0 / f, "cubic", True))
        if mat.shape != (shape[a], fine[a]):  # both follow zoom_grid; guard against drift
            expected = (shape[a], fine[a])
            raise RuntimeError(f"A gives {mat.shape} along axis {a}, expected {expected}")
        mats[a] = mat
    info: dict[str, Any] = {
        "slice_axes": [a for a in changed if a in thick],
        "cubic_axes": [a for a in changed if a not in thick],
        "profile": profile.kind,
        "fwhm_voxels": fwhm_voxels,
    }
    if fwhm is not None:
        info["fwhm_acquired_voxels"] = float(fwhm)
    return AcquisitionOperator(fine, mats, info)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the slab engine
def _dtype(x: np.ndarray, dtype: np.dtype | type | None) -> np.dtype:
    return float_dtype(x) if dtype is None else np.dtype(dtype)


def _separable(
    x: np.ndarray,
    mats: Mapping[int, sp.csr_matrix],
    dtype: np.dtype,
    out: np.ndarray | None = None,
    *,
    add: bool = False,
    transforms: Sequence[SlabTransform] = (None,),
    sink: SlabSink | None = None,
) -> np.ndarray:
    """``(M_0 (x) M_1 (x) M_2) t(x)`` in slabs of output axis 0 (bounded extra memory).

    Each input slab goes through every ``t`` of ``transforms`` (None: as is), then axis 0, 1, 2.
    Results go to ``sink(r0, r1, blocks)`` when given, else into ``out`` (the first transform's
    result; added when ``add``), allocated when None.
    """
    cast = {a: m.astype(dtype) if m.dtype != dtype else m for a, m in mats.items()}
    c = x.shape[0]
    out_shape = tuple(cast[a].shape[0] if a in cast else x.shape[a + 1] for a in range(3))
    if sink is None and out is None:
        out = np.zeros((c,) + out_shape, dtype=dtype)
    per_row = dtype.itemsize * c * max(math.prod(x.shape[2:]), math.prod(out_shape[1:]))
    m0 = cast.get(0)
    ratio = 1 if m0 is None else max(1, math.ceil(m0.shape[1] / m0.shape[0]))
    rows = max(1, _SLAB_BYTES // max(1, per_row * ratio))
    for r0 in range(0, out_shape[0], rows):
        r1 = min(out_shape[0], r0 + rows)
        if m0 is None:
            lo, hi, sub = r0, r1, None
        else:
            band = m0[r0:r1]
            lo, hi = (int(band.indices.min()), int(band.indices.max()) + 1) if band.nnz else (0, 1)
            sub = band[:, lo:hi]
        src = np.asarray(x[:, lo:hi], dtype=dtype)
        blocks = []
        for transform in transforms:
            block = src if transform is None else np.asarray(transform(src), dtype=dtype)
            if sub is not None:
                block = apply_along_axis(block, sub, 1, dtype=dtype)
            for a in (1, 2):
                if a in cast:
                    block = apply_along_axis(block, cast[a], a + 1, dtype=dtype)
            blocks.append(block)
        if sink is not None:
            sink(r0, r1, blocks)
        elif add:
            out[:, r0:r1] += blocks[0]  # type: ignore[index]
        else:
            out[:, r0:r1] = blocks[0]  # type: ignore[index]
    return out  # type: ignore[return-value]
