"""Separable linear operators: one ``(m, n)`` matrix per axis, applied axis after axis.

Most of the operator ``A`` of the review's eq. 3 (bicubic down-sampling, Gaussian blur +
decimation, k-space truncation, slice profiles) and all the interpolation baselines are tensor
products of 1D operators. Each 1D operator is a matrix ``W`` whose row ``j`` holds the weights of
output voxel ``j``, placed at old index coordinate ``u_j`` given by
:func:`medsr.volume.index_coordinates` (the one mapping of medsr). Its transpose is the exact
adjoint.

Why our own weights instead of :func:`medsr.degrade.resize.imresize_weights`: MATLAB anchors its
output grid at the first voxel (``u = x / s + 0.5 (1 - 1 / s)``), medsr's grid keeps the centre of
the field of view. Both coincide when ``n * s`` is an integer (the tests check the weights against
``imresize`` there); only the centred positions keep the affine exact for other lengths. The
kernels themselves are MATLAB's, imported from :mod:`medsr.degrade.resize`.

Memory: :func:`apply_along_axis` works on slabs, so besides the input and the output only a slab of
a few tens of MB is allocated, whatever the volume size.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp

from medsr.degrade.base import Degradation, RngLike, check_array, float_dtype, spatial_shape
from medsr.errors import MedsrError

__all__ = [
    "Boundary",
    "Matrix",
    "SeparableLinear",
    "apply_along_axis",
    "fold_indices",
    "kernel_matrix",
]

Boundary = Literal["reflect", "mirror", "nearest"]
Matrix = np.ndarray | sp.csr_matrix

_SLAB_ELEMENTS = 1 << 22  # ~16 MB of float32 per slab


def fold_indices(idx: np.ndarray, n: int, boundary: Boundary) -> np.ndarray:
    """Map integer indices outside ``[0, n)`` back inside.

    * ``reflect``: half-sample symmetric, ``x[-1] = x[0]`` (MATLAB ``imresize``; the image is
      mirrored about the outer face of the field of view);
    * ``mirror``: whole-sample symmetric, ``x[-1] = x[1]``;
    * ``nearest``: replicate the edge voxel (MATLAB ``imfilter(..., 'replicate')``).
    """
    idx = np.asarray(idx, dtype=np.int64)
    if boundary == "reflect":
        r = np.mod(idx, 2 * n)
        return np.where(r < n, r, 2 * n - 1 - r)
    if boundary == "mirror":
        if n == 1:
            return np.zeros_like(idx)
        r = np.mod(idx, 2 * n - 2)
        return np.where(r < n, r, 2 * n - 2 - r)
    if boundary == "nearest":
        return np.clip(idx, 0, n - 1)
    raise MedsrError(f"unknown boundary {boundary!r}; choose reflect, mirror or nearest")


def kernel_matrix(
    positions: np.ndarray,
    n_in: int,
    kernel: Callable[[np.ndarray], np.ndarray],
    support: float,
    *,
    boundary: Boundary = "reflect",
    normalise: bool = True,
) -> sp.csr_matrix:
    """The ``(len(positions), n_in)`` matrix ``W[j, i] = k(u_j - i)`` (folded at the borders).

    Args:
        positions: old index coordinate ``u_j`` of every output voxel.
        n_in: input length.
        kernel: vectorised ``k(d)`` of the offset ``d = u - i`` (in input voxels).
        support: width of the kernel's support (``k(d) = 0`` for ``|d| > support / 2``).
        boundary: how taps outside ``[0, n_in)`` are folded back (see :func:`fold_indices`).
        normalise: divide each row by its sum (MATLAB does, so constants are kept exactly).

    The taps follow MATLAB's ``contributions``: ``floor(u - support / 2) + 0 .. ceil(support) + 1``.
    """
    u = np.asarray(positions, dtype=np.float64)[:, None]
    taps = (
        np.floor(u - support / 2.0)
        + np.arange(int(np.ceil(support)) + 2, dtype=np.float64)[None, :]
    )
    weights = np.asarray(kernel(u - taps), dtype=np.float64)
    if normalise:
        sums = weights.sum(axis=1, keepdims=True)
        if np.any(sums == 0):
            raise MedsrError("the resampling kernel is empty at some positions; widen it")
        weights = weights / sums
    idx = fold_indices(taps.astype(np.int64), n_in, boundary)
    rows = np.repeat(np.arange(u.shape[0]), taps.shape[1])
    mat = sp.coo_matrix((weights.ravel(), (rows, idx.ravel())), shape=(u.shape[0], n_in)).tocsr()
    mat.eliminate_zeros()
    return mat


def apply_along_axis(
    x: np.ndarray, mat: Matrix, axis: int, *, dtype: np.dtype | None = None
) -> np.ndarray:
    """``W`` applied along ``axis`` of ``x`` (a new array; ``x`` is not modified).

    Works slab by slab along the longest other axis, so temporary memory stays bounded.
    ``dtype`` (default: float32, float64 for float64 input) is the working and output type.
    """
    x = np.asarray(x)
    dtype = float_dtype(x) if dtype is None else np.dtype(dtype)
    n = x.shape[axis]
    m, n_mat = mat.shape
    if n_mat != n:
        raise ValueError(f"matrix of shape {mat.shape} cannot act on an axis of length {n}")
    mat = mat.astype(dtype) if mat.dtype != dtype else mat
    out = np.empty(x.shape[:axis] + (m,) + x.shape[axis + 1 :], dtype=dtype)
    others = [a for a in range(x.ndim) if a != axis]
    if not others:
        out[...] = np.asarray(mat @ x.astype(dtype))
        return out
    slab_axis = max(others, key=lambda a: x.shape[a])
    per_index = max(1, x.size // max(1, x.shape[slab_axis]) // max(1, n) * max(n, m))
    step = max(1, _SLAB_ELEMENTS // per_index)
    for start in range(0, x.shape[slab_axis], step):
        sl: list[slice] = [slice(None)] * x.ndim
        sl[slab_axis] = slice(start, start + step)
        block = np.moveaxis(x[tuple(sl)], axis, 0)
        flat = np.ascontiguousarray(block, dtype=dtype).reshape(n, -1)
        res = np.asarray(mat @ flat).reshape((m,) + block.shape[1:])
        out[tuple(sl)] = np.moveaxis(res, 0, axis)
    return out


class SeparableLinear(Degradation):
    """A linear degradation given by one matrix per spatial axis (a tensor product).

    Subclasses implement :meth:`axis_matrices`; application, adjoint and shapes follow.
    """

    linear = True

    @abstractmethod
    def axis_matrices(self, shape: Sequence[int]) -> dict[int, Matrix]:
        """``{spatial axis: (m, n) matrix}`` for an input of spatial ``shape`` (identity axes
        are left out)."""

    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        x = check_array(x)
        dtype = float_dtype(x)
        mats = self.axis_matrices(x.shape[1:])
        out = x
        # shrink first (smallest m / n), as MATLAB does: less work and memory for later passes
        for axis, mat in sorted(
            mats.items(), key=lambda kv: (kv[1].shape[0] / kv[1].shape[1], kv[0])
        ):
            out = apply_along_axis(out, mat, axis + 1, dtype=dtype)
        return out.astype(dtype, copy=True) if out is x else out

    def _check_output(
        self, y: np.ndarray, in_shape: Sequence[int], what: str
    ) -> tuple[np.ndarray, tuple[int, int, int]]:
        """``y`` checked to be an output of ``A`` for an input of spatial ``in_shape`` (what the
        adjoint and the pseudo-inverse take), and that spatial input shape."""
        y = check_array(y)
        spatial = spatial_shape(in_shape)
        expected = self.output_shape(spatial)
        if tuple(y.shape[1:]) != tuple(expected):
            raise MedsrError(
                f"{what} needs an array of spatial shape {expected} (the output for {spatial}), "
                f"got {tuple(y.shape[1:])}"
            )
        return y, spatial

    def adjoint_array(self, y: np.ndarray, in_shape: Sequence[int]) -> np.ndarray:
        """``A^T y`` (the transpose of every axis matrix); ``in_shape`` is ``A``'s input shape."""
        y, spatial = self._check_output(y, in_shape, "the adjoint")
        dtype = float_dtype(y)
        mats = self.axis_matrices(spatial)
        out = y
        for axis, mat in sorted(
            mats.items(), key=lambda kv: (kv[1].shape[1] / kv[1].shape[0], kv[0])
        ):
            mat_t = mat.T.tocsr() if sp.issparse(mat) else np.ascontiguousarray(mat.T)
            out = apply_along_axis(out, mat_t, axis + 1, dtype=dtype)
        return out.astype(dtype, copy=True) if out is y else out

    def matrix(self, shape: Sequence[int], axis: int) -> Matrix | None:
        """The 1D operator along one spatial axis (``None`` when that axis is untouched)."""
        return self.axis_matrices(spatial_shape(shape)).get(axis)
