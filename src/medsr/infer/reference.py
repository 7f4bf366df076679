"""Up-scaling with a registered reference image (multi-contrast SR, review ref. [78]).

Zeng K. et al., "Simultaneous single- and multi-contrast super-resolution for brain MRI images
based on a convolutional neural network", Comput. Biol. Med. 99:133-141 (2018): the network sees
the LR target contrast and an HR image of another contrast on the output grid. ``medsr upscale
scan.nii.gz --weights run/ --reference t1.nii.gz``: the engine
(:func:`medsr.infer.pipeline.upscale`) hands the network step to :func:`run_with_reference` when
``UpscaleConfig.reference`` is set.

The reference is put on the network's output grid with the exact voxel map of both affines
(:func:`medsr.interpolate.resample_onto`, cubic B-spline, zero outside its field of view) and
normalised with its own fitted normaliser of the network's kind, as in training
(:mod:`medsr.train.reference`). 2D networks run on whole slices along the slicing axis (batches of
``batch_size`` slices), 3D networks on the whole volume (no windows: the reference would have to be
windowed alike; keep such volumes small or crop them). Only PyTorch weights (``--weights``); the
network's factors must be the whole request (no finishing interpolation).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.progress import ProgressSink
from medsr.volume import SNAP_TOLERANCE, TargetGrid, Volume, zoom_grid

__all__ = ["run_with_reference"]


def run_with_reference(
    volume: Volume, target: TargetGrid, predictor: Any, config: Any, progress: ProgressSink
) -> tuple[np.ndarray, dict[str, Any]]:
    """The network's output ``(C, *target.shape)`` in physical units and the sidecar details."""
    import torch

    from medsr.infer.pipeline import network_plan
    from medsr.interpolate import resample_onto

    reference: Volume = config.reference
    module = getattr(predictor, "module", None)
    if module is None:
        raise OptionError("{reference} needs a PyTorch network given by {weights}")
    net_factors, axes = network_plan(predictor, target.factors, config)
    need = tuple(max(1, math.ceil(f - SNAP_TOLERANCE)) for f in target.factors)
    net_shape, _ = zoom_grid(volume.shape, volume.affine, net_factors)
    if tuple(net_factors) != need or tuple(net_shape) != tuple(target.shape):
        raise OptionError(
            f"{{reference}}: the network runs at x{list(net_factors)} but the request is "
            f"x{[round(f, 4) for f in target.factors]}; ask for the network's own factors"
        )
    ref = resample_onto(reference, target.shape, target.affine).data
    if not np.any(ref):
        raise MedsrError(
            "the reference does not overlap the scan in world coordinates; register it first"
        )
    norm = predictor.normalisation.fit(volume.data)
    ref_norm = predictor.normalisation.fit(ref)
    x = norm.forward(volume.data)
    r = ref_norm.forward(ref)
    channels = volume.channels
    out = np.empty((channels,) + tuple(target.shape), dtype=np.float32)
    device = next(module.parameters()).device

    def run(lr: np.ndarray, rf: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            y = module(
                torch.from_numpy(np.ascontiguousarray(lr)).to(device),
                torch.from_numpy(np.ascontiguousarray(rf)).to(device),
            )
        return y.float().cpu().numpy()

    info: dict[str, Any] = {
        "network_factors": list(net_factors),
        "normalisation": norm.to_dict(include_fit=True),
        "reference": {
            "source": reference.meta.source,
            "shape": list(reference.shape),
            "resampled": "cubic B-spline onto the output grid (exact affines)",
            "normalisation": ref_norm.to_dict(include_fit=True),
        },
    }
    if predictor.dims == 3:
        progress.stage("network with reference (whole volume)", 1)
        out[:] = run(x[None], r[None])[0]
        progress.advance(1)
    else:
        assert axes is not None
        a = axes[0]
        n = volume.shape[a]
        batch = config.batch_size or 8
        progress.stage(f"network with reference (2D slices along axis {a})", n)
        for start in range(0, n, batch):
            idx = list(range(start, min(n, start + batch)))
            lr = np.stack([np.take(x, i, axis=1 + a) for i in idx])
            rf = np.stack([np.take(r, i, axis=1 + a) for i in idx])
            y = run(lr, rf)
            for k, i in enumerate(idx):
                index = [slice(None)] * 4
                index[1 + a] = i
                out[tuple(index)] = y[k]
            progress.advance(len(idx))
        info["slicing"] = {"axes": [a], "fused": False, "batch_size": batch}
    return norm.inverse(out), info
