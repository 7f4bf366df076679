"""Image-quality metrics (review section 2.3) and the Table-1 evaluation protocol.

The one home of PSNR/SSIM in medsr: ``psnr``/``psnr_from_mse``/``nrmse``/``mae`` (:mod:`.pixel`),
``ssim`` (:mod:`.ssim`, Wang et al. 2004, 2D and 3D), their torch versions ``psnr_torch`` and
``ssim_torch`` beside them (torch is imported only when they are called: it is heavy), the
Gaussian window (:mod:`.window`), ``rgb_to_y`` (:mod:`.colour`), the Table-1 protocol
(:mod:`.protocol`).
"""

from medsr.metrics.colour import rgb_to_y
from medsr.metrics.pixel import mae, mse, nrmse, psnr, psnr_from_mse, psnr_torch
from medsr.metrics.protocol import luma, modcrop, table1_evaluate, table1_pair, to_uint8
from medsr.metrics.ssim import ssim, ssim_map, ssim_torch

__all__ = [
    "luma",
    "mae",
    "modcrop",
    "mse",
    "nrmse",
    "psnr",
    "psnr_from_mse",
    "psnr_torch",
    "rgb_to_y",
    "ssim",
    "ssim_map",
    "ssim_torch",
    "table1_evaluate",
    "table1_pair",
    "to_uint8",
]
