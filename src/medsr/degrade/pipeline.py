"""``Pipeline``: degradations applied one after another, ``A = A_k ... A_2 A_1`` (review eq. 3).

A realistic forward model chains a resolution loss and noise, e.g.
``Pipeline([ThickSlice(2, 4), RicianNoise(0.02)])``. Randomness is reproducible: the ``rng``
given at call time (a seed, a Generator or None) spawns one independent child generator per stage
(numpy's ``SeedSequence`` spawning), so the same seed gives the same output and adding a stage does
not change the noise drawn by the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from medsr.degrade.base import Degradation, RngLike, as_generator, check_array, spatial_shape
from medsr.errors import MedsrError
from medsr.volume import Volume

__all__ = ["Pipeline"]


class Pipeline(Degradation):
    """Compose degradations; the first stage acts first.

    Args:
        stages: the operators, in order of application (nested pipelines are fine).
    """

    def __init__(self, stages: Iterable[Degradation]) -> None:
        self.stages: list[Degradation] = list(stages)
        if not self.stages:
            raise MedsrError("a degradation pipeline needs at least one stage")
        for st in self.stages:
            if not isinstance(st, Degradation):
                raise MedsrError(
                    f"pipeline stages must be Degradation objects, got {type(st).__name__}"
                )

    @property  # type: ignore[override]
    def linear(self) -> bool:
        """Linear when every stage is."""
        return all(st.linear for st in self.stages)

    @property  # type: ignore[override]
    def stochastic(self) -> bool:
        return any(st.stochastic for st in self.stages)

    def _generators(self, rng: RngLike) -> list[np.random.Generator]:
        return as_generator(rng).spawn(len(self.stages))

    def output_shape(self, in_shape: Sequence[int]) -> tuple[int, ...]:
        shape: tuple[int, ...] = spatial_shape(in_shape)
        for st in self.stages:
            shape = st.output_shape(shape)
        return shape

    def __call__(self, volume: Volume, rng: RngLike = None) -> Volume:
        """Each stage updates the grid itself (``zoom_grid``), so the affine stays exact."""
        out = volume
        for st, gen in zip(self.stages, self._generators(rng)):
            out = st(out, gen)
        return out

    def apply_array(self, x: np.ndarray, rng: RngLike = None) -> np.ndarray:
        out = check_array(x)
        for st, gen in zip(self.stages, self._generators(rng)):
            out = st.apply_array(out, gen)
        return out

    def adjoint_array(self, y: np.ndarray, in_shape: Sequence[int]) -> np.ndarray:
        """``A_1^T ... A_k^T y`` (stages in reverse order); every stage must be linear."""
        if not self.linear:
            raise NotImplementedError("the pipeline has a non-linear stage (noise?), so no adjoint")
        shapes = [spatial_shape(in_shape)]
        for st in self.stages[:-1]:
            shapes.append(st.output_shape(shapes[-1]))
        out = y
        for st, shape in zip(reversed(self.stages), reversed(shapes)):
            out = st.adjoint_array(out, shape)
        return out

    def with_reference(self, intensity_range: float, peak: float) -> Degradation:
        """Every stage referred to the volume's ``intensity_range`` and ``peak`` (a new
        pipeline)."""
        return Pipeline([st.with_reference(intensity_range, peak) for st in self.stages])

    def __repr__(self) -> str:
        return "Pipeline([" + ", ".join(repr(st) for st in self.stages) + "])"
