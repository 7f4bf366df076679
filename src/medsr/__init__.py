"""medsr: deep-learning super-resolution of medical images.

The package follows the structure of the review by Li, Sixou & Peyrin, "A review of the deep
learning methods for medical images super resolution problems", IRBM 42 (2021):

- :mod:`medsr.volume`   the image type (array + affine), grid arithmetic;
- :mod:`medsr.io`       reading and writing scans;
- :mod:`medsr.degrade`  the forward model g = A f (review eq. 3);
- :mod:`medsr.interpolate` the interpolation baselines;
- :mod:`medsr.metrics`  PSNR/SSIM and the Table-1 protocol (review eq. 5);
- :mod:`medsr.models`   the networks (review sections 3.4 and 4);
- :mod:`medsr.losses`, :mod:`medsr.train` learning (review sections 2.4, 3.3, 5);
- :mod:`medsr.infer`    applying a network to a scan (tiling, slice-wise, consistency);
- :mod:`medsr.selfsr`   self-supervised SR, Deep Image Prior (review section 4.2.2).
"""

from medsr.errors import MedsrError
from medsr.volume import Volume, VolumeMeta

__version__ = "0.1.0"
__all__ = ["MedsrError", "Volume", "VolumeMeta", "__version__"]
