"""ONNX export of a trained network and inference with onnxruntime.

``medsr export --weights W --format onnx -o M.onnx`` writes a file that stands alone: the
``model.json`` metadata (architecture, scale, dims, normalisation) is embedded as the ONNX
``metadata_props`` entry ``"medsr"``, so ``medsr upscale --onnx M.onnx`` needs nothing else.
Batch and spatial axes are dynamic (the graph comes from :func:`medsr.models.onnx.export_onnx`),
because sliding-window tiles and slices vary between scans.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError

__all__ = ["METADATA_KEY", "export_onnx", "onnx_forward", "read_onnx_metadata"]

#: Key of the ONNX ``metadata_props`` entry holding the model.json content.
METADATA_KEY = "medsr"


def export_onnx(
    weights: str | Path,
    out: str | Path,
    *,
    opset: int = 17,
    overwrite: bool = False,
    check: bool = True,
    probe: int | None = None,
) -> dict[str, Any]:
    """Export ``weights`` (+ model.json) to ``out`` with the metadata embedded, and check it.

    The graph comes from :func:`medsr.models.onnx.export_onnx` (dynamic batch/spatial axes); this
    adds the ``"medsr"`` metadata entry and checks that onnxruntime agrees with PyTorch on a
    random input of another size than the tracing one (which also proves the axes are dynamic).

    Args:
        weights: ``model.safetensors`` with ``model.json`` beside it (or their folder).
        out: the ``.onnx`` file to write (atomically: nothing appears unless all steps pass).
        opset: ONNX opset (>= 17).
        overwrite: replace an existing ``out``.
        check: compare onnxruntime with PyTorch and refuse a difference above 1e-4 (relative to
            the output's magnitude when it exceeds 1).
        probe: spatial size of the tracing input (default 24 in 2D, 12 in 3D).

    Returns:
        ``{"path", "opset", "max_abs_diff"}`` (the difference is None when ``check`` is False).
    """
    import onnx
    import torch

    from medsr.io.atomic import atomic_path
    from medsr.models.io import load_weights
    from medsr.models.onnx import export_onnx as export_graph

    out = Path(out)
    if out.suffix != ".onnx":
        raise MedsrError(f"the ONNX file name should end with .onnx, got {out.name}")
    if out.exists() and not overwrite:
        raise MedsrError(f"{out} already exists; pass --overwrite or choose another name")
    if not Path(weights).exists():
        raise MedsrError(f"weights {weights} not found; give the .safetensors file written by training")
    model, meta = load_weights(weights)
    model = model.eval().cpu()
    dims, channels = int(meta["dims"]), int(meta["in_channels"])
    size = probe or (24 if dims == 2 else 12)
    diff = None
    with atomic_path(out) as tmp:
        export_graph(model, tmp, (1, channels) + (size,) * dims, opset=opset)
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key = METADATA_KEY
        entry.value = json.dumps(meta, default=str)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        if check:
            forward, _ = onnx_forward(tmp)
            rng = np.random.default_rng(0)
            x = rng.standard_normal((2, channels) + (size + 3,) * dims).astype(np.float32)
            with torch.inference_mode():
                ref = model(torch.from_numpy(x))
                ref = (ref[-1] if isinstance(ref, (list, tuple)) else ref).numpy()
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
                    "architecture does not export faithfully (try another --opset)"
                )
    return {"path": str(out), "opset": opset, "max_abs_diff": diff}


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The model.json dict embedded in an ONNX file by :func:`export_onnx`."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise MedsrError(f"ONNX file {path} not found; give the .onnx file written by `medsr export`")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise MedsrError(f"cannot read {path} as ONNX ({type(exc).__name__}); re-export it") from None
    for entry in proto.metadata_props:
        if entry.key == METADATA_KEY:
            return dict(json.loads(entry.value))
    raise MedsrError(
        f"{path} has no medsr metadata (scale, dims, normalisation); export it with `medsr export`"
    )


def onnx_forward(path: str | Path, *, device: str = "cpu") -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """An onnxruntime session as a function on float32 batches, and the embedded metadata."""
    import onnxruntime as ort

    meta = read_onnx_metadata(path)
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise MedsrError("--device cuda asked for, but onnxruntime has no CUDA provider; use --device cpu")
        providers.insert(0, "CUDAExecutionProvider")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    name = session.get_inputs()[0].name

    def forward(batch: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {name: np.ascontiguousarray(batch, dtype=np.float32)})[0])

    return forward, meta
