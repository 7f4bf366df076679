"""Intensity normalisation, stored with a model so that inference inverts it exactly.

Networks train best on intensities of order one, but medical images come in physical units (CT in
Hounsfield units) or arbitrary scanner units (MR). A :class:`Normaliser` is an affine map
``n = (x - offset) / scale``. Its specification (:meth:`Normaliser.to_dict`, ``{"kind", "params"}``)
is written into ``model.json`` under ``"normalisation"``; inference reads the same entry
(:class:`medsr.infer.normalise.Normalisation` understands exactly these kinds and parameters),
normalises the input, runs the network, and inverts the map on the output so HU stay HU.

Kinds (the same vocabulary as :mod:`medsr.infer.normalise`):

* ``none`` — identity.
* ``minmax`` (alias ``window``) — fixed window ``[min, max] -> [0, 1]``: a CT window such as
  ``[-1000, 2000]`` HU, or ``[0, 255]`` for 8-bit photographs. Not clipped, so the inverse is exact.
* ``zscore`` — fixed ``(x - mean) / std``; ``affine`` — fixed ``offset`` / ``scale``.
* ``percentile`` — per volume: percentiles ``low`` / ``high`` (e.g. 0.5 / 99.5) map to 0 / 1, robust
  to the bright outliers of MR.
* ``volume_minmax``, ``volume_zscore`` — per volume min/max or mean/std.

Per-volume kinds are fitted to each volume (:meth:`Normaliser.fit`); volumes over 2**22 voxels are
measured on every second voxel per axis, the rule inference uses, so training and inference compute
the same numbers for the same scan. ``forward`` on an unfitted per-volume normaliser fits it to that
array first and remembers the fit, so a following ``inverse`` undoes exactly that ``forward``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medsr.errors import MedsrError

__all__ = ["KINDS", "Normaliser"]

#: kind -> (required parameters, optional parameters with defaults).
KINDS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "none": ((), {}),
    "minmax": (("min", "max"), {}),
    "zscore": (("mean", "std"), {}),
    "affine": (("offset", "scale"), {}),
    "percentile": ((), {"low": 0.5, "high": 99.5}),
    "volume_minmax": ((), {}),
    "volume_zscore": ((), {}),
}
_ALIASES = {"window": "minmax", "range": "minmax", "identity": "none"}
_PER_VOLUME = ("percentile", "volume_minmax", "volume_zscore")


@dataclass
class Normaliser:
    """An affine intensity map ``n = (x - offset) / scale`` of one of the :data:`KINDS`.

    Args:
        kind: see the module docstring.
        params: the kind's parameters (e.g. ``{"min": -1000, "max": 2000}``).
    """

    kind: str = "none"
    params: dict[str, float] = field(default_factory=dict)
    offset: float | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        kind = _ALIASES.get(str(self.kind).lower(), str(self.kind).lower())
        if kind not in KINDS:
            raise MedsrError(
                f"unknown normalisation kind {self.kind!r}; choose one of {', '.join(KINDS)}"
            )
        required, optional = KINDS[kind]
        params = dict(self.params or {})
        unknown = sorted(set(params) - set(required) - set(optional))
        if unknown:
            accepted = ", ".join(list(required) + list(optional)) or "none"
            raise MedsrError(
                f"normalisation {kind}: unknown parameter {unknown[0]!r} (accepted: {accepted})"
            )
        missing = [p for p in required if p not in params]
        if missing:
            raise MedsrError(f"normalisation {kind}: missing parameter {missing[0]!r}")
        try:
            params = {k: float(v) for k, v in {**optional, **params}.items()}
        except (TypeError, ValueError):
            raise MedsrError(
                f"normalisation {kind}: parameters must be numbers, got {params}"
            ) from None
        self.kind, self.params = kind, params
        if kind == "percentile" and not 0.0 <= params["low"] < params["high"] <= 100.0:
            raise MedsrError(f"percentile normalisation needs 0 <= low < high <= 100, got {params}")
        if kind not in _PER_VOLUME and self.offset is None:
            self.offset, self.scale = self._fixed()

    def _fixed(self) -> tuple[float, float]:
        p = self.params
        if self.kind == "none":
            return 0.0, 1.0
        if self.kind == "minmax":
            if not p["max"] > p["min"]:
                raise MedsrError(
                    f"minmax normalisation needs max > min, got [{p['min']}, {p['max']}]"
                )
            return p["min"], p["max"] - p["min"]
        if self.kind == "zscore":
            if not p["std"] > 0:
                raise MedsrError(f"zscore normalisation needs std > 0, got {p['std']}")
            return p["mean"], p["std"]
        if p["scale"] == 0:
            raise MedsrError("affine normalisation needs a non-zero scale")
        return p["offset"], p["scale"]

    # ----------------------------------------------------------------- (de)serialisation
    @staticmethod
    def from_dict(d: Mapping[str, Any] | str | None) -> Normaliser:
        """Rebuild from ``{"kind": ..., "params": {...}}`` (``to_dict``'s form; a fitted map's
        ``"fitted": {"offset", "scale"}`` is restored too); ``None`` -> identity."""
        if d is None:
            return Normaliser()
        if isinstance(d, str):
            return Normaliser(d)
        if not isinstance(d, Mapping) or "kind" not in d:
            raise MedsrError(f"normalisation must be a mapping with a 'kind', got {d!r}")
        obj = Normaliser(str(d["kind"]), dict(d.get("params") or {}))
        fitted = d.get("fitted")
        if fitted:
            obj.offset, obj.scale = float(fitted["offset"]), float(fitted["scale"])
        return obj

    def to_dict(self, *, include_fit: bool = False) -> dict[str, Any]:
        """``{"kind", "params"}`` for ``model.json`` (plus ``"fitted"`` when asked and fitted)."""
        out: dict[str, Any] = {"kind": self.kind, "params": dict(self.params)}
        if include_fit and self.fitted:
            out["fitted"] = {"offset": self.offset, "scale": self.scale}
        return out

    # ----------------------------------------------------------------- fitting
    @property
    def per_volume(self) -> bool:
        """True when the map depends on each volume (must be fitted to it)."""
        return self.kind in _PER_VOLUME

    @property
    def fitted(self) -> bool:
        return self.offset is not None and self.scale is not None

    def fit(self, array: np.ndarray) -> Normaliser:
        """A copy fitted to ``array`` (physical units); fixed kinds return an equal copy."""
        if not self.per_volume:
            return dataclasses.replace(self, params=dict(self.params))
        x = np.asarray(array, dtype=np.float32)
        if x.ndim >= 3 and x.size > 2**22:  # the subsampling rule of medsr.infer.normalise
            x = x[..., ::2, ::2, ::2]
        x = x[np.isfinite(x)]
        if x.size == 0:
            offset, scale = 0.0, 1.0
        elif self.kind == "percentile":
            lo, hi = np.percentile(x, [self.params["low"], self.params["high"]])
            offset, scale = float(lo), float(hi - lo)
        elif self.kind == "volume_minmax":
            offset, scale = float(x.min()), float(x.max() - x.min())
        else:
            offset, scale = float(x.mean()), float(x.std())
        if not np.isfinite(scale) or scale == 0.0:
            scale = 1.0  # a constant image: shift it only, never divide by zero
        return Normaliser(self.kind, dict(self.params), offset=float(offset), scale=float(scale))

    # ----------------------------------------------------------------- mapping
    def forward(self, array: np.ndarray) -> np.ndarray:
        """Normalise to float32 (the input is not modified)."""
        x = np.asarray(array, dtype=np.float32)
        if not self.fitted:
            fitted = self.fit(x)
            self.offset, self.scale = fitted.offset, fitted.scale
        return ((x - np.float32(self.offset)) / np.float32(self.scale)).astype(
            np.float32, copy=False
        )

    def inverse(self, array: np.ndarray) -> np.ndarray:
        """Undo :meth:`forward` (float32)."""
        if not self.fitted:
            raise MedsrError(
                f"{self.kind} normalisation was never fitted; call fit(volume) or forward() first"
            )
        y = np.asarray(array, dtype=np.float32)
        return (y * np.float32(self.scale) + np.float32(self.offset)).astype(np.float32, copy=False)
