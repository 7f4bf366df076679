"""Inference: run a method or a trained network on a scan and land the result on the medsr grid.

* :mod:`~medsr.infer.methods` -- registry of up-scaling methods (interpolations, ``self``, ``dip``);
* :mod:`~medsr.infer.sliding` -- 3D sliding windows with anisotropic zoom and separable blending;
* :mod:`~medsr.infer.slicewise` -- 2D networks slice by slice, fused over planes (SMORE/ECLARE);
* :mod:`~medsr.infer.consistency` -- the data-consistency report and iterative back-projection;
* :mod:`~medsr.infer.predictor` -- PyTorch and ONNX networks (ONNX through
  :mod:`medsr.models.onnx`);
* :mod:`~medsr.infer.pipeline` -- :func:`upscale` / :func:`upscale_volume` on a Volume;
* :mod:`~medsr.infer.files` -- :func:`upscale_file`, folders and globs, JSON sidecars.
"""

from medsr.infer.files import Job, upscale_file
from medsr.infer.methods import (
    MethodOptions,
    TargetGrid,
    available_methods,
    default_method,
    get_method,
    register_method,
)
from medsr.infer.pipeline import (
    UpscaleConfig,
    UpscaleResult,
    resolve_target,
    upscale,
    upscale_volume,
)
from medsr.infer.predictor import Predictor

__all__ = [
    "Job",
    "MethodOptions",
    "Predictor",
    "TargetGrid",
    "UpscaleConfig",
    "UpscaleResult",
    "available_methods",
    "default_method",
    "get_method",
    "register_method",
    "resolve_target",
    "upscale",
    "upscale_file",
    "upscale_volume",
]
