"""The base class of the degradation operators: the ``A`` of the review's eq. 3, ``g = A f``.

Li, Sixou & Peyrin (IRBM 2021) write the acquisition of a low-resolution image ``g`` from the
unknown high-resolution ``f`` as ``g = A f (+ noise)`` (eq. 3), ``A`` combining blur and
down-sampling. Every operator of :mod:`medsr.degrade` is a small :class:`Degradation`:

* ``op(volume, rng)`` returns a new :class:`~medsr.volume.Volume` on the grid given by
  :func:`medsr.volume.zoom_grid` with factors ``1 / s`` (the low-resolution voxel ``j`` sits at
  old index coordinate :func:`medsr.volume.index_coordinates`, i.e. the centre of the block of
  ``s`` high-resolution voxels it replaces, so the affine is exact);
* ``op.apply_array(x, rng)`` does the same on a ``(C, X, Y, Z)`` array;
* ``op.output_shape(in_shape)`` the spatial shape it produces;
* linear operators (``op.linear``) also have ``op.adjoint_array(y, in_shape)``, the true adjoint
  ``A^T`` (``<A x, y> = <x, A^T y>``), and, where it is cheap, ``op.pseudo_inverse_array``.

Factors ``s >= 1`` are *down-sampling* factors (LR spacing = HR spacing x s). A single number
applies to every axis longer than one voxel, so ``2`` degrades a 2D image (``Z == 1``) in plane.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from medsr.errors import MedsrError
from medsr.volume import Volume, zoom_grid

__all__ = [
    "Degradation",
    "FactorsLike",
    "RngLike",
    "as_generator",
    "check_array",
    "float_dtype",
    "resolve_factors",
    "spatial_shape",
]

RngLike = np.random.Generator | int | None
FactorsLike = float | Sequence[float]


def as_generator(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed, or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(None if rng is None else int(rng))
    raise MedsrError(
        f"rng must be a numpy Generator, an integer seed or None, got {type(rng).__name__}"
    )


def check_array(x: np.ndarray) -> np.ndarray:
    """Check that ``x`` is a real ``(C, X, Y, Z)`` array (not copied)."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise MedsrError(
            f"degradations act on (C, X, Y, Z) arrays, got shape {x.shape}; add the channel axis "
            "(x[None]) or a Z axis of size 1 for 2D images"
        )
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise MedsrError(f"cannot degrade an array of dtype {x.dtype}; give real numbers")
    return x


def float_dtype(x: np.ndarray) -> np.dtype:
    """The working dtype: float64 stays float64 (exact tests), everything else becomes float32."""
    return np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)


def spatial_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """``(X, Y, Z)`` from a spatial or a ``(C, X, Y, Z)`` shape."""
    shape = tuple(int(n) for n in shape)
    if len(shape) == 4:
        shape = shape[1:]
    if len(shape) != 3:
        raise MedsrError(f"expected a (X, Y, Z) or (C, X, Y, Z) shape, got {shape}")
    return shape  # type: ignore[return-value]


def resolve_factors(
    factors: FactorsLike, shape: Sequence[int], name: str = "factor"
) -> tuple[float, ...]:
    """Per-axis down-sampling factors for a spatial ``shape``, checked.

    A scalar (or equal factors on every axis) leaves axes of length one alone, so that ``2`` on
    a 2D image (``Z == 1``) means ``(2, 2, 1)``.

    Raises:
        MedsrError: a factor is not finite, < 1 (that would up-sample), or longer than its axis.
    """
    shape = tuple(int(n) for n in shape)
    if np.isscalar(factors):
        values = [float(factors)] * len(shape)  # type: ignore[arg-type]
    else:
        values = [float(f) for f in factors]  # type: ignore[union-attr]
    if len(values) != len(shape):
        raise MedsrError(
            f"need one {name} per axis ({len(shape)}), got {len(values)}: {tuple(values)}"
        )
    isotropic = len(set(values)) == 1
    out = []
    for axis, (s, n) in enumerate(zip(values, shape)):
        if not np.isfinite(s) or s <= 0:
            raise MedsrError(f"{name}s must be positive numbers, got {tuple(values)}")
        if s < 1:
            raise MedsrError(
                f"{name} {s:g} along axis {axis} is below 1, which would up-sample; degradations "
                "down-sample (use medsr.interpolate or `medsr upscale` to up-sample)"
            )
        if n == 1 and s != 1 and isotropic:
            s = 1.0  # a 2D image: an isotropic factor acts in plane
        if s > n:
            raise MedsrError(
                f"{name} {s:g} along axis {axis} is larger than the axis ({n} voxels); "
                "use a smaller factor or a larger image"
            )
        out.append(s)
    return tuple(out)


class Degradation(ABC):
    """One piece of the forward model ``g = A f`` (review eq. 3).

    Subclasses set ``linear`` / ``stochastic`` and implement :meth:`apply_array`; the ones that
    change the grid implement :meth:`factors_for`. Everything that touches the affine is done
    here, once, through :func:`medsr.volume.zoom_grid`.
    """

    #: True when the operator is linear (it then has :meth:`adjoint_array`).
    linear: ClassVar[bool] = False
    #: True when the operator draws random numbers (it then uses ``rng``).
    stochastic: ClassVar[bool] = False
    #: What to use when :meth:`pseudo_inverse_array` is not available.
    pseudo_inverse_note: ClassVar[str] = (
        "no cheap pseudo-inverse; up-sample with medsr.interpolate or solve with the adjoint"
    )

    # ------------------------------------------------------------------ geometry
    def factors_for(self, shape: Sequence[int]) -> tuple[float, ...]:
        """Per-axis down-sampling factors for an input of spatial ``shape`` (1 = unchanged)."""
        return (1.0,) * len(tuple(shape))

    def output_shape(self, in_shape: Sequence[int]) -> tuple[int, ...]:
        """Spatial shape ``(X, Y, Z)`` of the output for an input of spatial shape ``in_shape``
        (a ``(C, X, Y, Z)`` shape is also accepted; the result is then spatial too)."""
        spatial = spatial_shape(in_shape)
        factors = self.factors_for(spatial)
        new_shape, _ = zoom_grid(spatial, np.eye(4), [1.0 / s for s in factors])
        return new_shape

    # ------------------------------------------------------------------ application
    def __call__(self, volume: Volume, rng: RngLike = None) -> Volume:
        """Degrade a volume; the result lies on ``zoom_grid(shape, affine, 1 / s)``.

        The input is not modified. ``rng`` (Generator, seed or None) feeds the noise models.
        """
        if not isinstance(volume, Volume):
            raise MedsrError(
                f"{type(self).__name__} needs a medsr Volume, got {type(volume).__name__}"
            )
        factors = self.factors_for(volume.shape)
        new_shape, new_affine = zoom_grid(volume.shape, volume.affine, [1.0 / s for s in factors])
        data = self.apply_array(volume.data, rng)
        if tuple(data.shape[1:]) != tuple(new_shape):  # an internal inconsistency, not a user error
            raise AssertionError(f"{self!r} produced {data.shape[1:]}, the grid says {new_shape}")
        out = volume.with_data(data, affine=new_affine)
        history = list(volume.meta.extra.get("degradation", []))
        out.meta.extra["degradation"] = history + [repr(self)]
        return out

    @abstractmethod
    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        """Apply the operator to a ``(C, X, Y, Z)`` array (not modified); float32 result
        (float64 for float64 input)."""

    def adjoint_array(self, y: np.ndarray, in_shape: Sequence[int]) -> np.ndarray:
        """The adjoint ``A^T y``; ``in_shape`` is the (spatial) shape ``A`` acts on."""
        raise NotImplementedError(f"{type(self).__name__} is not linear, so it has no adjoint")

    def with_reference(self, intensity_range: float, peak: float) -> Degradation:
        """This operator with its relative noise levels referred to ``intensity_range`` (max - min)
        and ``peak`` (max) of a whole volume, for patch-wise degradation; operators without
        relative levels return themselves. See :mod:`medsr.degrade.noise`."""
        return self

    def pseudo_inverse_array(self, y: np.ndarray, in_shape: Sequence[int]) -> np.ndarray:
        """A cheap (pseudo-)inverse where one exists; see ``pseudo_inverse_note`` otherwise."""
        raise NotImplementedError(f"{type(self).__name__}: {self.pseudo_inverse_note}")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self) -> dict[str, object]:
        """The constructor parameters shown by ``repr`` (and kept in ``meta.extra``)."""
        return {}
