"""The ``self`` and ``dip`` methods of the engine: option adapters to :mod:`medsr.selfsr`.

Self-supervised SR (SMORE/SAA, review section 4.2.2) and Deep Image Prior (ref. [91]) are ordinary
methods of :mod:`medsr.infer.methods`, registered there (one explicit place) with a lazy import of
this module (it pulls in torch).

They turn :class:`~medsr.infer.methods.MethodOptions` (``--budget`` seconds, ``--seed``,
``--device`` and ``--option key=value`` pairs) into :class:`SelfSRConfig` / :class:`DIPConfig`.
Option keys (unknown keys raise :class:`MedsrError`):

``self``: ``arch`` (network: ``selfsr`` or a 2D registry name), ``preset``, ``profile``
(``gaussian``, ``rect`` or a file of weights), ``slice_thickness`` (mm), ``slice_gap`` (mm),
``iterations``, ``budget`` (e.g. ``800it,120s``), ``patch``, ``batch``, ``lr``, ``orientations``
(1|2), ``anti_alias`` (auto|true|false), ``saa_order`` (both|papers: SAA's anti-aliasing
network on one plane orientation, then SR on the other), ``threads``, ``model_kwargs`` (JSON
object of network keyword arguments), ``ensemble`` (true|false: flip self-ensemble at
inference, on by default), ``fusion`` (fba|mean: how the two orientations are fused; FBA as
SMORE), ``fusion_power`` (FBA's p), ``sampling`` (uniform|residual: training patches weighted
by the interpolation error),
``patch_shape`` (square|area: on thin planes, longer training windows of the same area),
``init`` (none|prior|auto: warm start from the shipped pre-trained network,
:mod:`medsr.selfsr.prior`), ``pair_axes`` (all|matched), ``patch_budget``, ``views``
(axes|diagonals), ``back_project`` (true|false), ``phase_align`` (true|false: training patches
and inference crops start on the slice period) and ``pair_phases`` (true|false: training planes
degraded at every position of the sampling lattice); both on by default. ``blend_prior``
(auto|none: the pre-trained prior averaged in on the planes no training pair resembles),
``pair_scales`` (auto|none: also pairs from the in-plane planes made isotropic at the coarse
spacing, on anisotropic in-plane grids), ``self_training`` (auto|none: on such grids, a second
pass trained on the first pass's output, :mod:`medsr.selfsr.selftrain`).

``dip``: ``iterations``, ``budget``, ``width``, ``depth``, ``skip``, ``lr``, ``operator``
(auto|thick-slice|cubic), ``profile``, ``slice_thickness``, ``slice_gap``, ``noise_std``,
``patience``, ``ema``, ``threads``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from medsr.degrade import SliceProfile, load_profile_file
from medsr.errors import MedsrError, OptionError
from medsr.progress import FractionReporter
from medsr.selfsr.config import Budget, SelfSRConfig, parse_budget

if TYPE_CHECKING:
    from medsr.infer.methods import MethodOptions
    from medsr.volume import TargetGrid, Volume

__all__ = ["budget_from_options", "dip_method", "profile_from_options", "self_sr_method"]


def _mapping(value: Any) -> dict[str, Any]:
    """A dict, or its JSON text (``model_kwargs={"channels": 32}`` on the command line)."""
    if isinstance(value, dict):
        return dict(value)
    import json

    try:
        parsed = json.loads(str(value))
    except json.JSONDecodeError:
        raise MedsrError(
            f'expected a JSON object such as {{"channels": 32}}, got {value!r}'
        ) from None
    if not isinstance(parsed, dict):
        raise MedsrError(f'expected a JSON object such as {{"channels": 32}}, got {value!r}')
    return parsed


def _bool(value: Any) -> bool | str:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text == "auto":
        return "auto"
    raise MedsrError(f"expected true, false or auto, got {value!r}")


def _flag(value: Any) -> bool:
    """true or false (not auto)."""
    flag = _bool(value)
    if flag == "auto":
        raise MedsrError(f"expected true or false, got {value!r}")
    return bool(flag)


def _typed(
    extra: dict[str, Any], spec: dict[str, Callable[[Any], Any]], method: str
) -> dict[str, Any]:
    unknown = sorted(set(extra) - set(spec))
    if unknown:
        raise MedsrError(
            f"method {method} does not know the option(s) {', '.join(unknown)}; "
            f"valid keys: {', '.join(sorted(spec))}"
        )
    out: dict[str, Any] = {}
    for key, value in extra.items():
        try:
            out[key] = spec[key](value)
        except MedsrError:
            raise
        except (TypeError, ValueError):
            raise MedsrError(f"option {key}={value!r} of method {method} is not valid") from None
    return out


def profile_from_options(
    kind: str | None, thickness: float | None, gap: float | None
) -> SliceProfile:
    """A :class:`SliceProfile` from ``--profile``/``--slice-thickness``/``--slice-gap`` values."""
    kind = (kind or "gaussian").strip()
    if thickness is not None and gap:
        raise MedsrError("give the slice thickness or the slice gap, not both")
    if kind in ("gaussian", "rect"):
        return SliceProfile(kind, thickness, gap or 0.0)  # type: ignore[arg-type]
    return SliceProfile("array", thickness, gap or 0.0, load_profile_file(kind))


def budget_from_options(
    seconds: float | None, iterations: int | None, text: str | None, default: Budget
) -> Budget:
    """Combine ``--budget`` (seconds), an ``iterations`` and a ``budget`` option string."""
    if text is not None:
        if seconds is not None or iterations is not None:
            raise OptionError("give the budget once: either {budget}/iterations or budget=...")
        return parse_budget(text)
    if seconds is None and iterations is None:
        return default
    return Budget(iterations=iterations, seconds=seconds)


_SELF_KEYS: dict[str, Callable[[Any], Any]] = {
    "arch": str,
    "preset": str,
    "profile": str,
    "slice_thickness": float,
    "slice_gap": float,
    "iterations": int,
    "budget": str,
    "patch": int,
    "patch_shape": str,
    "batch": int,
    "lr": float,
    "orientations": int,
    "anti_alias": _bool,
    "saa_order": str,
    "threads": int,
    "model_kwargs": _mapping,
    "ensemble": _flag,
    "fusion": str,
    "fusion_power": float,
    "sampling": str,
    "init": str,
    "pair_axes": str,
    "patch_budget": float,
    "views": str,
    "back_project": _flag,
    "phase_align": _flag,
    "precision": str,
    "members": int,
    "member_processes": int,
    "pair_phases": _flag,
    "blend_prior": str,
    "pair_scales": str,
    "self_training": str,
}


def _fractions(options: MethodOptions, name: str) -> FractionReporter | None:
    """The method's sink as the ``(fraction, message)`` callback its inner loops use."""
    return None if options.progress is None else FractionReporter(options.progress, name)


def _config_kwargs(
    options: MethodOptions, spec: dict[str, Callable[[Any], Any]], method: str, default: Budget
) -> dict[str, Any]:
    """Keyword arguments of a method's config: typed ``extra`` options, the slice profile, the
    budget (``budget`` seconds, ``iterations`` or a budget string), seed and device."""
    opts = _typed(dict(options.extra), spec, method)
    profile = profile_from_options(
        opts.pop("profile", None), opts.pop("slice_thickness", None), opts.pop("slice_gap", None)
    )
    budget = budget_from_options(
        options.budget, opts.pop("iterations", None), opts.pop("budget", None), default
    )
    return {
        "profile": profile,
        "budget": budget,
        "seed": options.seed,
        "device": options.device,
        **opts,
    }


def self_sr_method(
    volume: Volume, target: TargetGrid, options: MethodOptions
) -> tuple[Volume, dict[str, Any]]:
    """The ``self`` upscale method: :func:`medsr.selfsr.smore.self_super_resolve` on ``target``."""
    from medsr.selfsr.smore import self_super_resolve

    config = SelfSRConfig(**_config_kwargs(options, _SELF_KEYS, "self", SelfSRConfig().budget))
    return self_super_resolve(volume, target, config, progress=_fractions(options, "self"))


_DIP_KEYS: dict[str, Callable[[Any], Any]] = {
    "iterations": int,
    "budget": str,
    "width": int,
    "depth": int,
    "skip": int,
    "lr": float,
    "operator": str,
    "profile": str,
    "slice_thickness": float,
    "slice_gap": float,
    "noise_std": float,
    "patience": int,
    "ema": float,
    "threads": int,
}


def dip_method(
    volume: Volume, target: TargetGrid, options: MethodOptions
) -> tuple[Volume, dict[str, Any]]:
    """The ``dip`` upscale method: :func:`medsr.selfsr.dip.deep_image_prior` onto ``target``."""
    from medsr.selfsr.dip import DIPConfig, deep_image_prior

    config = DIPConfig(**_config_kwargs(options, _DIP_KEYS, "dip", DIPConfig().budget))
    return deep_image_prior(volume, target, config, progress=_fractions(options, "dip"))
