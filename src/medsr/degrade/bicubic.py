"""``BicubicDown``: MATLAB bicubic down-sampling, the "BI" degradation model.

The review's Table 1 (Li, Sixou & Peyrin, IRBM 2021) and the papers it compares (SRCNN, VDSR,
EDSR, RDN...) make the LR image with MATLAB's ``imresize(hr, 1/s, 'bicubic')``: Keys' cubic kernel
(a = -0.5) widened by ``s`` (antialiasing), weights normalised, symmetric borders. Zhang et al.
(RDN, CVPR 2018) call it the "BI" model, next to "BD" (:mod:`medsr.degrade.blur`).

Geometry: the output has ``round(n / s)`` voxels per axis, on ``zoom_grid(shape, affine, 1 / s)``.
When ``n / s`` is an integer (the Table-1 protocol crops the HR image to a multiple of the scale)
the result is exactly MATLAB's (and :func:`medsr.degrade.resize.imresize`'s). Otherwise MATLAB
returns ``ceil(n / s)`` voxels anchored at the first voxel, which no exact affine describes; we
keep MATLAB's kernel and antialiasing but sample at the centred positions of the medsr grid.
"""

from __future__ import annotations

from collections.abc import Sequence

from medsr.degrade.base import FactorsLike, resolve_factors
from medsr.degrade.resize import KERNELS
from medsr.degrade.separable import Matrix, SeparableLinear, kernel_matrix
from medsr.errors import MedsrError
from medsr.volume import index_coordinates

__all__ = ["BicubicDown", "resize_kernel_matrix"]


def resize_kernel_matrix(
    n_in: int, n_out: int, factor: float, kernel: str = "cubic", antialias: bool = True
) -> Matrix:
    """One axis of a MATLAB-kernel resampling by ``factor`` (> 1 up-samples) on the medsr grid.

    Output voxel ``j`` sits at :func:`medsr.volume.index_coordinates` ``(n_in, n_out, factor)``;
    when shrinking with ``antialias`` the kernel is widened by ``1 / factor`` as MATLAB does.
    Borders are half-sample symmetric (MATLAB's).
    """
    key = {"bicubic": "cubic", "bilinear": "linear", "triangle": "linear"}.get(kernel, kernel)
    if key not in KERNELS:
        raise MedsrError(f"unknown kernel {kernel!r}; choose one of {', '.join(sorted(KERNELS))}")
    func, support, _ = KERNELS[key]
    if factor < 1 and antialias:

        def widened(d):  # vectorised kernel
            return factor * func(factor * d)

        k, width = widened, support / factor
    else:
        k, width = func, support
    positions = index_coordinates(n_in, n_out, factor)
    return kernel_matrix(positions, n_in, k, width, boundary="reflect")


class BicubicDown(SeparableLinear):
    """MATLAB bicubic down-sampling by per-axis factors (the "BI" model), 2D or 3D.

    Args:
        factors: down-sampling factor per axis (any real >= 1), or one number for all axes
            (a 2D image, ``Z == 1``, is then resized in plane).
        kernel: MATLAB kernel name: "cubic" (default), "linear", "lanczos2", "lanczos3", "box".
        antialias: widen the kernel by ``s`` (MATLAB's default for shrinking).

    Example:
        >>> lr = BicubicDown((2, 2, 1))(hr_volume)   # the Table-1 LR of a 2D image
    """

    pseudo_inverse_note = (
        "no cheap pseudo-inverse; bicubic up-sampling (medsr.interpolate.zoom_array(..., 'cubic')) "
        "is the usual approximate inverse, or solve with adjoint_array"
    )

    def __init__(
        self, factors: FactorsLike, *, kernel: str = "cubic", antialias: bool = True
    ) -> None:
        self.factors = factors
        self.kernel = kernel
        self.antialias = bool(antialias)
        if kernel not in KERNELS and kernel not in ("bicubic", "bilinear", "triangle"):
            raise MedsrError(
                f"unknown kernel {kernel!r}; choose one of {', '.join(sorted(KERNELS))}"
            )

    def factors_for(self, shape: Sequence[int]) -> tuple[float, ...]:
        return resolve_factors(self.factors, shape)

    def axis_matrices(self, shape: Sequence[int]) -> dict[int, Matrix]:
        shape = tuple(int(n) for n in shape)
        factors = self.factors_for(shape)
        out_shape = self.output_shape(shape)
        return {
            a: resize_kernel_matrix(n, m, 1.0 / s, self.kernel, self.antialias)
            for a, (n, m, s) in enumerate(zip(shape, out_shape, factors))
            if s != 1.0
        }

    def _params(self) -> dict[str, object]:
        return {"factors": self.factors, "kernel": self.kernel, "antialias": self.antialias}
