"""The degradation training applies to its patches: ``g = A f + n`` (review eq. 3, section 5.1).

SR networks learn from (LR, HR) pairs simulated by degrading HR data. The operator is any
:func:`medsr.degrade.parse_degradation` spec (``medsr degrade``'s grammar); its noise model is
referred to the whole volume (:func:`volume_referenced`), so a small patch gets the noise level the
whole scan would get from ``medsr degrade``, not one that follows the patch's own contrast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medsr.degrade import Degradation
from medsr.errors import MedsrError

__all__ = ["make_degradation", "volume_referenced"]


def make_degradation(spec: str, factors: Sequence[float]) -> Degradation | None:
    """The operator ``parse_degradation(spec, factors)`` (a :class:`medsr.degrade.Degradation`);
    ``None`` for the spec "none" (identity, which needs all factors 1)."""
    if spec.strip().lower() in ("none", "identity"):
        if any(float(f) != 1.0 for f in factors):
            raise MedsrError(
                f"config: data.degradation: 'none' keeps the grid but the model scales by "
                f"{list(factors)}"
            )
        return None
    from medsr.degrade import parse_degradation

    try:
        return parse_degradation(spec, tuple(float(f) for f in factors))
    except MedsrError as err:
        raise MedsrError(f"config: data.degradation: {err}") from None


def volume_referenced(op: Degradation | None, volume: np.ndarray) -> Degradation | None:
    """``op`` with its noise levels referred to the whole ``volume``, not to each patch.

    Noise models of :mod:`medsr.degrade.noise` take ``sigma`` relative to an intensity range and
    Poisson "scaled" counts relative to a peak, by default those of the array they act on.
    Training degrades small patches, so the noise would vary with each patch's contrast; here the
    volume's range (max - min) and maximum are given to them explicitly
    (:meth:`medsr.degrade.Degradation.with_reference`). ``op`` itself is not modified.
    """
    if op is None:
        return None
    return op.with_reference(float(np.max(volume) - np.min(volume)), float(np.max(volume)))
