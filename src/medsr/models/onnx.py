"""ONNX: the one export of a network and the one way to open an onnxruntime session.

:func:`export_onnx` uses PyTorch's TorchScript-based exporter (``dynamo=False``): the newer
exporter needs ``onnxscript``, which medsr does not depend on. Opset 17. The spatial axes (and the
batch axis) are dynamic by default, so one file serves any image or tile size; every medsr block
is written with reshape/permute/conv so that this holds -- except a pre-upsampling layer with a
non-integer factor, whose interpolation matrix depends on the size: such models are exported with
fixed spatial sizes (a warning says so). ``metadata`` is embedded as the ONNX ``metadata_props``
entry ``"medsr"`` (:data:`METADATA_KEY`): :func:`export_weights` stores the ``model.json`` of a
trained network there, so an exported file stands alone (scale, dims, normalisation).

Running a file: :func:`open_session` (the only place a session is created), :func:`onnx_forward`
(a function on float32 batches + the embedded metadata, what ``Predictor.from_onnx`` uses) and
:func:`onnx_predict` (one call on one array).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from medsr.errors import MedsrError, OptionError

__all__ = [
    "DEFAULT_OPSET",
    "METADATA_KEY",
    "check_onnx",
    "export_onnx",
    "export_weights",
    "onnx_forward",
    "onnx_predict",
    "open_session",
    "read_onnx_metadata",
]

DEFAULT_OPSET = 17

#: Key of the ONNX ``metadata_props`` entry holding the model.json content.
METADATA_KEY = "medsr"


def _has_fixed_size_layers(model: nn.Module) -> bool:
    from medsr.models.blocks.upsample import PreUpsample

    return any(
        isinstance(m, PreUpsample) and any(isinstance(f, float) for f in m.factors)
        for m in model.modules()
    )


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    example_shape: Sequence[int],
    *,
    dynamic_spatial: bool = True,
    opset: int = DEFAULT_OPSET,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Export ``model`` to ``path`` (written atomically).

    Args:
        model: a network mapping ``(N, C, *spatial)`` to ``(N, C, *spatial * scale)``.
        path: the ``.onnx`` file to write.
        example_shape: ``(N, C, *spatial)`` of the tracing input.
        dynamic_spatial: make batch and spatial axes dynamic (input names ``lr``, output ``sr``).
        opset: ONNX opset (17 or later).
        metadata: a JSON-serialisable dict (e.g. model.json) embedded as
            ``metadata_props["medsr"]``; the file is then checked with ``onnx.checker``.

    Returns:
        The path written.
    """
    from medsr.io.atomic import atomic_path

    if opset < 17:
        raise MedsrError(f"opset {opset} is too old; use 17 or later")
    newest = _newest_opset()
    if opset > newest:
        raise MedsrError(
            f"opset {opset} is newer than this PyTorch exports (up to {newest}); use 17 to {newest}"
        )
    shape = tuple(int(s) for s in example_shape)
    if len(shape) not in (4, 5) or min(shape) < 1:
        raise MedsrError(
            "example_shape must be (N, C, H, W) or (N, C, D, H, W) with positive sizes, got "
            f"{shape}"
        )
    if dynamic_spatial and _has_fixed_size_layers(model):
        warnings.warn(
            "the model interpolates by a non-integer factor: exporting with fixed spatial sizes "
            f"{shape[2:]}",
            stacklevel=2,
        )
        dynamic_spatial = False
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    example = torch.zeros(shape, dtype=torch.float32, device=device)
    names = [f"d{i}" for i in range(len(shape) - 2)]
    dynamic_axes = None
    if dynamic_spatial:
        axes = {0: "batch", **{2 + i: n for i, n in enumerate(names)}}
        dynamic_axes = {
            "lr": axes,
            "sr": {0: "batch", **{2 + i: f"{n}_out" for i, n in enumerate(names)}},
        }
    was_training = model.training
    model.eval()
    path = Path(path)
    try:
        with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                input_names=["lr"],
                output_names=["sr"],
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,
                do_constant_folding=True,
            )
            if metadata is not None:
                _embed_metadata(tmp, metadata)
    finally:
        model.train(was_training)
    return path


def _embed_metadata(path: Path, metadata: Mapping[str, Any]) -> None:
    import onnx

    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(dict(metadata), default=str)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def check_onnx(
    model: nn.Module, path: str | os.PathLike[str], shape: Sequence[int], *, seed: int = 0
) -> float:
    """Max ``|onnxruntime - PyTorch|`` on a random input of ``shape``; MedsrError when the shapes
    differ or the difference exceeds 1e-4 (relative to the output's magnitude when it exceeds 1).

    Run it on another size than the tracing one: it then also proves the axes are dynamic.
    """
    forward = _session_forward(open_session(path))
    x = np.random.default_rng(seed).standard_normal(tuple(int(s) for s in shape)).astype(np.float32)
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    with torch.inference_mode():
        ref = model(torch.from_numpy(x).to(device))
        ref = (ref[-1] if isinstance(ref, (list, tuple)) else ref).cpu().numpy()
    got = forward(x)
    if got.shape != ref.shape:
        raise MedsrError(
            f"the exported network gives shape {got.shape} instead of {ref.shape} on a new "
            "input size; this architecture does not export with dynamic shapes"
        )
    diff = float(np.max(np.abs(got - ref)))
    if diff > 1e-4 * max(1.0, float(np.max(np.abs(ref)))):
        raise MedsrError(
            f"onnxruntime differs from PyTorch by {diff:.3g} on the export check; this "
            "architecture does not export faithfully (try another opset)"
        )
    return diff


def export_weights(
    weights: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
    check: bool = True,
    probe: int | None = None,
) -> dict[str, Any]:
    """Export trained ``weights`` (+ model.json) to ``out`` with the model.json embedded.

    Args:
        weights: ``model.safetensors`` with ``model.json`` beside it (or their folder).
        out: the ``.onnx`` file to write (atomically: nothing appears unless all steps pass).
        opset: ONNX opset (>= 17).
        overwrite: replace an existing ``out``.
        check: :func:`check_onnx` on a batch of 2 at another size than the tracing one.
        probe: spatial size of the tracing input (default 24 in 2D, 12 in 3D).

    Returns:
        ``{"path", "opset", "max_abs_diff"}`` (the difference is None when ``check`` is False).
    """
    from medsr.io.atomic import atomic_path
    from medsr.models.io import load_weights

    out = Path(out)
    if out.suffix != ".onnx":
        raise MedsrError(f"the ONNX file name should end with .onnx, got {out.name}")
    if out.exists() and not overwrite:
        raise OptionError(f"{out} already exists; pass {{overwrite}} or choose another name")
    if not Path(weights).exists():
        raise MedsrError(
            f"weights {weights} not found; give the .safetensors file written by training"
        )
    model, meta = load_weights(weights)
    model = model.eval().cpu()
    dims, channels = int(meta["dims"]), int(meta["in_channels"])
    size = probe or (24 if dims == 2 else 12)
    diff = None
    with atomic_path(out) as tmp:
        export_onnx(model, tmp, (1, channels) + (size,) * dims, opset=opset, metadata=meta)
        if check:
            diff = check_onnx(model, tmp, (2, channels) + (size + 3,) * dims)
    return {"path": str(out), "opset": opset, "max_abs_diff": diff}


def read_onnx_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model.json dict embedded in an ONNX file by :func:`export_weights`."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise MedsrError(
            f"ONNX file {path} not found; give the .onnx file written by `medsr export`"
        )
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - onnx raises parser-specific errors
        raise MedsrError(
            f"cannot read {path} as ONNX ({type(exc).__name__}); re-export it"
        ) from None
    for entry in proto.metadata_props:
        if entry.key == METADATA_KEY:
            return dict(json.loads(entry.value))
    raise MedsrError(
        f"{path} has no medsr metadata (scale, dims, normalisation); export it with `medsr export`"
    )


def open_session(path: str | os.PathLike[str], *, device: str = "cpu") -> Any:
    """An ``onnxruntime.InferenceSession`` on ``path`` (CPU, or CUDA first for
    ``device="cuda..."``)."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise MedsrError(f"ONNX model {path} not found; give the .onnx file written by the export")
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise MedsrError(
                "device cuda asked for, but onnxruntime has no CUDA provider; use the CPU"
            )
        providers.insert(0, "CUDAExecutionProvider")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def _session_forward(session: Any) -> Callable[[np.ndarray], np.ndarray]:
    inp = session.get_inputs()[0]

    def forward(batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if x.ndim != len(inp.shape):
            raise MedsrError(
                f"the ONNX model expects a {len(inp.shape)}-D array (N, C, *spatial), got shape "
                f"{x.shape}"
            )
        return np.asarray(session.run(None, {inp.name: x})[0])

    return forward


def onnx_forward(
    path: str | os.PathLike[str], *, device: str = "cpu"
) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """A session on a file from :func:`export_weights` as a function on float32 batches, and the
    embedded metadata."""
    meta = read_onnx_metadata(path)
    return _session_forward(open_session(path, device=device)), meta


def onnx_predict(
    path: str | os.PathLike[str], array: np.ndarray, *, device: str = "cpu"
) -> np.ndarray:
    """Run an exported model on ``array`` (``(N, C, *spatial)``, cast to float32) with
    onnxruntime."""
    return _session_forward(open_session(path, device=device))(array)


def _newest_opset() -> int:
    """The newest opset the TorchScript-based ``torch.onnx.export`` writes (20 in PyTorch 2.x)."""
    try:
        from torch.onnx import _constants

        return int(getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", 20))
    except ImportError:  # pragma: no cover - private module moved
        return 20
