"""Data consistency: does the super-resolved volume explain the acquired one?

The review writes the acquisition as ``g = A f`` (its eq. 3). For an SR output ``x`` on the fine
grid and the input ``y`` on the acquired grid, ``A`` is :func:`medsr.degrade.acquisition_operator`
(the one operator of medsr, the one DIP optimises and self-SR trains with), and the report gives
PSNR/NRMSE between ``A x`` and ``y``. ``--enforce-consistency`` runs iterative back-projection
(Irani & Peleg, "Improving resolution by image registration", CVGIP 1991): ``x <- x + B (y - A x)``.

Default operator (documented choice, :func:`consistency_operator`): along every up-sampled axis
with factor ``s``, ``medsr.degrade.ThickSlice(axis, s)`` -- the acquired voxel is the average of the
fine voxels weighted by a Gaussian slice profile whose FWHM is one acquired voxel (``s`` fine
voxels), integrated over each fine voxel, rows normalised to sum 1, mirrored at the borders: the
thick-slice model of MR/CT slice sensitivity profiles, for any real ``s``. ``profile="rect"`` gives
pure area averaging (each acquired voxel the mean of the ``s`` fine voxels it covers). Axes with
factor 1 are left alone. :class:`medsr.degrade.AcquisitionOperator` applies it slab by slab (no
second array of output size), optionally after simulating the output dtype's rounding.

Back-projection kernel: ``B = A^T (A A^T)^{-1}`` per axis (the minimum-norm correction), so one
iteration makes ``A x = y`` exactly in exact arithmetic; Irani & Peleg's classical choice
``B = s A^T`` only equals it for rect profiles and integer factors, and needs many iterations for
Gaussian ones. Further iterations mop up float32 rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from medsr.degrade import AcquisitionOperator, SliceProfile, acquisition_operator
from medsr.errors import MedsrError
from medsr.metrics import psnr_from_mse
from medsr.volume import TargetGrid, Volume

__all__ = [
    "Profile",
    "consistency_operator",
    "consistency_report",
    "describe_operator",
    "enforce_consistency",
    "quantiser",
]

Profile = Literal["gaussian", "rect"]


def consistency_operator(
    volume: Volume, target: TargetGrid, *, profile: Profile = "gaussian", fwhm: float = 1.0
) -> AcquisitionOperator:
    """The operator of the check: :func:`medsr.degrade.acquisition_operator` with the slice
    ``profile`` along every up-sampled axis, ``fwhm`` acquired voxels thick (1: thickness =
    spacing)."""
    if profile not in ("gaussian", "rect"):
        raise MedsrError(f"unknown consistency profile {profile!r}; use gaussian or rect")
    return acquisition_operator(volume, target, SliceProfile(profile), fwhm=fwhm)


def describe_operator(op: AcquisitionOperator) -> dict[str, Any]:
    """The sidecar's description of the check's operator."""
    fwhm = float(op.info.get("fwhm_acquired_voxels", 1.0))
    profile = op.info.get("profile", "gaussian")
    return {
        "operator": f"medsr.degrade.acquisition_operator: {profile} slice profile, FWHM "
        f"{fwhm:g} input voxel(s), along each up-sampled axis",
        "profile": profile,
        "fwhm_input_voxels": fwhm,
        "axes": op.axes,
    }


def quantiser(
    dtype: str, slope: float = 1.0, intercept: float = 0.0
) -> Callable[[np.ndarray], np.ndarray] | None:
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
    psnr = psnr_from_mse(mse, data_range)
    return {"psnr_db": psnr, "rmse": rmse, "nrmse": rmse / data_range}


def _data_range(observed: np.ndarray) -> float:
    return float(observed.max() - observed.min()) or 1.0


def consistency_report(
    observed: np.ndarray,
    output: np.ndarray,
    model: AcquisitionOperator,
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
    if tuple(output.shape[1:]) != model.in_shape or tuple(observed.shape[1:]) != model.out_shape:
        raise ValueError(
            f"shapes {observed.shape}, {output.shape} do not fit "
            f"{model.out_shape} -> {model.in_shape}"
        )
    data_range = _data_range(observed)
    q = quantiser(dtype, slope, intercept) if dtype else None
    errors = _Errors(observed, 2 if q is not None else 1)
    model.apply_slabs(output, errors, (None, q) if q is not None else (None,), dtype=np.float32)
    report: dict[str, Any] = describe_operator(model)
    report["data_range"] = data_range
    report.update(_scores(errors.sse[0], observed.size, data_range))
    if q is not None:
        stored = _scores(errors.sse[1], observed.size, data_range)
        report.update({f"{k}_stored": v for k, v in stored.items()})
    return report


def enforce_consistency(
    observed: np.ndarray,
    output: np.ndarray,
    model: AcquisitionOperator,
    *,
    iterations: int = 3,
    progress: Callable[[int], None] | None = None,
) -> list[float]:
    """Iterative back-projection (Irani & Peleg 1991) on ``output`` in place.

    Returns the PSNR (dB) of ``A x`` against ``observed`` before the first and after each
    iteration.
    """
    if iterations < 1:
        raise MedsrError(f"back-projection needs iterations >= 1, got {iterations}; give 1 or more")
    if not output.flags.writeable:
        raise ValueError("output must be writable")
    observed = np.asarray(observed, dtype=np.float32)
    data_range = _data_range(observed)
    back = model.pseudo_inverse()
    history: list[float] = []
    for _ in range(iterations):
        residual = observed - model.apply(output, dtype=np.float32)
        history.append(_psnr_of_residual(residual, data_range))
        model.back_project(residual, output, back)
        if progress is not None:
            progress(1)
    history.append(_psnr_of_residual(observed - model.apply(output, dtype=np.float32), data_range))
    return history


def _psnr_of_residual(residual: np.ndarray, data_range: float) -> float:
    flat = residual.ravel()
    sse = 0.0
    for chunk in np.array_split(flat, max(1, flat.size // 2**22)):
        c = chunk.astype(np.float64)
        sse += float(c @ c)
    return _scores(sse, flat.size, data_range)["psnr_db"]
