"""``parse_degradation``: a small text grammar for degradations (used by ``medsr degrade``).

Grammar::

    spec   := stage ("+" stage)*                 e.g.  bd:sigma=1.6+rician:0.02
    stage  := name [":" arg ("," arg)*]
    arg    := key "=" value  |  value            (a bare value sets the stage's main parameter)

Stages (aliases in brackets; main parameter first):

=================  ==========================================================================
``bicubic`` (bi)   MATLAB bicubic, the "BI" model. ``kernel=cubic|linear|lanczos3``,
                   ``antialias=true|false``.
``bd`` (blur)      Gaussian blur + decimation, the "BD" model (RDN). ``sigma`` (HR voxels,
                   default 1.6 s/3), ``truncate`` (sigmas, default 1.875 = RDN's 7x7).
``kspace`` (fft)   central k-space. ``window=none|hamming|tukey``, ``alpha`` (Tukey),
                   ``output=real|magnitude``.
``thick`` (slice)  thick slices along one axis. ``profile=gaussian|rect|FILE`` (FILE: one
                   weight per line, at HR voxel spacing), ``axis=0|1|2``, ``fwhm``, ``gap``
                   (HR voxels).
``gaussian``       additive Gaussian noise. ``sigma`` (fraction of the intensity range unless
                   ``relative=false``).
``rician``         Rician (MR magnitude) noise. ``sigma``, ``relative``.
``poisson``        photon noise. ``counts`` (photons at the maximum, or I0 per ray for
                   ``model=ct``), ``model=scaled|ct``, ``path`` (mm, ct).
=================  ==========================================================================

The factors go to the one resolution stage (bicubic, bd, kspace or thick); noise stages keep the
grid. ``thick`` takes its axis from ``axis=`` or from the one factor that is not 1 (``1,1,4`` ->
axis 2); with equal factors it uses axis 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from medsr.degrade.base import Degradation, FactorsLike
from medsr.degrade.bicubic import BicubicDown
from medsr.degrade.blur import BlurDown
from medsr.degrade.kspace import KSpaceTruncation
from medsr.degrade.noise import GaussianNoise, PoissonNoise, RicianNoise
from medsr.degrade.pipeline import Pipeline
from medsr.degrade.slice_profile import ThickSlice
from medsr.errors import MedsrError
from medsr.volume import parse_triple

__all__ = ["SPEC_HELP", "STAGES", "parse_degradation", "parse_stage"]

SPEC_HELP = (
    "NAME[:ARGS][+NAME[:ARGS]...]; resolution: bicubic | bd[:sigma=1.6] | "
    "kspace[:window=hamming|tukey,output=magnitude] | thick[:profile=gaussian|rect|FILE,axis=2,"
    "fwhm=F,gap=G]; noise: gaussian:SIGMA | rician:SIGMA (fraction of the intensity range) | "
    "poisson:COUNTS[,model=ct]. Example: bd:sigma=1.6+rician:0.02"
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _float(stage: str, key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise MedsrError(f"{stage}: {key} must be a number, got {value!r}") from None


def _bool(stage: str, key: str, value: str) -> bool:
    v = value.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise MedsrError(f"{stage}: {key} must be true or false, got {value!r}")


def _choice(stage: str, key: str, value: str, choices: tuple[str, ...]) -> str:
    v = value.lower()
    if v not in choices:
        raise MedsrError(f"{stage}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return v


def _profile(value: str) -> str | np.ndarray:
    if value.lower() in ("gaussian", "rect"):
        return value.lower()
    path = Path(value).expanduser()
    if not path.is_file():
        raise MedsrError(
            f"thick: profile must be gaussian, rect or a text file of weights; {value!r} is "
            "not a file"
        )
    try:
        return np.loadtxt(path, ndmin=1, dtype=np.float64).ravel()
    except ValueError as exc:
        raise MedsrError(
            f"thick: cannot read the profile {path} ({exc}); give one number per line"
        ) from None


# stage name -> (canonical name, main parameter, {key: converter})
_Conv = Callable[[str, str, str], Any]
STAGES: dict[str, tuple[str, str | None, dict[str, _Conv]]] = {
    "bicubic": ("bicubic", None, {"kernel": lambda s, k, v: v.lower(), "antialias": _bool}),
    "bd": ("bd", "sigma", {"sigma": _float, "truncate": _float}),
    "kspace": (
        "kspace",
        "window",
        {
            "window": lambda s, k, v: _choice(s, k, v, ("none", "hamming", "tukey")),
            "alpha": _float,
            "output": lambda s, k, v: _choice(s, k, v, ("real", "magnitude")),
        },
    ),
    "thick": (
        "thick",
        "profile",
        {
            "profile": lambda s, k, v: _profile(v),
            "axis": lambda s, k, v: int(_choice(s, k, v, ("0", "1", "2"))),
            "fwhm": _float,
            "gap": _float,
        },
    ),
    "gaussian": ("gaussian", "sigma", {"sigma": _float, "relative": _bool}),
    "rician": ("rician", "sigma", {"sigma": _float, "relative": _bool}),
    "poisson": (
        "poisson",
        "counts",
        {
            "counts": _float,
            "model": lambda s, k, v: _choice(s, k, v, ("scaled", "ct")),
            "reference": _float,
            "path": _float,
        },
    ),
}
_ALIASES = {
    "bi": "bicubic",
    "blur": "bd",
    "fft": "kspace",
    "slice": "thick",
    "noise": "gaussian",
    "awgn": "gaussian",
}
_RESOLUTION = {"bicubic", "bd", "kspace", "thick"}


def parse_stage(text: str) -> tuple[str, dict[str, Any]]:
    """``"bd:sigma=1.6"`` -> ``("bd", {"sigma": 1.6})`` (names and keys checked)."""
    name, _, rest = text.strip().partition(":")
    key_name = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key_name not in STAGES:
        names = ", ".join(sorted(STAGES))
        raise MedsrError(
            f"unknown degradation {name.strip()!r}; choose one of {names}"
        )
    canonical, main, convs = STAGES[key_name]
    kwargs: dict[str, Any] = {}
    for arg in (a.strip() for a in rest.split(",")) if rest.strip() else ():
        if not arg:
            continue
        if "=" in arg:
            key, _, value = arg.partition("=")
            key = key.strip().lower()
        elif main is not None and main not in kwargs:
            key, value = main, arg
        else:
            raise MedsrError(f"{canonical}: cannot read {arg!r}; write key=value")
        if key not in convs:
            raise MedsrError(f"{canonical}: unknown option {key!r}; options are {', '.join(convs)}")
        kwargs[key] = convs[key](canonical, key, value.strip())
    return canonical, kwargs


def _thick(kwargs: dict[str, Any], factors: tuple[float, ...]) -> ThickSlice:
    axis = kwargs.pop("axis", None)
    isotropic = len(set(factors)) == 1
    if axis is None:
        non_unit = [a for a, s in enumerate(factors) if s != 1]
        if len(non_unit) == 1:
            axis = non_unit[0]
        elif isotropic:
            axis = 2
        else:
            raise MedsrError(
                f"thick slices act along one axis but the factors {factors} change several; "
                "give factors like 1,1,4 or say thick:axis=2"
            )
    elif not isotropic and any(s != 1 for a, s in enumerate(factors) if a != axis):
        raise MedsrError(
            f"thick:axis={axis} with factors {factors}: the other axes must have factor 1"
        )
    return ThickSlice(
        axis,
        factors[axis],
        kwargs.pop("profile", "gaussian"),
        fwhm=kwargs.pop("fwhm", None),
        gap=kwargs.pop("gap", 0.0),
    )


def _build(name: str, kwargs: dict[str, Any], factors: tuple[float, ...]) -> Degradation:
    if name == "bicubic":
        return BicubicDown(factors, **kwargs)
    if name == "bd":
        return BlurDown(factors, **kwargs)
    if name == "kspace":
        return KSpaceTruncation(factors, **kwargs)
    if name == "thick":
        return _thick(dict(kwargs), factors)
    if name in ("gaussian", "rician"):
        if "sigma" not in kwargs:
            raise MedsrError(f"{name} noise needs a level, e.g. {name}:0.02")
        cls = GaussianNoise if name == "gaussian" else RicianNoise
        return cls(kwargs["sigma"], relative=kwargs.get("relative", True))
    if "counts" not in kwargs:
        raise MedsrError(
            "poisson noise needs a photon count, e.g. poisson:1000 or poisson:1e5,model=ct"
        )
    extra: dict[str, Any] = {"model": kwargs.get("model", "scaled")}
    if "reference" in kwargs:
        extra["reference"] = kwargs["reference"]
    if "path" in kwargs:
        extra["path_mm"] = kwargs["path"]
    return PoissonNoise(kwargs["counts"], **extra)


def parse_degradation(spec: str, factors: FactorsLike | str = 1.0) -> Degradation:
    """Build the degradation a spec string describes (see the module docstring for the grammar).

    Args:
        spec: e.g. ``"bicubic"``, ``"bd:sigma=1.6"``, ``"kspace:window=hamming"``,
            ``"thick:axis=2,profile=gaussian,gap=0.5"``, ``"bicubic+rician:0.02"``.
        factors: down-sampling factors (one number, a per-axis tuple, or ``"1,1,4"``) for the
            resolution stage.

    Returns:
        One operator, or a :class:`Pipeline` when the spec has several stages.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise MedsrError(
            f"empty degradation spec; e.g. bicubic, bd:sigma=1.6 or thick+rician:0.02 ({SPEC_HELP})"
        )
    factors_t = parse_triple(factors, 3, name="factors")  # type: ignore[arg-type]
    parsed = [parse_stage(part) for part in spec.split("+")]
    n_resolution = sum(name in _RESOLUTION for name, _ in parsed)
    if n_resolution > 1:
        raise MedsrError(
            f"{spec!r} has {n_resolution} resolution stages; use one of bicubic, bd, kspace, thick "
            "(combine them in Python with medsr.degrade.Pipeline)"
        )
    if n_resolution == 0 and any(s != 1 for s in factors_t):
        raise MedsrError(
            f"{spec!r} only adds noise but the factors are {factors_t}; add a resolution stage "
            "(e.g. bicubic+" + spec + ") or use factors 1"
        )
    stages = [_build(name, kwargs, factors_t) for name, kwargs in parsed]
    return stages[0] if len(stages) == 1 else Pipeline(stages)
