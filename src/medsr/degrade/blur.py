"""``BlurDown``: Gaussian blur followed by decimation, the "BD" degradation model.

Zhang et al., "Residual Dense Network for Image Super-Resolution" (RDN, CVPR 2018), besides the
bicubic "BI" model, blur the HR image with a 7x7 Gaussian kernel of standard deviation 1.6 and
keep every third pixel ("BD", x3). Their MATLAB code (shared with SRMD, Zhang et al. 2018) filters
with ``imfilter(..., 'replicate')`` and samples the centre of each block of ``s`` pixels; for even
``s`` it uses an even-sized kernel so that the sample falls between two pixels. This is the blur +
down-sampling ``A`` of the review's eq. 3 in its simplest physical form (a Gaussian point-spread
function).

Here both steps are one matrix per axis: LR voxel ``j`` is the Gaussian-weighted mean of the HR
voxels around its centre ``u_j`` (:func:`medsr.volume.index_coordinates`, the centre of its HR
block), the Gaussian being sampled at the offsets ``u_j - i``. For odd ``s`` the centre is an HR
voxel; for even ``s`` it lies half-way between two, and the filter's phase (half-integer offsets)
does what RDN's even kernel does. Any real factor ``s >= 1`` works the same way.

Defaults (documented choices):

* ``sigma = 1.6 * s / 3`` HR voxels on each down-sampled axis: RDN's 1.6 at x3, proportional to
  the factor elsewhere (RDN defines BD for x3 only); axes with ``s = 1`` are not blurred.
* ``truncate = 1.875``: taps with ``|d| <= 1.875 sigma``, which at ``sigma = 1.6`` is RDN's 7x7
  kernel (radius 3); pass ``truncate=3`` or more for an untruncated Gaussian. Weights sum to one.
* borders replicate the edge voxel, as RDN's ``imfilter(..., 'replicate')``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medsr.degrade.base import FactorsLike, resolve_factors
from medsr.degrade.separable import Boundary, Matrix, SeparableLinear, kernel_matrix
from medsr.errors import MedsrError
from medsr.volume import index_coordinates

__all__ = ["BlurDown", "default_sigma", "gaussian_matrix"]

#: RDN's BD model: sigma 1.6 HR pixels at scale 3.
RDN_SIGMA = 1.6
RDN_SCALE = 3.0


def default_sigma(factor: float) -> float:
    """RDN's sigma (1.6 at x3) scaled with the factor; 0 for an axis that is not down-sampled."""
    return 0.0 if factor == 1 else RDN_SIGMA * factor / RDN_SCALE


def gaussian_matrix(
    n_in: int,
    n_out: int,
    factor: float,
    sigma: float,
    *,
    truncate: float = 1.875,
    boundary: Boundary = "nearest",
) -> Matrix:
    """One axis of blur + decimation: ``(n_out, n_in)`` with a Gaussian of ``sigma`` HR voxels
    centred at each output position (``factor`` < 1 here: ``1 / s``)."""
    radius = truncate * sigma + 1e-9

    def gauss(d: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * (d / sigma) ** 2) * (np.abs(d) <= radius)

    positions = index_coordinates(n_in, n_out, factor)
    return kernel_matrix(positions, n_in, gauss, 2.0 * radius, boundary=boundary)


class BlurDown(SeparableLinear):
    """Gaussian blur with per-axis sigma, then decimation by per-axis factors (the "BD" model).

    Args:
        factors: down-sampling factor per axis (real >= 1), or one number for all axes.
        sigma: Gaussian standard deviation in HR voxels: ``None`` (default ``1.6 s / 3`` on each
            down-sampled axis), one number (every down-sampled axis) or one per axis (an axis with
            ``s = 1`` and ``sigma > 0`` is blurred without decimation).
        truncate: the kernel keeps taps with ``|d| <= truncate * sigma`` (1.875: RDN's 7x7 at 1.6).
        boundary: "nearest" (replicate, RDN's), "reflect" or "mirror".
    """

    def __init__(
        self,
        factors: FactorsLike,
        *,
        sigma: float | Sequence[float] | None = None,
        truncate: float = 1.875,
        boundary: Boundary = "nearest",
    ) -> None:
        if not np.isfinite(truncate) or truncate <= 0:
            raise MedsrError(f"truncate must be a positive number of sigmas, got {truncate}")
        self.factors = factors
        self.sigma = sigma
        self.truncate = float(truncate)
        self.boundary = boundary

    def factors_for(self, shape: Sequence[int]) -> tuple[float, ...]:
        return resolve_factors(self.factors, shape)

    def sigmas_for(self, shape: Sequence[int]) -> tuple[float, ...]:
        """Per-axis sigma (HR voxels) for an input of spatial ``shape``."""
        factors = self.factors_for(shape)
        if self.sigma is None:
            sig = [default_sigma(s) for s in factors]
        elif np.isscalar(self.sigma):
            sig = [float(self.sigma) if s != 1 else 0.0 for s in factors]  # type: ignore[arg-type]
        else:
            sig = [float(v) for v in self.sigma]  # type: ignore[union-attr]
            if len(sig) != len(factors):
                raise MedsrError(f"need one sigma per axis ({len(factors)}), got {len(sig)}")
        for axis, (s, g) in enumerate(zip(factors, sig)):
            if not np.isfinite(g) or g < 0:
                raise MedsrError(f"sigma must be >= 0, got {g} along axis {axis}")
            if s != 1 and g == 0:
                raise MedsrError(
                    f"axis {axis} is down-sampled by {s:g} but its sigma is 0; give sigma > 0 "
                    "(the BD model blurs before decimating)"
                )
        return tuple(sig)

    def axis_matrices(self, shape: Sequence[int]) -> dict[int, Matrix]:
        shape = tuple(int(n) for n in shape)
        factors = self.factors_for(shape)
        sigmas = self.sigmas_for(shape)
        out_shape = self.output_shape(shape)
        return {
            a: gaussian_matrix(n, m, 1.0 / s, g, truncate=self.truncate, boundary=self.boundary)
            for a, (n, m, s, g) in enumerate(zip(shape, out_shape, factors, sigmas))
            if s != 1 or g > 0
        }

    def _params(self) -> dict[str, object]:
        return {
            "factors": self.factors,
            "sigma": self.sigma,
            "truncate": self.truncate,
            "boundary": self.boundary,
        }
