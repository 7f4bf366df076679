"""Data consistency: does the super-resolved volume explain the acquired one?

The review writes the acquisition as ``g = A f`` (its eq. 3). For an SR output ``x`` on the fine
grid and the input ``y`` on the acquired grid, :class:`AcquisitionModel` is the operator ``A`` that
maps the fine grid back onto the acquired grid, and the report gives PSNR/NRMSE between ``A x`` and
``y``. ``--enforce-consistency`` runs iterative back-projection (Irani & Peleg, "Improving
resolution by image registration", CVGIP 1991): ``x <- x + B (y - A x)``.

Default operator (documented choice): along every up-sampled axis with factor ``s``,
``medsr.degrade.ThickSlice(axis, s)`` -- the acquired voxel is the average of the fine voxels
weighted by a Gaussian slice profile whose FWHM is one acquired voxel (``s`` fine voxels),
integrated over each fine voxel, rows normalised to sum 1, mirrored at the borders: the thick-slice
model of MR/CT slice sensitivity profiles, for any real ``s``. ``profile="box"`` gives pure area
averaging (each acquired voxel the mean of the ``s`` fine voxels it covers). Axes with factor 1 are
left alone. The per-axis matrices come from ThickSlice; this module only applies them slab by slab
over all axes at once (no second array of output size), optionally after simulating the output
dtype's rounding, and builds the back-projection kernel.

Back-projection kernel: ``B = A^T (A A^T)^{-1}`` per axis (the minimum-norm correction), so one
iteration makes ``A x = y`` exactly in exact arithmetic; Irani & Peleg's classical choice
``B = s A^T`` only equals it for box profiles and integer factors, and needs many iterations for
Gaussian ones. Further iterations mop up float32 rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from medsr.errors import MedsrError

__all__ = ["AcquisitionModel", "Profile", "consistency_report", "enforce_consistency", "quantiser"]

Profile = Literal["gaussian", "box"]
_SLAB_BYTES = 32 * 2**20


def _axis_matrix(m: int, axis: int, factor: float, profile: Profile, fwhm: float) -> sp.csr_matrix:
    """``(n, m)`` matrix of :class:`medsr.degrade.ThickSlice` along ``axis`` (output length ``m``).

    ``fwhm`` is in acquired voxels; ThickSlice measures thickness in fine voxels (``fwhm * s``).
    """
    from medsr.degrade import ThickSlice

    shape = [1, 1, 1]
    shape[axis] = m
    op = ThickSlice(axis, factor, "rect" if profile == "box" else profile, fwhm=fwhm * factor)
    return sp.csr_matrix(op.axis_matrices(tuple(shape))[axis])


def _pseudo_inverse(a: sp.csr_matrix, tol: float = 1e-7) -> sp.csr_matrix:
    """``A^T (A A^T)^{-1}``, with entries below ``tol`` times the largest dropped (banded in practice)."""
    g = (a @ a.T).toarray()
    p = np.linalg.solve(g, a.toarray()).T  # G symmetric: (G^{-1} A)^T
    p[np.abs(p) < tol * np.abs(p).max()] = 0.0
    return sp.csr_matrix(p)


def _apply_along(block: np.ndarray, mat: sp.csr_matrix | None, axis: int) -> np.ndarray:
    if mat is None:
        return block
    moved = np.moveaxis(block, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    res = np.asarray(mat @ flat.T).T  # sparse (n, m) times dense: cheap, float32 throughout
    return np.moveaxis(res.reshape(moved.shape[:-1] + (mat.shape[0],)), -1, axis)


Sink = Callable[[int, int, list[np.ndarray]], None]


def _separable(
    x: np.ndarray,
    mats: Sequence[sp.csr_matrix | None],
    out: np.ndarray | None = None,
    *,
    add: bool = False,
    transforms: Sequence[Callable[[np.ndarray], np.ndarray] | None] = (None,),
    sink: Sink | None = None,
) -> np.ndarray | None:
    """``(M_0 (x) M_1 (x) M_2) x`` computed in slabs of output axis 0 (bounded extra memory).

    Each slab of ``x`` is passed through every function of ``transforms`` (None: as is) before
    the product. The results go to ``sink(r0, r1, blocks)`` when given (nothing of full size is
    allocated), else into ``out`` (the first transform's result; added when ``add``).
    """
    mats = tuple(None if m is None else m.astype(np.float32) for m in mats)
    c = x.shape[0]
    out_shape = tuple(x.shape[a + 1] if m is None else m.shape[0] for a, m in enumerate(mats))
    if sink is None and out is None:
        out = np.zeros((c,) + out_shape, dtype=np.float32)
    per_row = 4 * c * max(int(np.prod(x.shape[2:])), int(np.prod(out_shape[1:])))
    m0 = mats[0]
    ratio = 1 if m0 is None else max(1, math.ceil(m0.shape[1] / m0.shape[0]))
    rows = max(1, _SLAB_BYTES // (per_row * ratio))
    for r0 in range(0, out_shape[0], rows):
        r1 = min(out_shape[0], r0 + rows)
        if m0 is None:
            lo, hi, sub = r0, r1, None
        else:
            sub = m0[r0:r1]
            lo, hi = int(sub.indices.min()), int(sub.indices.max()) + 1
            sub = sub[:, lo:hi].toarray()
        src = np.asarray(x[:, lo:hi], dtype=np.float32)
        blocks = []
        for transform in transforms:
            block = src if transform is None else transform(src)
            if sub is not None:
                block = np.moveaxis(np.tensordot(sub, block, axes=(1, 1)), 0, 1)
            for a in (1, 2):
                block = _apply_along(block, mats[a], a + 1)
            blocks.append(block)
        if sink is not None:
            sink(r0, r1, blocks)
        elif add:
            out[:, r0:r1] += blocks[0]  # type: ignore[index]
        else:
            out[:, r0:r1] = blocks[0]  # type: ignore[index]
    return out


@dataclass(frozen=True)
class AcquisitionModel:
    """The operator ``A`` from the fine (output) grid to the acquired (input) grid.

    Build with :meth:`for_grids`; ``apply(x)`` gives ``A x``, ``back_project(r, into)`` adds
    ``B r`` to ``into`` (``B`` the per-axis pseudo-inverse), both slab by slab.
    """

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    factors: tuple[float, float, float]
    profile: Profile
    fwhm: float
    matrices: tuple[sp.csr_matrix | None, ...]

    @classmethod
    def for_grids(
        cls,
        in_shape: Sequence[int],
        out_shape: Sequence[int],
        factors: Sequence[float],
        *,
        profile: Profile = "gaussian",
        fwhm: float = 1.0,
    ) -> AcquisitionModel:
        """``A`` for an output made by ``zoom_grid(in_shape, affine, factors)``.

        Args:
            fwhm: slice-profile width in acquired voxels (1 = the slice thickness equals spacing).
        """
        if profile not in ("gaussian", "box"):
            raise MedsrError(f"unknown consistency profile {profile!r}; use gaussian or box")
        mats = []
        for axis, (n, m, f) in enumerate(zip(in_shape, out_shape, factors)):
            if n == m and abs(f - 1.0) < 1e-9:
                mats.append(None)
                continue
            mat = _axis_matrix(int(m), axis, float(f), profile, fwhm)
            if mat.shape != (int(n), int(m)):  # both follow zoom_grid; guard against drift
                raise RuntimeError(f"ThickSlice gives {mat.shape} along axis {axis}, expected {(n, m)}")
            mats.append(mat)
        mats = tuple(mats)
        return cls(tuple(map(int, in_shape)), tuple(map(int, out_shape)),  # type: ignore[arg-type]
                   tuple(map(float, factors)), profile, float(fwhm), mats)  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        return {
            "operator": f"medsr.degrade.ThickSlice: {self.profile} slice profile, FWHM "
            f"{self.fwhm:g} input voxel(s), along each up-sampled axis",
            "profile": self.profile,
            "fwhm_input_voxels": self.fwhm,
            "axes": [a for a, m in enumerate(self.matrices) if m is not None],
        }

    def apply(self, x: np.ndarray, transform: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """``A x`` for ``x`` of shape ``(C, *out_shape)`` (``transform`` applied to each slab first)."""
        if tuple(x.shape[1:]) != self.out_shape:
            raise ValueError(f"expected (C, {self.out_shape}), got {x.shape}")
        return _separable(x, self.matrices, transforms=(transform,))  # type: ignore[return-value]

    def back_projection(self) -> tuple[sp.csr_matrix | None, ...]:
        """Per-axis back-projection kernels ``B_a = A_a^T (A_a A_a^T)^{-1}`` (fine x acquired)."""
        return tuple(None if m is None else _pseudo_inverse(m) for m in self.matrices)

    def back_project(self, residual: np.ndarray, into: np.ndarray) -> None:
        """``into += B residual`` (in place, slab by slab)."""
        _separable(residual, self.back_projection(), into, add=True)


def quantiser(dtype: str, slope: float = 1.0, intercept: float = 0.0) -> Callable[[np.ndarray], np.ndarray] | None:
    """What storing in ``dtype`` does to physical values (rounding, clipping), as a slab function.

    Mirrors :func:`medsr.io.storage.to_storage` (round half to even, clip to the dtype's range,
    stored = (value - intercept) / slope); None for float dtypes (no change worth scoring).
    """
    target = np.dtype(dtype)
    if target.kind == "f":
        return None
    info = np.iinfo(target)
    # integers up to 2^24 are exact in float32: work in place in the cheaper type when it suffices
    exact_in_float32 = max(abs(int(info.min)), int(info.max)) <= 2**24
    work = np.float32 if exact_in_float32 and slope == 1.0 and intercept == 0.0 else np.float64

    def q(x: np.ndarray) -> np.ndarray:
        v = np.array(x, dtype=work)
        if slope != 1.0 or intercept != 0.0:
            v -= intercept
            v /= slope
        np.rint(v, out=v)
        np.clip(v, info.min, info.max, out=v)
        if slope != 1.0 or intercept != 0.0:
            v *= slope
            v += intercept
        return v.astype(np.float32, copy=False)

    return q


class _Errors:
    """Sums of squared differences against ``observed``, slab by slab (no full-size temporaries)."""

    def __init__(self, observed: np.ndarray, n: int) -> None:
        self.observed = observed
        self.sse = [0.0] * n

    def __call__(self, r0: int, r1: int, blocks: list[np.ndarray]) -> None:
        ref = self.observed[:, r0:r1]
        for i, block in enumerate(blocks):
            diff = (block - ref).ravel().astype(np.float64)
            self.sse[i] += float(diff @ diff)


def _scores(sse: float, count: int, data_range: float) -> dict[str, float]:
    mse = sse / max(1, count)
    rmse = math.sqrt(mse)
    psnr = float("inf") if mse == 0 else 10.0 * math.log10(data_range**2 / mse)
    return {"psnr_db": psnr, "rmse": rmse, "nrmse": rmse / data_range}


def _data_range(observed: np.ndarray) -> float:
    return float(observed.max() - observed.min()) or 1.0


def consistency_report(
    observed: np.ndarray,
    output: np.ndarray,
    model: AcquisitionModel,
    *,
    dtype: str | None = None,
    slope: float = 1.0,
    intercept: float = 0.0,
) -> dict[str, Any]:
    """PSNR (dB), RMSE and NRMSE between ``A output`` and the acquired ``observed``.

    PSNR uses the input's range ``max - min`` as peak; NRMSE = RMSE / that range. With ``dtype`` the
    output is also scored as it will be stored (rounded and clipped), keys ``*_stored``. One pass
    over the output, slab by slab.
    """
    observed = np.asarray(observed, dtype=np.float32)
    if tuple(output.shape[1:]) != model.out_shape or tuple(observed.shape[1:]) != model.in_shape:
        raise ValueError(f"shapes {observed.shape}, {output.shape} do not fit {model.in_shape} -> {model.out_shape}")
    data_range = _data_range(observed)
    q = quantiser(dtype, slope, intercept) if dtype else None
    errors = _Errors(observed, 2 if q is not None else 1)
    _separable(output, model.matrices, transforms=(None, q) if q is not None else (None,), sink=errors)
    report: dict[str, Any] = dict(model.describe())
    report["data_range"] = data_range
    report.update(_scores(errors.sse[0], observed.size, data_range))
    if q is not None:
        report.update({f"{k}_stored": v for k, v in _scores(errors.sse[1], observed.size, data_range).items()})
    return report


def enforce_consistency(
    observed: np.ndarray,
    output: np.ndarray,
    model: AcquisitionModel,
    *,
    iterations: int = 3,
    progress: Callable[[int], None] | None = None,
) -> list[float]:
    """Iterative back-projection (Irani & Peleg 1991) on ``output`` in place.

    Returns the PSNR (dB) of ``A x`` against ``observed`` before the first and after each
    iteration.
    """
    if iterations < 1:
        raise MedsrError(f"--ibp-iterations must be >= 1, got {iterations}")
    if not output.flags.writeable:
        raise ValueError("output must be writable")
    observed = np.asarray(observed, dtype=np.float32)
    data_range = _data_range(observed)
    mats = model.back_projection()
    history: list[float] = []
    for _ in range(iterations):
        residual = observed - model.apply(output)
        history.append(_psnr_of_residual(residual, data_range))
        _separable(residual, mats, output, add=True)
        if progress is not None:
            progress(1)
    history.append(_psnr_of_residual(observed - model.apply(output), data_range))
    return history


def _psnr_of_residual(residual: np.ndarray, data_range: float) -> float:
    flat = residual.ravel()
    sse = 0.0
    for chunk in np.array_split(flat, max(1, flat.size // 2**22)):
        c = chunk.astype(np.float64)
        sse += float(c @ c)
    return _scores(sse, flat.size, data_range)["psnr_db"]
