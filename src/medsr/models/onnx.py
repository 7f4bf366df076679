"""ONNX export of a network and inference with onnxruntime.

:func:`export_onnx` uses PyTorch's TorchScript-based exporter (``dynamo=False``): the newer
exporter needs ``onnxscript``, which medsr does not depend on. Opset 17. The spatial axes (and the
batch axis) are dynamic by default, so one file serves any image or tile size; every medsr block
is written with reshape/permute/conv so that this holds -- except a pre-upsampling layer with a
non-integer factor, whose interpolation matrix depends on the size: such models are exported with
fixed spatial sizes (a warning says so).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from medsr.errors import MedsrError

__all__ = ["DEFAULT_OPSET", "export_onnx", "onnx_predict"]

DEFAULT_OPSET = 17


def _has_fixed_size_layers(model: nn.Module) -> bool:
    from medsr.models.blocks.upsample import PreUpsample

    return any(isinstance(m, PreUpsample) and any(isinstance(f, float) for f in m.factors) for m in model.modules())


def export_onnx(model: nn.Module, path: str | os.PathLike[str], example_shape: Sequence[int], *,
                dynamic_spatial: bool = True, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``model`` to ``path`` (written atomically).

    Args:
        model: a network mapping ``(N, C, *spatial)`` to ``(N, C, *spatial * scale)``.
        path: the ``.onnx`` file to write.
        example_shape: ``(N, C, *spatial)`` of the tracing input.
        dynamic_spatial: make batch and spatial axes dynamic (input names ``lr``, output ``sr``).
        opset: ONNX opset (17 or later).

    Returns:
        The path written.
    """
    from medsr.io.atomic import atomic_path

    if opset < 17:
        raise MedsrError(f"opset {opset} is too old; use 17 or later")
    newest = _newest_opset()
    if opset > newest:
        raise MedsrError(f"opset {opset} is newer than this PyTorch exports (up to {newest}); use 17 to {newest}")
    shape = tuple(int(s) for s in example_shape)
    if len(shape) not in (4, 5) or min(shape) < 1:
        raise MedsrError(f"example_shape must be (N, C, H, W) or (N, C, D, H, W) with positive sizes, got {shape}")
    if dynamic_spatial and _has_fixed_size_layers(model):
        warnings.warn("the model interpolates by a non-integer factor: exporting with fixed spatial sizes "
                      f"{shape[2:]}", stacklevel=2)
        dynamic_spatial = False
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    example = torch.zeros(shape, dtype=torch.float32, device=device)
    names = [f"d{i}" for i in range(len(shape) - 2)]
    dynamic_axes = None
    if dynamic_spatial:
        axes = {0: "batch", **{2 + i: n for i, n in enumerate(names)}}
        dynamic_axes = {"lr": axes, "sr": {0: "batch", **{2 + i: f"{n}_out" for i, n in enumerate(names)}}}
    was_training = model.training
    model.eval()
    path = Path(path)
    try:
        with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(model, (example,), str(tmp), input_names=["lr"], output_names=["sr"],
                              dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False,
                              do_constant_folding=True)
    finally:
        model.train(was_training)
    return path


def onnx_predict(path: str | os.PathLike[str], array: np.ndarray, *,
                 providers: Sequence[str] | None = None) -> np.ndarray:
    """Run an exported model on ``array`` (``(N, C, *spatial)``, cast to float32) with onnxruntime."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise MedsrError(f"ONNX model {path} not found")
    session = ort.InferenceSession(str(path), providers=list(providers or ["CPUExecutionProvider"]))
    inp = session.get_inputs()[0]
    x = np.ascontiguousarray(array, dtype=np.float32)
    if x.ndim != len(inp.shape):
        raise MedsrError(f"{path.name} expects a {len(inp.shape)}-D array (N, C, *spatial), got shape {x.shape}")
    return session.run(None, {inp.name: x})[0]


def _newest_opset() -> int:
    """The newest opset the TorchScript-based ``torch.onnx.export`` writes (20 in PyTorch 2.x)."""
    try:
        from torch.onnx import _constants

        return int(getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", 20))
    except ImportError:  # pragma: no cover - private module moved
        return 20
