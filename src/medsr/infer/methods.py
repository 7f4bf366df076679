"""The registry of up-scaling methods that ``medsr upscale --method NAME`` can run.

A *method* turns one :class:`~medsr.volume.Volume` into another on a given target grid. The
interpolation baselines (nearest ... lanczos), self-supervised SR (``self``, SMORE-like) and
Deep Image Prior (``dip``) are all methods; a trained network given with ``--model/--weights`` is
run by :mod:`medsr.infer.pipeline` directly (it needs tiling), not through this registry.

Contract (also in ``docs/CONTRACTS.md``, section "medsr.infer methods")::

    def my_method(volume: Volume, target: TargetGrid, options: MethodOptions) -> tuple[Volume, dict]

* ``target.shape``/``target.affine`` come from :func:`medsr.volume.zoom_grid` (never computed
  elsewhere); the returned volume must have exactly that spatial shape and affine (the pipeline
  checks it) and the same number of channels and intensity units as the input (float32 data; the
  writer casts to the output dtype).
* ``info`` is a JSON-serialisable dict (e.g. iterations, losses, seconds) stored in the output's
  sidecar under ``"method_info"``.
* the input volume must not be modified.

Every built-in method is registered in one explicit place, :func:`_register_builtin` at the end of
this module: the interpolations directly, ``self`` and ``dip`` through thin wrappers that import
:mod:`medsr.infer.selfsupervised` (and so torch) only when run. Nothing registers as a side
effect of importing another package, and nothing is scanned; third-party code may add methods
with :func:`register_method`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from medsr.errors import MedsrError
from medsr.progress import ProgressSink
from medsr.volume import TargetGrid, Volume

__all__ = [
    "INTERPOLATION_METHODS",
    "PICTURE_MODEL",
    "MethodEntry",
    "MethodOptions",
    "TargetGrid",
    "UpscaleMethod",
    "available_methods",
    "default_method",
    "get_method",
    "picture_default",
    "register_method",
]

MethodKind = Literal["interpolation", "self-supervised", "network"]

#: The interpolation baselines of :mod:`medsr.interpolate` (review section 2.1).
INTERPOLATION_METHODS: tuple[str, ...] = ("nearest", "linear", "cubic", "bspline", "lanczos")


@dataclass
class MethodOptions:
    """Options every method receives; method-specific ones go in ``extra``.

    Attributes:
        device: "cpu" or "cuda" (for methods that run networks).
        seed: random seed (self-SR and DIP are stochastic); None for non-deterministic.
        budget: rough compute budget in seconds for iterative methods (None: the method's default).
        progress: the :class:`medsr.progress.ProgressSink` the method reports to (the engine
            passes its own when None).
        extra: method-specific options (``--option key=value`` on the command line), as strings or
            already-typed values; a method documents the keys it reads and ignores none silently
            (unknown keys should raise :class:`MedsrError`).
    """

    device: str = "cpu"
    seed: int | None = 0
    budget: float | None = None
    progress: ProgressSink | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class UpscaleMethod(Protocol):
    """``method(volume, target, options) -> (volume_on_target_grid, info_dict)``."""

    def __call__(
        self, volume: Volume, target: TargetGrid, options: MethodOptions
    ) -> tuple[Volume, dict[str, Any]]: ...


@dataclass(frozen=True)
class MethodEntry:
    """A registered method with a one-line description for ``--help`` and the sidecar."""

    name: str
    fn: UpscaleMethod
    description: str
    kind: MethodKind


@dataclass
class MethodRegistry:
    """name -> :class:`MethodEntry`. The package keeps one instance, filled at import time."""

    entries: dict[str, MethodEntry] = field(default_factory=dict)

    def register(
        self,
        name: str,
        fn: UpscaleMethod,
        *,
        description: str = "",
        kind: MethodKind = "interpolation",
    ) -> UpscaleMethod:
        if name in self.entries and self.entries[name].fn is not fn:
            raise ValueError(f"upscale method {name!r} registered twice")
        self.entries[name] = MethodEntry(name, fn, description, kind)
        return fn

    def get(self, name: str) -> MethodEntry:
        entry = self.entries.get(name)
        if entry is None:
            known = ", ".join(self.names())
            raise MedsrError(
                f"unknown method {name!r}; choose one of: {known} (or a trained network)"
            )
        return entry

    def names(self) -> list[str]:
        return list(self.entries)


_REGISTRY = MethodRegistry()


def register_method(
    name: str, fn: UpscaleMethod, *, description: str = "", kind: MethodKind = "interpolation"
) -> UpscaleMethod:
    """Make ``fn`` available as ``medsr upscale --method name`` (idempotent for the same fn)."""
    return _REGISTRY.register(name, fn, description=description, kind=kind)


def get_method(name: str) -> MethodEntry:
    """The registered method ``name`` (importing its provider if needed); MedsrError if unknown."""
    return _REGISTRY.get(name)


def available_methods() -> list[str]:
    """Names of every method that can run here (interpolations first)."""
    return _REGISTRY.names()


def default_method() -> str:
    """``self``: self-supervised SR needs no training data (review section 4.2.2)."""
    return "self"


#: the network shipped in the package that a 2D picture gets by default: the best Set5 score of
#: the shipped networks (README, "Shipped weights"); self-SR needs a 3D scan with thick slices
PICTURE_MODEL = "edsr"


def picture_default(factors: tuple[float, ...]) -> tuple[str | None, str, str]:
    """What a 2D picture (``(C, H, W, 1)``) is up-scaled with when no method is asked:
    ``(shipped weights or None, what, why)``.

    Self-SR learns to restore thick slices from a scan's fine planes, so it needs a 3D scan; a
    picture gets :data:`PICTURE_MODEL`'s shipped weights at the scale of its in-plane factor (its
    two factors equal and above 1: the scale rounded up, at most x4, and cubic interpolation onto
    the exact grid, :mod:`medsr.infer.pipeline`), else cubic B-spline interpolation (factors
    that differ between the axes fit no shipped network). ``what`` names the choice for messages;
    ``why`` is the sidecar note.
    """
    from medsr.models.shipped import shipped_scales, shipped_weights

    fh, fw = (float(f) for f in factors[:2])
    scales = shipped_scales(PICTURE_MODEL)
    if abs(fh - fw) < 1e-6 and fh > 1.0 + 1e-6 and scales:
        scale = min(max(scales), max(min(scales), math.ceil(fh - 1e-6)))
        weights = shipped_weights(PICTURE_MODEL, scale)
        if weights is not None:
            what = f"{PICTURE_MODEL} x{scale} (shipped)"
            return str(weights), what, (
                f"a 2D picture: up-scaled with {what}, the default for pictures (self-SR needs a "
                "3D scan with thick slices); choose with --method or --model"
            )
    return None, "bspline", (
        f"a 2D picture with factors {fh:g},{fw:g}: up-scaled with cubic B-spline, the default when "
        "no shipped network fits (self-SR needs a 3D scan with thick slices); choose with --method"
    )


# ---------------------------------------------------------------------- interpolation methods
def _interpolation(method: str) -> UpscaleMethod:
    def run(
        volume: Volume, target: TargetGrid, options: MethodOptions
    ) -> tuple[Volume, dict[str, Any]]:
        from medsr.interpolate import zoom_array

        if options.extra:
            raise MedsrError(
                f"method {method} takes no options, got {', '.join(map(str, options.extra))}"
            )
        data = zoom_array(np.asarray(volume.data, dtype=np.float32), target.factors, method)
        if tuple(data.shape[1:]) != tuple(target.shape):  # the grid rule is shared; guard anyway
            raise RuntimeError(f"{method} produced {data.shape[1:]}, expected {target.shape}")
        return volume.with_data(data.astype(np.float32, copy=False), target.affine.copy()), {}

    run.__name__ = f"interpolate_{method}"
    run.__doc__ = f"{method} interpolation onto the target grid (medsr.interpolate.zoom_array)."
    return run


_DESCRIPTIONS = {
    "nearest": "nearest-neighbour interpolation",
    "linear": "(tri)linear interpolation",
    "cubic": "MATLAB bicubic (Keys a=-0.5) interpolation",
    "bspline": "cubic B-spline interpolation",
    "lanczos": "Lanczos-3 interpolation",
}


def _self_sr(
    volume: Volume, target: TargetGrid, options: MethodOptions
) -> tuple[Volume, dict[str, Any]]:
    """SMORE-style self-supervised SR (:func:`medsr.selfsr.smore.self_super_resolve`)."""
    from medsr.infer.selfsupervised import self_sr_method

    return self_sr_method(volume, target, options)


def _dip(
    volume: Volume, target: TargetGrid, options: MethodOptions
) -> tuple[Volume, dict[str, Any]]:
    """Deep Image Prior (:func:`medsr.selfsr.dip.deep_image_prior`)."""
    from medsr.infer.selfsupervised import dip_method

    return dip_method(volume, target, options)


def _register_builtin(registry: MethodRegistry) -> None:
    """The one place where medsr's own methods are registered."""
    for name in INTERPOLATION_METHODS:
        registry.register(
            name, _interpolation(name), description=_DESCRIPTIONS[name], kind="interpolation"
        )
    registry.register(
        "self",
        _self_sr,
        description="self-supervised SR of the thick-slice axis (SMORE; trains on the scan itself)",
        kind="self-supervised",
    )
    registry.register(
        "dip",
        _dip,
        description="Deep Image Prior (slow: optimises a network per scan)",
        kind="self-supervised",
    )


_register_builtin(_REGISTRY)
