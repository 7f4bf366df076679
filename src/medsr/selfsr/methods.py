"""``medsr upscale --method self`` and ``--method dip``: adapters to :mod:`medsr.infer.methods`.

They turn :class:`~medsr.infer.methods.MethodOptions` (``--budget`` seconds, ``--seed``,
``--device`` and ``--option key=value`` pairs) into :class:`SelfSRConfig` / :class:`DIPConfig`.
Option keys (unknown keys raise :class:`MedsrError`):

``self``: ``arch`` (network: ``selfsr`` or a 2D registry name), ``preset``, ``profile``
(``gaussian``, ``rect`` or a file of weights), ``slice_thickness`` (mm), ``slice_gap`` (mm),
``iterations``, ``budget`` (e.g. ``800it,120s``), ``patch``, ``batch``, ``lr``, ``orientations``
(1|2), ``anti_alias`` (auto|true|false), ``threads``.

``dip``: ``iterations``, ``budget``, ``width``, ``depth``, ``skip``, ``lr``, ``operator``
(auto|thick-slice|bicubic), ``profile``, ``slice_thickness``, ``slice_gap``, ``noise_std``,
``patience``, ``ema``, ``threads``.
"""

from __future__ import annotations

from typing import Any, Callable

from medsr.errors import MedsrError
from medsr.selfsr.config import Budget, SelfSRConfig, parse_budget
from medsr.selfsr.profile import SliceProfile, load_profile_file

__all__ = ["self_sr_method", "dip_method", "profile_from_options", "budget_from_options"]


def _bool(value: Any) -> bool | str:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text == "auto":
        return "auto"
    raise MedsrError(f"expected true, false or auto, got {value!r}")


def _typed(
    extra: dict[str, Any], spec: dict[str, Callable[[Any], Any]], method: str
) -> dict[str, Any]:
    unknown = sorted(set(extra) - set(spec))
    if unknown:
        raise MedsrError(
            f"--method {method} does not know the option(s) {', '.join(unknown)}; "
            f"valid keys: {', '.join(sorted(spec))}"
        )
    out: dict[str, Any] = {}
    for key, value in extra.items():
        try:
            out[key] = spec[key](value)
        except MedsrError:
            raise
        except (TypeError, ValueError):
            raise MedsrError(f"option {key}={value!r} of --method {method} is not valid") from None
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
            raise MedsrError("give the budget once: either --budget/iterations or budget=...")
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
    "batch": int,
    "lr": float,
    "orientations": int,
    "anti_alias": _bool,
    "threads": int,
}


def self_sr_method(volume: Any, target: Any, options: Any) -> tuple[Any, dict[str, Any]]:
    """The ``self`` upscale method: :func:`medsr.selfsr.smore.self_super_resolve` on ``target``."""
    from medsr.selfsr.smore import self_super_resolve

    opts = _typed(dict(options.extra), _SELF_KEYS, "self")
    default = SelfSRConfig().budget
    config = SelfSRConfig(
        profile=profile_from_options(
            opts.pop("profile", None),
            opts.pop("slice_thickness", None),
            opts.pop("slice_gap", None),
        ),
        budget=budget_from_options(
            options.budget, opts.pop("iterations", None), opts.pop("budget", None), default
        ),
        seed=options.seed,
        device=options.device,
        **opts,
    )
    out, info = self_super_resolve(volume, target.factors, config, progress=options.progress)
    _check_grid(out, target)
    return out, info


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


def dip_method(volume: Any, target: Any, options: Any) -> tuple[Any, dict[str, Any]]:
    """The ``dip`` upscale method: :func:`medsr.selfsr.dip.deep_image_prior` onto ``target``."""
    from medsr.selfsr.dip import DIPConfig, deep_image_prior

    opts = _typed(dict(options.extra), _DIP_KEYS, "dip")
    config = DIPConfig(
        profile=profile_from_options(
            opts.pop("profile", None),
            opts.pop("slice_thickness", None),
            opts.pop("slice_gap", None),
        ),
        budget=budget_from_options(
            options.budget,
            opts.pop("iterations", None),
            opts.pop("budget", None),
            DIPConfig().budget,
        ),
        seed=options.seed,
        device=options.device,
        **opts,
    )
    out, info = deep_image_prior(volume, target.factors, config, progress=options.progress)
    _check_grid(out, target)
    return out, info


def _check_grid(out: Any, target: Any) -> None:
    import numpy as np

    if tuple(out.shape) != tuple(target.shape) or not np.allclose(
        out.affine, target.affine, atol=1e-6
    ):
        raise RuntimeError(f"self-SR produced grid {out.shape}, expected {target.shape}")
