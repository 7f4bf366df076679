"""Intensity normalisation: one vocabulary for training, inference and self-supervised SR.

Networks train best on intensities of order one, but medical images come in physical units (CT in
Hounsfield units) or arbitrary scanner units (MR). Every normalisation medsr uses is an affine map
``n = (x - offset) / scale`` (:class:`Normaliser`), inverted exactly on the network's output so that
HU stay HU. Its specification ``{"kind", "params"}`` (:meth:`Normaliser.to_dict`) is written into
``model.json`` under ``"normalisation"`` by training and read back by inference
(:meth:`Normaliser.from_dict`); the self-supervised methods (review section 4.2.2), which train on
the scan itself, use the ``foreground_percentile`` kind (:func:`robust_range`).

Kinds (:data:`KINDS`; the older names in :data:`ALIASES` are still read, so every saved
``model.json`` and recipe loads):

* ``none`` (alias ``identity``) -- identity.
* ``minmax`` (aliases ``window``, ``range``) -- fixed window ``[min, max] -> [0, 1]``: a CT window
  such as ``[-1000, 2000]`` HU, or ``[0, 255]`` for 8-bit photographs. Not clipped, so the inverse
  is exact.
* ``zscore`` (aliases ``standard``, ``meanstd``) -- fixed ``(x - mean) / std``.
* ``affine`` (alias ``linear``) -- fixed ``offset`` / ``scale``.
* ``percentile`` -- per volume: the percentiles ``low`` / ``high`` (default 0.5 / 99.5) map to
  0 / 1, robust to the bright outliers of MR.
* ``volume_minmax``, ``volume_zscore`` -- per volume min/max or mean/std.
* ``foreground_percentile`` (alias ``robust``) -- per volume: ``low`` percentile of all voxels
  (the background: 0 in MR, -1000 HU in CT) -> 0, ``high`` percentile of the voxels above it
  (bright tissue) -> 1; the self-SR (SMORE) normalisation.

Per-volume kinds are fitted to each volume (:meth:`Normaliser.fit`) from its finite voxels;
volumes over 2**22 voxels are measured on every second voxel per axis, so training and inference
compute the same numbers for the same scan (``foreground_percentile`` keeps its own rule: a strided
subsample of at most 4 million voxels). ``forward`` on an unfitted per-volume normaliser fits it
to that array first and remembers the fit, so a following ``inverse`` undoes exactly that
``forward``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medsr.errors import MedsrError

__all__ = ["ALIASES", "KINDS", "Normaliser", "robust_range"]

#: kind -> (required parameters, optional parameters with defaults).
KINDS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "none": ((), {}),
    "minmax": (("min", "max"), {}),
    "zscore": (("mean", "std"), {}),
    "affine": (("offset", "scale"), {}),
    "percentile": ((), {"low": 0.5, "high": 99.5}),
    "volume_minmax": ((), {}),
    "volume_zscore": ((), {}),
    "foreground_percentile": ((), {"low": 0.5, "high": 99.5}),
}
#: older names still read from model.json and configs -> their kind.
ALIASES: dict[str, str] = {
    "identity": "none",
    "window": "minmax",
    "range": "minmax",
    "standard": "zscore",
    "meanstd": "zscore",
    "linear": "affine",
    "robust": "foreground_percentile",
}
_PER_VOLUME = ("percentile", "volume_minmax", "volume_zscore", "foreground_percentile")
#: kinds that map the data to about [0, 1] (validation PSNR/SSIM then use a data range of 1).
_UNIT_RANGE = ("minmax", "percentile", "volume_minmax", "foreground_percentile")
_ROBUST_SAMPLE = 4_000_000


def robust_range(data: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """``(offset, span)`` mapping the background to about 0 and bright tissue to about 1.

    ``offset`` is the ``low`` percentile of all voxels (air: 0 in MR, -1000 in CT), ``offset +
    span`` the ``high`` percentile of the voxels above it (SMORE, Zhao et al. 2021, normalises the
    scan before making its training pairs). Volumes over 4 million voxels are measured on a strided
    subsample (the same percentiles, much faster). An affine map commutes with the (linear)
    interpolation, so normalising before or after it is the same.
    """
    flat = np.ravel(data)
    if flat.size > _ROBUST_SAMPLE:
        flat = flat[:: flat.size // _ROBUST_SAMPLE + 1]
    lo = float(np.percentile(flat, low))
    above = flat[flat > lo]
    hi = float(np.percentile(above, high)) if above.size else lo + 1.0
    return lo, (hi - lo) if hi > lo else 1.0


def _canonical(kind: str) -> str:
    name = str(kind).lower()
    return ALIASES.get(name, name)


@dataclass
class Normaliser:
    """An affine intensity map ``n = (x - offset) / scale`` of one of the :data:`KINDS`.

    Args:
        kind: a kind or alias (see the module docstring); stored under its canonical name.
        params: the kind's parameters (e.g. ``{"min": -1000, "max": 2000}``).
        offset, scale: the fitted map (fixed kinds compute them at once; per-volume kinds in
            :meth:`fit`).
    """

    kind: str = "none"
    params: dict[str, float] = field(default_factory=dict)
    offset: float | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        kind = _canonical(self.kind)
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
                f"normalisation {kind}: unknown parameter {unknown[0]!r}; accepted: {accepted}"
            )
        missing = [p for p in required if p not in params]
        if missing:
            raise MedsrError(
                f"normalisation {kind}: missing parameter {missing[0]!r}; give "
                f"{', '.join(required)}"
            )
        try:
            params = {k: float(v) for k, v in {**optional, **params}.items()}
        except (TypeError, ValueError):
            raise MedsrError(
                f"normalisation {kind}: parameters must be numbers, got {params}"
            ) from None
        self.kind, self.params = kind, params
        if "low" in optional and not 0.0 <= params["low"] < params["high"] <= 100.0:
            raise MedsrError(f"{kind} normalisation needs 0 <= low < high <= 100, got {params}")
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
        if p["scale"] == 0 or not np.isfinite(p["scale"]):
            raise MedsrError(
                f"affine normalisation needs a finite non-zero scale, got {p['scale']}"
            )
        return p["offset"], p["scale"]

    # ----------------------------------------------------------------- (de)serialisation
    @staticmethod
    def from_dict(d: Mapping[str, Any] | str | None) -> Normaliser:
        """Rebuild from ``model.json``'s ``{"kind": ..., "params": {...}}`` (``to_dict``'s form; a
        fitted map's ``"fitted": {"offset", "scale"}`` is restored too); a bare kind name is
        read as that kind, ``None`` or a missing ``kind`` as identity."""
        if d is None:
            return Normaliser()
        if isinstance(d, str):
            return Normaliser(d)
        if not isinstance(d, Mapping):
            raise MedsrError(f"normalisation must be a mapping with a 'kind', got {d!r}")
        obj = Normaliser(str(d.get("kind", "none")), dict(d.get("params") or {}))
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
    def unit_range(self) -> bool:
        """True when the kind maps the data to about [0, 1] (a data range of 1 for metrics)."""
        return self.kind in _UNIT_RANGE

    @property
    def fitted(self) -> bool:
        return self.offset is not None and self.scale is not None

    def fit(self, array: np.ndarray) -> Normaliser:
        """A copy fitted to ``array`` (physical units); fixed kinds return an equal copy."""
        if not self.per_volume:
            return dataclasses.replace(self, params=dict(self.params))
        x = np.asarray(array, dtype=np.float32)
        if self.kind != "foreground_percentile" and x.ndim >= 3 and x.size > 2**22:
            x = x[..., ::2, ::2, ::2]
        x = x[np.isfinite(x)]
        if x.size == 0:
            offset, scale = 0.0, 1.0
        elif self.kind == "foreground_percentile":
            offset, scale = robust_range(x, self.params["low"], self.params["high"])
        elif self.kind == "percentile":
            lo, hi = np.percentile(x, [self.params["low"], self.params["high"]])
            offset, scale = float(lo), float(hi - lo)
        elif self.kind == "volume_minmax":
            lo, hi = float(x.min()), float(x.max())
            offset, scale = lo, hi - lo
        else:
            offset, scale = float(x.mean()), float(x.std())
        if not np.isfinite(scale) or scale == 0.0:
            scale = 1.0  # a constant image: shift it only, never divide by zero
        return Normaliser(self.kind, dict(self.params), offset=float(offset), scale=float(scale))

    # ----------------------------------------------------------------- mapping
    def forward(self, array: np.ndarray) -> np.ndarray:
        """Normalise to a new float32 array (the input is not modified)."""
        x = np.asarray(array, dtype=np.float32)
        if not self.fitted:
            fitted = self.fit(x)
            self.offset, self.scale = fitted.offset, fitted.scale
        return ((x - np.float32(self.offset)) / np.float32(self.scale)).astype(
            np.float32, copy=False
        )

    def inverse(self, array: np.ndarray) -> np.ndarray:
        """Undo :meth:`forward` (a new float32 array)."""
        if not self.fitted:
            raise MedsrError(
                f"{self.kind} normalisation was never fitted; call fit(volume) or forward() first"
            )
        y = np.asarray(array, dtype=np.float32)
        return (y * np.float32(self.scale) + np.float32(self.offset)).astype(np.float32, copy=False)
