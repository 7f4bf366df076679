"""Trained weights on disk: ``model.safetensors`` + ``model.json``.

The tensors go to a safetensors file (no pickle: loading a file never runs code); everything
needed to rebuild the network -- registry name, preset, builder options, scale, dims, input
channels -- and to use it -- the intensity normalisation, training data, metrics -- goes to a JSON
sidecar beside it. :func:`load_weights` rebuilds the network with
:func:`medsr.models.create_model` and loads the tensors strictly.

Layout: ``save_weights(model, "run/")`` writes ``run/model.safetensors`` and ``run/model.json``;
``save_weights(model, "net.safetensors")`` writes ``net.safetensors`` and ``net.json``.
Both files are written atomically (:func:`medsr.io.atomic.atomic_path`), the JSON last.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.jsonutil import to_jsonable, write_json

__all__ = [
    "FORMAT",
    "check_meta",
    "load_weights",
    "read_meta",
    "save_weights",
    "weights_paths",
]

FORMAT = "medsr-weights"
FORMAT_VERSION = 1


def weights_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(tensors file, json file)`` for a folder, a ``.safetensors`` file or a ``.json`` file."""
    p = Path(path)
    if p.suffix == ".safetensors":
        return p, p.with_suffix(".json")
    if p.suffix == ".json":
        return p.with_suffix(".safetensors"), p
    return p / "model.safetensors", p / "model.json"


def save_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    name: str,
    preset: str = "paper",
    kwargs: Mapping[str, Any] | None = None,
    scale: float | Sequence[int | float] | None = None,
    dims: int | None = None,
    in_channels: int | None = None,
    normalisation: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write the model's state dict as safetensors and its description as JSON.

    Args:
        model: the network (any ``nn.Module`` built by ``create_model(name, ...)``).
        path: a folder (created if missing) or a ``.safetensors`` file name.
        name, preset, kwargs: how to rebuild it with ``create_model(name, preset=..., **kwargs)``.
        scale, dims, in_channels: default to the model's attributes.
        normalisation: e.g. ``{"kind": "percentile", "params": {...}}`` -- how inputs were scaled.
        extra: anything else worth keeping (training data, metrics, ...).

    Returns:
        ``(tensors path, json path)``.
    """
    from safetensors.torch import save_file

    from medsr.io.atomic import atomic_path

    tensors_path, json_path = weights_paths(path)
    if Path(path).suffix not in (".safetensors", ".json"):
        Path(path).mkdir(parents=True, exist_ok=True)
    scale = getattr(model, "scale", None) if scale is None else scale
    dims = getattr(model, "dims", None) if dims is None else dims
    in_channels = getattr(model, "in_channels", None) if in_channels is None else in_channels
    if scale is None or dims is None or in_channels is None:
        raise MedsrError(
            "save_weights needs scale, dims and in_channels (the model has no such attributes)"
        )
    if isinstance(scale, (int, float)):
        scale = (scale,) * int(dims)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": name,
        "preset": preset,
        "kwargs": to_jsonable(dict(kwargs or {}), strict=True),
        "scale": to_jsonable(list(scale), strict=True),
        "dims": int(dims),
        "in_channels": int(in_channels),
        "normalisation": (
            to_jsonable(dict(normalisation), strict=True) if normalisation is not None else None
        ),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "extra": to_jsonable(dict(extra or {}), strict=True),
    }
    try:
        from medsr import __version__

        meta["medsr_version"] = __version__
    except ImportError:  # pragma: no cover - the package always has a version
        pass
    with atomic_path(tensors_path) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT, "architecture": name})
    write_json(json_path, meta, strict=True)
    return tensors_path, json_path


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``model.json`` beside a weights file (or in a weights folder), checked."""
    if Path(path).is_file() and Path(path).suffix not in (".safetensors", ".json"):
        raise MedsrError(
            f"{path} is not a weights file; give model.safetensors (with model.json beside it) or "
            "their folder"
        )
    tensors_path, json_path = weights_paths(path)
    if not json_path.is_file():
        if not tensors_path.is_file() and not Path(path).exists():
            raise MedsrError(
                f"weights {path} not found; give a folder with model.safetensors + model.json"
            )
        raise MedsrError(
            f"{json_path} is missing; medsr needs the model.json written beside the weights by "
            "save_weights (or `medsr train`) to rebuild the network"
        )
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MedsrError(
            f"{json_path} is not valid JSON ({exc}); restore it from the training run"
        ) from None
    check_meta(meta, json_path)
    return meta


def _field_error(where: Any, key: str, value: Any, expected: str) -> MedsrError:
    return MedsrError(
        f"{where}: {key!r} is {json.dumps(value)[:60]}, expected {expected}; restore model.json "
        "from the training run (or fix that field)"
    )


def check_meta(meta: Any, where: Any) -> None:
    """Refuse a model description whose fields have the wrong type or range (a ``dims`` of
    ``"two"``, a scale of 0, kwargs that are no mapping) with one line naming the field.

    Args:
        meta: the parsed ``model.json`` (or the ``medsr`` metadata of an ONNX file).
        where: the file, for the message.
    """
    if not isinstance(meta, dict):
        raise MedsrError(f"{where} holds no JSON object; it is not a medsr model.json")
    missing = [k for k in ("architecture", "scale", "dims", "in_channels") if k not in meta]
    if missing:
        raise MedsrError(f"{where} lacks {', '.join(missing)}; it is not a medsr model.json")

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def positive(value: Any) -> bool:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        )

    if not isinstance(meta["architecture"], str) or not meta["architecture"]:
        raise _field_error(where, "architecture", meta["architecture"], "a model name")
    if not whole(meta["dims"]) or meta["dims"] not in (2, 3):
        raise _field_error(where, "dims", meta["dims"], "2 or 3")
    if not whole(meta["in_channels"]) or meta["in_channels"] < 1:
        raise _field_error(where, "in_channels", meta["in_channels"], "a whole number >= 1")
    scale = meta["scale"]
    if not (
        positive(scale)
        or (isinstance(scale, list) and 1 <= len(scale) <= 3 and all(map(positive, scale)))
    ):
        raise _field_error(where, "scale", scale, "a number > 0 or one per axis")
    if "preset" in meta and not isinstance(meta["preset"], str):
        raise _field_error(where, "preset", meta["preset"], "a preset name")
    if meta.get("kwargs") is not None and not isinstance(meta["kwargs"], dict):
        raise _field_error(where, "kwargs", meta["kwargs"], "an object of builder options")
    norm = meta.get("normalisation")
    if norm is not None and not isinstance(norm, (dict, str)):
        raise _field_error(where, "normalisation", norm, "an object {kind, params}")


def load_weights(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network described by ``model.json`` and load its safetensors weights.

    Args:
        path: a folder holding ``model.safetensors`` + ``model.json``, or either file.
        device: where to put the tensors.

    Returns:
        ``(model in eval mode, the JSON metadata as a dict)``.

    Raises:
        MedsrError: missing files, a JSON that is not medsr's, unknown architecture, or tensors
            whose names/shapes do not match the rebuilt network.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from medsr.models import create_model

    meta = read_meta(path)
    tensors_path, _ = weights_paths(path)
    if not tensors_path.is_file():
        raise MedsrError(
            f"{tensors_path} is missing; the weights file must sit beside its model.json"
        )
    scale = meta["scale"]
    scale = tuple(scale) if isinstance(scale, list) else scale
    model = create_model(
        meta["architecture"],
        scale=scale,
        dims=int(meta["dims"]),
        in_channels=int(meta["in_channels"]),
        preset=meta.get("preset", "paper"),
        **dict(meta.get("kwargs") or {}),
    )
    try:
        state = load_file(str(tensors_path), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise MedsrError(
            f"{tensors_path} is not a readable safetensors file ({exc}); restore it from the "
            "training run"
        ) from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            detail.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise MedsrError(
            f"{tensors_path} does not fit {meta['architecture']} as described in model.json: "
            f"{'; '.join(detail)} tensors; check that the two files belong together"
        )
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise MedsrError(
                f"{tensors_path}: tensor {key} has shape {tuple(tensor.shape)} but "
                f"{meta['architecture']} expects {tuple(expected[key].shape)}; check the "
                "preset/kwargs in model.json"
            )
    model.load_state_dict(state, strict=True)
    model.to(device)
    model.eval()
    return model, meta
