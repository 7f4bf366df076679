"""A network ready for inference: PyTorch module or ONNX session behind one small interface.

:class:`Predictor` knows the network's dimensionality (2D/3D), its per-axis integer factors, its
input channels and its intensity normalisation (from ``model.json``). :meth:`Predictor.batch_fn`
gives the function the tiling code calls: physical-unit float32 windows in, physical-unit
windows out (normalisation applied and inverted exactly, channels folded into the batch when a
one-channel network meets a multi-channel scan).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.jsonutil import to_jsonable
from medsr.normalise import Normaliser
from medsr.volume import MAX_FACTOR, parse_triple

__all__ = ["Predictor", "integer_scale"]

ForwardFn = Callable[[np.ndarray], np.ndarray]


def integer_scale(scale: Any, dims: int) -> tuple[int, ...]:
    """Per-axis integer factors of a network (``2`` -> ``(2, 2[, 2])``); MedsrError otherwise.

    Parsed by :func:`medsr.volume.parse_triple`; medsr runs networks at whole factors per axis and
    resamples any remainder (:mod:`medsr.infer.pipeline`).
    """
    try:
        return parse_triple(scale, dims, "scale", integer=True, maximum=MAX_FACTOR)
    except MedsrError as err:
        raise MedsrError(f"model.json: the model's {err}") from None


@dataclass
class Predictor:
    """A network and what inference needs to know about it.

    Attributes:
        forward: the bare network on a normalised float32 batch ``(N, C, *spatial)``.
        dims: 2 or 3.
        scale: per-axis integer factors (length ``dims``).
        in_channels: channels the network takes.
        normalisation: from ``model.json``.
        info: what the sidecar records (architecture, weights file, backend, ...).
    """

    forward: ForwardFn
    dims: int
    scale: tuple[int, ...]
    in_channels: int = 1
    normalisation: Normaliser = field(default_factory=Normaliser)
    info: dict[str, Any] = field(default_factory=dict)
    #: the PyTorch network itself (None for ONNX): networks with a second input (a reference
    #: image, :mod:`medsr.infer.reference`) are called directly.
    module: Any = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_module(
        cls,
        model: Any,
        *,
        device: str = "cpu",
        ensemble: bool = False,
        normalisation: Normaliser | Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        fast: bool = True,
    ) -> Predictor:
        """Wrap a ``torch.nn.Module`` with attributes ``dims`` and ``scale`` (see medsr.models).

        ``fast``: run through :class:`medsr.infer.fastpath.FastForward` (on CPU: inference
        mode, channels-last 2D, the fused sub-pixel tail and the frozen oneDNN graph, traced on
        the first large call; equal to eager within 1e-4); False: plain eager PyTorch.
        """
        import torch

        from medsr.infer.fastpath import FastForward

        meta = dict(meta or {})
        dims = int(meta.get("dims", getattr(model, "dims", 0)))
        if dims not in (2, 3):
            raise MedsrError(
                "cannot tell whether the network is 2D or 3D; give model.json a 'dims' entry"
            )
        scale = integer_scale(meta.get("scale", getattr(model, "scale", 1)), dims)
        in_channels = int(meta.get("in_channels", getattr(model, "in_channels", 1)))
        dev = _torch_device(device)
        model = model.to(dev).eval()
        if ensemble:
            from medsr.models.ensemble import SelfEnsemble

            model = SelfEnsemble(model, dims, keep_axis=_odd_axis(scale))
        norm = (
            normalisation
            if isinstance(normalisation, Normaliser)
            else Normaliser.from_dict(
                normalisation if normalisation is not None else meta.get("normalisation")
            )
        )

        info: dict[str, Any] = {"execution": "eager"}  # FastForward keeps it up to date
        net = FastForward(model, dims, dev, report=info) if fast else None

        def forward(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(dev)
                if net is not None:
                    y = net(x)
                else:
                    y = model(x)
                    if isinstance(y, (list, tuple)):
                        y = y[-1]
                return y.detach().float().cpu().numpy()

        info.update(
            backend="torch",
            device=str(dev),
            architecture=meta.get("architecture", meta.get("name", type(model).__name__)),
            dims=dims,
            scale=list(scale),
            ensemble=bool(ensemble),
        )
        return cls(forward, dims, scale, in_channels, norm, info, module=model)

    @classmethod
    def from_weights(
        cls,
        weights: str | Path,
        *,
        device: str = "cpu",
        ensemble: bool = False,
        model_name: str | None = None,
        fast: bool = True,
    ) -> Predictor:
        """Load safetensors weights with their model.json (:func:`medsr.models.io.load_weights`).

        Args:
            weights: ``model.safetensors`` (``model.json`` beside it), or their folder.
            model_name: the architecture the user expects (``--model``); must match model.json.
            fast: see :meth:`from_module`.
        """
        from medsr.models.io import load_weights, weights_paths

        tensors, meta_path = weights_paths(weights)
        if Path(weights).suffix not in ("", ".safetensors", ".json"):
            raise MedsrError(
                f"{weights} is not a .safetensors file; medsr loads weights only as safetensors"
            )
        if not tensors.is_file():
            raise MedsrError(
                f"weights file {tensors} not found; give the path to a .safetensors file"
            )
        model, meta = load_weights(weights)
        arch = meta.get("architecture")
        if model_name is not None and arch is not None and model_name.lower() != str(arch).lower():
            raise OptionError(
                f"{{model}} {model_name} does not match {meta_path.name}, which describes {arch}; "
                "drop {model} or give the right weights"
            )
        pred = cls.from_module(model, device=device, ensemble=ensemble, meta=meta, fast=fast)
        pred.info.update({"weights": str(tensors), "model_json": to_jsonable(meta)})
        return pred

    @classmethod
    def from_onnx(cls, path: str | Path, *, device: str = "cpu") -> Predictor:
        """An ONNX file exported by ``medsr export`` (model.json embedded as metadata "medsr")."""
        from medsr.models.onnx import onnx_forward

        forward, meta = onnx_forward(path, device=device)
        dims = int(meta.get("dims", 0))
        if dims not in (2, 3):
            raise MedsrError(f"{path} has no usable 'dims' in its medsr metadata; re-export it")
        scale = integer_scale(meta.get("scale", 1), dims)
        info = {
            "backend": "onnxruntime",
            "onnx": str(path),
            "architecture": meta.get("architecture", meta.get("name")),
            "dims": dims,
            "scale": list(scale),
            "ensemble": False,
            "model_json": to_jsonable(meta),
        }
        return cls(
            forward,
            dims,
            scale,
            int(meta.get("in_channels", 1)),
            Normaliser.from_dict(meta.get("normalisation")),
            info,
        )

    # ------------------------------------------------------------------ use
    def batch_fn(self, norm: Normaliser, channels: int) -> ForwardFn:
        """The function tiling calls: physical float32 ``(B, channels, *w)`` -> physical output.

        A one-channel network on a ``channels``-channel scan sees each channel as its own item.
        """
        if channels != self.in_channels and self.in_channels != 1:
            raise MedsrError(
                f"the network takes {self.in_channels} channels but the scan has {channels}; "
                "use a model trained for this kind of image"
            )
        fold = channels != self.in_channels

        def run(batch: np.ndarray) -> np.ndarray:
            b = batch.shape[0]
            x = batch.reshape((b * channels, 1) + batch.shape[2:]) if fold else batch
            y = self.forward(norm.forward(x))
            if fold:
                y = y.reshape((b, channels) + y.shape[2:])
            return norm.inverse(y)

        return run


def _torch_device(device: str) -> Any:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise OptionError("{device} cuda asked for, but PyTorch sees no CUDA GPU; use {device} cpu")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise MedsrError(f"unknown device {device!r}; use cpu or cuda")
    return torch.device(device)


def _odd_axis(scale: tuple[int, ...]) -> int | None:
    """For a 3D scale like (1, 1, 4): the axis whose factor differs (kept fixed by
    self-ensemble)."""
    if len(scale) != 3 or len(set(scale)) == 1:
        return None
    for a in range(3):
        others = [scale[b] for b in range(3) if b != a]
        if others[0] == others[1]:
            return a
    raise OptionError(f"{{ensemble}} needs two equal factors among {scale}; drop {{ensemble}}")
