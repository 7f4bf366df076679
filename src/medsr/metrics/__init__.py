"""Image-quality metrics (review section 2.3) and the Table-1 evaluation protocol.

``psnr``/``nrmse``/``mae`` (:mod:`.pixel`), ``ssim`` (:mod:`.ssim`, Wang et al. 2004, 2D and
3D), ``rgb_to_y`` (:mod:`.colour`), the Table-1 protocol (:mod:`.protocol`). Torch versions for
training live in :mod:`medsr.metrics.torch_metrics` (imported on demand: torch is heavy).
"""

from medsr.metrics.colour import rgb_to_y
from medsr.metrics.pixel import mae, mse, nrmse, psnr
from medsr.metrics.protocol import luma, modcrop, table1_evaluate, table1_pair, to_uint8
from medsr.metrics.ssim import ssim, ssim_map

__all__ = [
    "luma",
    "mae",
    "modcrop",
    "mse",
    "nrmse",
    "psnr",
    "rgb_to_y",
    "ssim",
    "ssim_map",
    "table1_evaluate",
    "table1_pair",
    "to_uint8",
]
