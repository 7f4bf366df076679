"""Intensity normalisation for networks, inverted exactly so that HU stay HU.

``model.json`` states how the network saw intensities during training (``{"kind", "params"}``).
Every kind medsr uses is an affine map ``n = (x - offset) / scale``; some kinds fix the two numbers
at training time (``minmax`` with ``min``/``max``, ``zscore`` with ``mean``/``std``, ``affine``),
others compute them from each input scan (``percentile``, ``volume_minmax``, ``volume_zscore``).
:meth:`Normalisation.fit` turns either into an :class:`AffineNorm`, whose :meth:`~AffineNorm.inverse`
maps the network output back to physical units with the same two numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medsr.errors import MedsrError

__all__ = ["KINDS", "AffineNorm", "Normalisation"]

#: Recognised ``normalisation.kind`` values and the parameters each reads.
KINDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "minmax": ("min", "max"),
    "zscore": ("mean", "std"),
    "affine": ("offset", "scale"),
    "percentile": ("low", "high"),  # percentiles of the input scan (e.g. 0.5, 99.5)
    "volume_minmax": (),
    "volume_zscore": (),
}
_ALIASES = {"identity": "none", "range": "minmax", "window": "minmax", "standard": "zscore",
            "meanstd": "zscore", "linear": "affine"}


@dataclass(frozen=True)
class AffineNorm:
    """``forward(x) = (x - offset) / scale``; ``inverse(n) = n * scale + offset``."""

    offset: float = 0.0
    scale: float = 1.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.offset == 0.0 and self.scale == 1.0:
            return np.asarray(x, dtype=np.float32)
        return ((np.asarray(x, dtype=np.float32) - np.float32(self.offset)) / np.float32(self.scale)).astype(
            np.float32, copy=False
        )

    def inverse(self, n: np.ndarray) -> np.ndarray:
        if self.offset == 0.0 and self.scale == 1.0:
            return np.asarray(n, dtype=np.float32)
        return (np.asarray(n, dtype=np.float32) * np.float32(self.scale) + np.float32(self.offset)).astype(
            np.float32, copy=False
        )

    def as_dict(self) -> dict[str, float]:
        return {"offset": self.offset, "scale": self.scale}


@dataclass(frozen=True)
class Normalisation:
    """The ``normalisation`` entry of ``model.json``."""

    kind: str = "none"
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_meta(cls, entry: Mapping[str, Any] | str | None) -> Normalisation:
        if entry is None:
            return cls()
        if isinstance(entry, str):
            entry = {"kind": entry}
        kind = str(entry.get("kind", "none")).lower()
        kind = _ALIASES.get(kind, kind)
        if kind not in KINDS:
            raise MedsrError(
                f"model.json has an unknown normalisation kind {kind!r}; known: {', '.join(KINDS)}"
            )
        params = dict(entry.get("params") or {})
        missing = [p for p in KINDS[kind] if p not in params]
        if missing and kind != "percentile":
            raise MedsrError(f"model.json normalisation {kind!r} lacks {', '.join(missing)}; fix model.json")
        return cls(kind, params)

    def fit(self, data: np.ndarray) -> AffineNorm:
        """The concrete affine map for one input scan ``data`` (physical units)."""
        p = self.params
        if self.kind == "none":
            return AffineNorm()
        if self.kind == "minmax":
            return _checked(float(p["min"]), float(p["max"]) - float(p["min"]))
        if self.kind == "zscore":
            return _checked(float(p["mean"]), float(p["std"]))
        if self.kind == "affine":
            return _checked(float(p["offset"]), float(p["scale"]))
        sample = np.asarray(data[..., ::2, ::2, ::2] if data.ndim >= 3 and data.size > 2**22 else data)
        if self.kind == "percentile":
            lo, hi = np.percentile(sample, [float(p.get("low", 0.5)), float(p.get("high", 99.5))])
            return _checked(float(lo), float(hi - lo) or 1.0)
        if self.kind == "volume_minmax":
            lo, hi = float(sample.min()), float(sample.max())
            return _checked(lo, (hi - lo) or 1.0)
        if self.kind == "volume_zscore":
            return _checked(float(sample.mean()), float(sample.std()) or 1.0)
        raise AssertionError(self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params)}


def _checked(offset: float, scale: float) -> AffineNorm:
    if not (np.isfinite(offset) and np.isfinite(scale)) or scale == 0:
        raise MedsrError(f"invalid normalisation (offset {offset}, scale {scale}); fix model.json")
    return AffineNorm(offset, scale)
