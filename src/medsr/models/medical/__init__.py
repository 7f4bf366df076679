"""Networks of the review section 4 (medical images).

Each family module registers its builders with :func:`medsr.models.registry.register_model` when
imported; they are imported explicitly here (no scanning):

* ``unet_sr`` (Park et al. 2018), ``gan_circle`` (You et al. 2020), ``multicontrast_sr`` (Zeng et
  al. 2018), ``csn`` (Zhao et al. 2019), ``msfn`` (Liu et al. 2018), ``tl_net`` (ACNN, Oktay et al.
  2018), ``srcnn3d`` / ``resmi3d`` (Pham et al. 2017 / 2019), ``dcsrn`` / ``mdcsrn`` (Chen et al.
  2018), ``smore`` / ``saa`` (Zhao et al. 2018 / 2021) and ``selfsr`` (the compact network of
  medsr's self-supervised SR, section 4.2.2), ``sawgan`` (Mahapatra et al. 2017),
  ``progressive_gan`` (Mahapatra et al. 2019), ``lgrl_sr`` (Shi et al. 2018), ``guided_fusion``
  (Lin et al., two-stage fusion with an HR guide);
* :mod:`.saliency` -- saliency maps for the saliency-weighted losses.
"""

from medsr.models.medical import csn as _csn  # noqa: F401
from medsr.models.medical import dcsrn as _dcsrn  # noqa: F401
from medsr.models.medical import gan_circle as _gan_circle  # noqa: F401
from medsr.models.medical import guided_fusion as _guided_fusion  # noqa: F401
from medsr.models.medical import lgrl as _lgrl  # noqa: F401
from medsr.models.medical import msfn as _msfn  # noqa: F401
from medsr.models.medical import multicontrast as _multicontrast  # noqa: F401
from medsr.models.medical import oktay_misr as _oktay_misr  # noqa: F401
from medsr.models.medical import progressive_gan as _progressive_gan  # noqa: F401
from medsr.models.medical import sanchez as _sanchez  # noqa: F401
from medsr.models.medical import sawgan as _sawgan  # noqa: F401
from medsr.models.medical import smore as _smore  # noqa: F401
from medsr.models.medical import srcnn3d as _srcnn3d  # noqa: F401
from medsr.models.medical import tl_net as _tl_net  # noqa: F401
from medsr.models.medical import unet_sr as _unet_sr  # noqa: F401
from medsr.models.medical.saliency import SaliencyMap, saliency_map, saliency_weights

MEDICAL_MODELS = (
    "unet_sr",
    "gan_circle",
    "multicontrast_sr",
    "sanchez_gan3d",
    "oktay_misr",
    "csn",
    "msfn",
    "tl_net",
    "srcnn3d",
    "resmi3d",
    "dcsrn",
    "mdcsrn",
    "smore",
    "saa",
    "selfsr",
    "sawgan",
    "progressive_gan",
    "lgrl_sr",
    "guided_fusion",
)

__all__ = ["MEDICAL_MODELS", "SaliencyMap", "saliency_map", "saliency_weights"]
