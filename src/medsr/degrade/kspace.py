"""``KSpaceTruncation``: low resolution by keeping the centre of k-space (MR).

An MR scanner measures the Fourier transform (k-space) of the object; a lower resolution is a
smaller k-space window. Chen et al., "Brain MRI super resolution using 3D deep densely connected
neural networks" (DCSRN, ISBI 2018) make their LR volumes this way (FFT, keep the central part,
inverse FFT), as do Pham et al. (2017) and many MR papers of the review (Li, Sixou & Peyrin, IRBM
2021, section 4). It is the ``A`` of eq. 3 for MR: an ideal low-pass (optionally windowed) and a
coarser sampling.

Definition (per axis of ``n`` voxels, factor ``s``; ``k`` in cycles per field of view): keep the
frequencies ``|k| < k_c = n / (2 s)`` (the Nyquist frequency of the LR spacing), multiply by an
optional window ``w(k / k_c)``, and evaluate the band-limited (trigonometric) interpolant at the
LR voxel centres ``u_j`` of :func:`medsr.volume.index_coordinates` (the centres of the HR blocks;
for even ``s`` between two HR voxels, realised as a phase ramp ``exp(2 pi i k u_j / n)``, never by
an affine shift). With ``n / s = m`` an integer this is exactly "centred FFT, keep the central
``m`` coefficients, inverse FFT of size ``m``" with the intensity scaled by ``m / n`` (a constant
stays constant); non-integer factors use the same formula at the centred positions.

The frequency ``k = +-k_c`` (when ``k_c`` is an integer, e.g. even ``m``) maps to one LR bin:

* ``output="real"`` (default, linear, has an adjoint): both ``+-k_c`` are kept with half weight,
  so a real image stays real (the symmetric truncation);
* ``output="magnitude"``: the scanner-like asymmetric crop ``[-k_c, k_c)`` per axis and the
  magnitude of the complex result, as a magnitude reconstruction (non-linear; negative Gibbs
  lobes fold up).

Windows (the apodisation of MR reconstructions, to tame Gibbs ringing): ``None``, ``"hamming"``
(``0.54 + 0.46 cos(pi v)``) or ``"tukey"`` (flat for ``|v| <= 1 - alpha``, cosine taper to 0 at
``|v| = 1``), with ``v = k / k_c``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from medsr.degrade.base import (
    FactorsLike,
    RngLike,
    check_array,
    float_dtype,
    resolve_factors,
)
from medsr.degrade.separable import Matrix, SeparableLinear, apply_along_axis
from medsr.errors import MedsrError
from medsr.volume import index_coordinates

__all__ = ["KSpaceTruncation", "kspace_matrix", "kspace_window"]

Window = Literal["hamming", "tukey"]


def kspace_window(v: np.ndarray, window: str | None, alpha: float = 0.5) -> np.ndarray:
    """The apodisation window at normalised frequency ``v = k / k_c`` in ``[-1, 1]`` (1 at 0)."""
    v = np.abs(np.asarray(v, dtype=np.float64))
    if window is None or window == "none":
        return np.ones_like(v)
    if window == "hamming":
        return 0.54 + 0.46 * np.cos(np.pi * v)
    if window == "tukey":
        if not 0 < alpha <= 1:
            raise MedsrError(f"the Tukey window's alpha must be in (0, 1], got {alpha}")
        taper = 0.5 * (1.0 + np.cos(np.pi * (v - (1.0 - alpha)) / alpha))
        return np.where(v <= 1.0 - alpha, 1.0, taper)
    raise MedsrError(f"unknown k-space window {window!r}; choose none, hamming or tukey")


def kspace_matrix(
    n_in: int,
    n_out: int,
    factor: float,
    *,
    window: str | None = None,
    alpha: float = 0.5,
    symmetric: bool = True,
) -> np.ndarray:
    """One axis of k-space truncation as an ``(n_out, n_in)`` matrix.

    ``factor`` is the down-sampling factor ``s >= 1``. ``symmetric=True`` gives the real matrix
    (``+-k_c`` half weight each); ``False`` the complex matrix of the crop ``[-k_c, k_c)``.
    """
    kc = n_in / (2.0 * factor)
    k_max = int(np.ceil(kc)) - 1  # largest integer |k| < k_c
    ks = np.arange(-k_max, k_max + 1, dtype=np.float64)
    weights = kspace_window(ks / kc, window, alpha).astype(np.complex128)
    has_nyquist = abs(kc - round(kc)) < 1e-9
    if has_nyquist:
        w_nyq = kspace_window(np.array([1.0]), window, alpha)[0]
        ks = np.append(ks, -float(round(kc)))
        weights = np.append(weights, w_nyq)
    t = index_coordinates(n_in, n_out, 1.0 / factor)  # HR coordinate of every LR voxel centre
    i = np.arange(n_in, dtype=np.float64)
    left = np.exp(2j * np.pi * np.outer(t, ks) / n_in) * weights[None, :]
    right = np.exp(-2j * np.pi * np.outer(ks, i) / n_in)
    mat = (left @ right) / n_in
    return np.ascontiguousarray(mat.real) if symmetric else mat


class KSpaceTruncation(SeparableLinear):
    """Keep the central ``1/s`` of k-space along each axis; output on the coarse grid.

    Args:
        factors: down-sampling factor per axis (real >= 1), or one number for all axes.
        window: None, "hamming" or "tukey" apodisation of the kept spectrum.
        alpha: the Tukey window's tapered fraction (0 < alpha <= 1).
        output: "real" (linear, symmetric truncation) or "magnitude" (scanner-like, non-linear).

    ``pseudo_inverse_array`` is the zero-filled reconstruction: the LR spectrum put back in the
    centre of an empty HR spectrum (sinc interpolation), ``(n / m) A_0^T`` with ``A_0`` the
    unwindowed real operator.
    """

    def __init__(
        self,
        factors: FactorsLike,
        *,
        window: str | None = None,
        alpha: float = 0.5,
        output: Literal["real", "magnitude"] = "real",
    ) -> None:
        window = None if window in (None, "none") else str(window).lower()
        kspace_window(np.zeros(1), window, alpha)  # validates the window and alpha
        if output not in ("real", "magnitude"):
            raise MedsrError(f"k-space output must be 'real' or 'magnitude', got {output!r}")
        self.factors = factors
        self.window = window
        self.alpha = float(alpha)
        self.output = output

    @property  # type: ignore[override]
    def linear(self) -> bool:  # a property standing for the class attribute
        """Linear only when the real part is kept."""
        return self.output == "real"

    def factors_for(self, shape: Sequence[int]) -> tuple[float, ...]:
        return resolve_factors(self.factors, shape)

    def _matrices(
        self, shape: Sequence[int], *, symmetric: bool, window: str | None
    ) -> dict[int, Matrix]:
        shape = tuple(int(n) for n in shape)
        factors = self.factors_for(shape)
        out_shape = self.output_shape(shape)
        return {
            a: kspace_matrix(n, m, s, window=window, alpha=self.alpha, symmetric=symmetric)
            for a, (n, m, s) in enumerate(zip(shape, out_shape, factors))
            if s != 1.0
        }

    def axis_matrices(self, shape: Sequence[int]) -> dict[int, Matrix]:
        return self._matrices(shape, symmetric=True, window=self.window)

    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        if self.output == "real":
            return super().apply_array(x, rng)
        x = check_array(x)
        dtype = float_dtype(x)
        cdtype = np.complex128 if dtype == np.float64 else np.complex64
        out: np.ndarray = x
        for axis, mat in self._matrices(x.shape[1:], symmetric=False, window=self.window).items():
            out = apply_along_axis(out, mat, axis + 1, dtype=cdtype)
        return np.abs(out).astype(dtype)

    def adjoint_array(self, y: np.ndarray, in_shape: Sequence[int]) -> np.ndarray:
        if self.output != "real":
            raise NotImplementedError(
                "KSpaceTruncation(output='magnitude') is not linear: no adjoint"
            )
        return super().adjoint_array(y, in_shape)

    def pseudo_inverse_array(self, y: np.ndarray, in_shape: Sequence[int]) -> np.ndarray:
        """Zero-filled k-space reconstruction of ``y`` on the HR grid of spatial ``in_shape``.

        Exact right inverse (``A pinv(y) = y``) without a window when every ``n / s`` is an odd
        integer; for even ``m`` the LR Nyquist component comes back halved (its energy is split
        between ``+-k_c``), the usual zero-filling behaviour.
        """
        y, spatial = self._check_output(y, in_shape, "the pseudo-inverse")
        dtype = float_dtype(y)
        out: np.ndarray = y
        for axis, mat in self._matrices(spatial, symmetric=True, window=None).items():
            m, n = mat.shape
            out = apply_along_axis(
                out, np.ascontiguousarray(mat.T) * (n / m), axis + 1, dtype=dtype
            )
        return out.astype(dtype, copy=True) if out is y else out

    def _params(self) -> dict[str, object]:
        return {
            "factors": self.factors,
            "window": self.window,
            "alpha": self.alpha,
            "output": self.output,
        }
