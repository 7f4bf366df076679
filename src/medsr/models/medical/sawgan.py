"""Saliency-weighted GAN generator for medical SR (review section 4; Mahapatra et al. 2017).

Mahapatra D., Bozorgtabar B., Hewavitharanage S., Garnavi R., "Image super resolution using
generative adversarial networks and local saliency maps for retinal image analysis", MICCAI 2017.
The generator is the SRGAN/SRResNet generator (Ledig et al. 2017): 9x9 head conv with PReLU, B
residual blocks (conv-BN-PReLU-conv-BN), conv-BN with a long skip, x2 sub-pixel stages with PReLU,
9x9 output conv. What is new in the paper is the *loss*: the content loss is weighted by local
saliency maps of the HR image, so that salient (diagnostically relevant) regions are reconstructed
more carefully -- the paper's map (curvature + local entropy) is
:func:`medsr.models.medical.saliency.curvature_entropy_saliency`, the weighted content loss
:class:`medsr.losses.SaliencyWeightedMSE` (loss term ``saliency_mse``), and the recipe
``configs/sawgan.yaml`` trains it with the adversarial term (``task: adversarial``). The network
is :class:`medsr.models.natural.srresnet.SRResNet`.
"""

from __future__ import annotations

from typing import Any

from medsr.models.medical._common import create_srnet
from medsr.models.natural.srresnet import SRResNet
from medsr.models.registry import ModelInfo, register_model

# the options of SRResNet (medsr.models.natural.srresnet)
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "sawgan": {
        "paper": {"blocks": 16, "channels": 64, "bn": True, "icnr": False},
        "tiny": {"blocks": 1, "channels": 8, "bn": True, "icnr": False},
    },
}


@register_model(
    ModelInfo(
        name="sawgan",
        paper="Mahapatra et al., Image super resolution using generative adversarial networks and "
        "local saliency maps for retinal image analysis, MICCAI 2017",
        year=2017,
        upsampling="post",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: SRGAN generator (16 residual blocks of 64 channels with BN and PReLU, "
        "x2 sub-pixel stages, 9x9 head/tail) -- the paper builds on SRGAN; its novelty, the "
        "saliency-weighted loss, lives in the losses with medsr.models.medical.saliency. Paper "
        "images are colour fundus photographs (in_channels=3). tiny: 1 block of 8 channels.",
        presets=tuple(PRESETS["sawgan"]),
        paper_in_channels=3,
    )
)
def build_sawgan(**kwargs: Any) -> SRResNet:
    """Saliency-weighted GAN generator (an SRResNet); options: the keys of ``PRESETS["sawgan"]``."""
    return create_srnet(SRResNet, "sawgan", PRESETS, **kwargs)
