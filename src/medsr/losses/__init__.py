"""Loss functions of the review (sections 2.4, 3.3, 3.4.7 and 4) and a factory for configs.

>>> from medsr.losses import build_loss_term
>>> loss = build_loss_term("charbonnier", {"eps": 1e-3})

Modules: :mod:`~medsr.losses.pixel` (L1, L2, Charbonnier, smooth L1),
:mod:`~medsr.losses.structural` (SSIM), :mod:`~medsr.losses.regularisers` (TV, gradient priors),
:mod:`~medsr.losses.perceptual` (VGG feature and Gram losses, learned feature loss),
:mod:`~medsr.losses.adversarial`, :mod:`~medsr.losses.cycle`, :mod:`~medsr.losses.weighted`
(saliency-weighted L1, :class:`WeightedSum`), :mod:`~medsr.losses.multi` (DRCN / LapSRN
multi-output supervision).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from medsr.errors import MedsrError
from medsr.losses.adversarial import (
    ADVERSARIAL_KINDS,
    AdversarialLoss,
    clip_weights,
    gradient_penalty,
)
from medsr.losses.cycle import CycleConsistencyLoss, IdentityLoss
from medsr.losses.multi import MultiOutputLoss
from medsr.losses.perceptual import (
    GramLoss,
    LearnedFeatureLoss,
    PerceptualLoss,
    ShapePriorLoss,
    gram_matrix,
    load_autoencoder,
    save_autoencoder,
)
from medsr.losses.pixel import CharbonnierLoss, L1Loss, L2Loss, SmoothL1Loss
from medsr.losses.regularisers import (
    GradientDifferenceLoss,
    GradientMagnitudeLoss,
    TVLoss,
    total_variation,
)
from medsr.losses.structural import SSIMLoss
from medsr.losses.texture import PatchTextureLoss, texture_term
from medsr.losses.weighted import SaliencyWeightedL1, SaliencyWeightedMSE, WeightedSum

__all__ = [
    "ADVERSARIAL_KINDS",
    "LOSS_TERMS",
    "AdversarialLoss",
    "CharbonnierLoss",
    "CycleConsistencyLoss",
    "GradientDifferenceLoss",
    "GradientMagnitudeLoss",
    "GramLoss",
    "IdentityLoss",
    "L1Loss",
    "L2Loss",
    "LearnedFeatureLoss",
    "MultiOutputLoss",
    "PatchTextureLoss",
    "PerceptualLoss",
    "SSIMLoss",
    "SaliencyWeightedL1",
    "SaliencyWeightedMSE",
    "ShapePriorLoss",
    "SmoothL1Loss",
    "TVLoss",
    "WeightedSum",
    "build_loss_term",
    "build_weighted_sum",
    "clip_weights",
    "gradient_penalty",
    "gram_matrix",
    "load_autoencoder",
    "save_autoencoder",
    "total_variation",
]


def _layers(layers: Any, default: dict[str, float]) -> dict[str, float]:
    if layers is None:
        return dict(default)
    if isinstance(layers, str):
        return {layers: 1.0}
    if isinstance(layers, Mapping):
        return {str(k): float(v) for k, v in layers.items()}
    return {str(k): 1.0 for k in layers}


def _perceptual(
    weights: str,
    layers: Any = None,
    criterion: str = "l1",
    slice_axis: int | None = None,
    input_range: tuple[float, float] = (0.0, 1.0),
    network: str = "vgg19",
) -> nn.Module:
    default = {"relu2_2" if network == "vgg16" else "relu5_4": 1.0}
    return PerceptualLoss(
        weights, _layers(layers, default), criterion, slice_axis, tuple(input_range), network
    )


def _gram(
    weights: str,
    layers: Any = None,
    patch: int | None = 16,
    slice_axis: int | None = None,
    input_range: tuple[float, float] = (0.0, 1.0),
) -> nn.Module:
    return GramLoss(
        weights,
        _layers(layers, {"relu2_1": 1.0, "relu3_1": 1.0}),
        patch,
        slice_axis,
        tuple(input_range),
    )


def _learned_feature(weights: str, criterion: str = "l2") -> nn.Module:
    return LearnedFeatureLoss(weights, criterion)


#: Loss terms usable under ``loss.terms`` in a config: name -> (builder, one-line description).
LOSS_TERMS: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "l1": (L1Loss, "mean absolute error (EDSR)"),
    "l2": (L2Loss, "mean squared error (SRCNN, review eq. 4)"),
    "mse": (L2Loss, "alias of l2"),
    "charbonnier": (CharbonnierLoss, "sqrt(d^2 + eps^2) (LapSRN)"),
    "smooth_l1": (SmoothL1Loss, "Huber loss"),
    "ssim": (SSIMLoss, "1 - SSIM (2D/3D)"),
    "tv": (TVLoss, "total variation of the output (GAN-CIRCLE)"),
    "gradient_difference": (GradientDifferenceLoss, "gradient-difference loss (Mathieu 2016)"),
    "gradient_magnitude": (GradientMagnitudeLoss, "gradient-profile loss"),
    "saliency_l1": (SaliencyWeightedL1, "L1 weighted by edge saliency"),
    "saliency_mse": (
        SaliencyWeightedMSE,
        "MSE weighted by the curvature + local-entropy saliency (Mahapatra 2017)",
    ),
    "perceptual": (
        _perceptual,
        "VGG19/VGG16 feature loss (Johnson 2016, SRGAN); weights: FILE, network: vgg19|vgg16",
    ),
    "gram": (_gram, "Gram-matrix texture loss (EnhanceNet); needs weights: FILE"),
    "texture": (
        texture_term,
        "EnhanceNet's texture loss: Gram matrices on 16x16 image patches; needs weights: FILE",
    ),
    "learned_feature": (
        _learned_feature,
        "intensity auto-encoder code loss (task: autoencoder); needs weights: FILE",
    ),
    "shape_prior": (_learned_feature, "alias of learned_feature (not ACNN's prior: task tl_net)"),
}


def build_loss_term(
    name: str, params: Mapping[str, Any] | None = None, *, where: str = "loss"
) -> nn.Module:
    """Build one loss term by name with keyword parameters, checking the parameter names.

    Raises :class:`MedsrError` naming the term and the offending key, e.g.
    ``loss.terms.charbonnier: unknown parameter 'epss' (accepted: eps)``.
    """
    if name not in LOSS_TERMS:
        raise MedsrError(
            f"{where}: unknown loss term {name!r}; choose from {', '.join(sorted(LOSS_TERMS))}"
        )
    builder = LOSS_TERMS[name][0]
    params = dict(params or {})
    sig = inspect.signature(builder)
    plain = [
        p
        for p in sig.parameters.values()
        if p.name != "self"
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    accepted = [p.name for p in plain]
    for key in params:
        if key not in accepted:
            raise MedsrError(
                f"{where}.{name}: unknown parameter {key!r} (accepted: "
                f"{', '.join(accepted) or 'none'})"
            )
    missing = [
        p.name for p in plain if p.default is inspect.Parameter.empty and p.name not in params
    ]
    if missing:
        raise MedsrError(f"{where}.{name}: missing parameter {missing[0]!r}")
    try:
        return builder(**params)
    except MedsrError as err:
        raise MedsrError(f"{where}.{name}: {err}") from None
    except (TypeError, ValueError) as err:
        raise MedsrError(f"{where}.{name}: bad parameter value ({err})") from None


def build_weighted_sum(
    terms: Mapping[str, Mapping[str, Any]], *, where: str = "loss.terms"
) -> WeightedSum:
    """A :class:`WeightedSum` from ``{name: {"weight": w, **params}}`` (the config's form).

    A term may be listed under another label with ``kind:``, e.g. ``{"l1_hr": {"kind": "l1"}}``.
    """
    built: dict[str, tuple[nn.Module, float]] = {}
    for label, spec in terms.items():
        spec = dict(spec or {})
        weight = float(spec.pop("weight", 1.0))
        kind = str(spec.pop("kind", label))
        built[label] = (build_loss_term(kind, spec, where=where), weight)
    return WeightedSum(built)
