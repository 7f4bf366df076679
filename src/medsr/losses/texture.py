"""EnhanceNet's patch-wise texture loss (Sajjadi, Schölkopf & Hirsch, ICCV 2017, eq. 4 and
section 4.2; the review's ref. [48], section 3.3).

``L_T = sum_l w_l ||G(phi_l(I_est)) - G(phi_l(I_HR))||^2`` where ``G(F) = F F^T`` is the Gram
matrix of VGG features (Gatys et al. 2016), computed *patch-wise*: the images are cut into
``patch`` x ``patch`` tiles (16 x 16 in the paper, "the most effective patch size") and every
tile is passed through VGG on its own, so textures must match locally, not only as a whole-image
statistic. The paper's layers are VGG19 ``conv1.1``, ``conv2.1``, ``conv3.1`` (their activations
here: ``relu1_1``, ``relu2_1``, ``relu3_1``). Grams are normalised by ``C * M``
(:func:`~medsr.losses.perceptual.gram_matrix`) and compared by their mean squared difference, so
the loss weights of a recipe are not the paper's (which apply to un-normalised sums).

Compare :class:`~medsr.losses.perceptual.GramLoss` with ``patch``: it tiles each *feature map*
with the same tile size; this class tiles the *image*, as the paper.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.losses.perceptual import GramLoss

__all__ = ["ENHANCENET_TEXTURE_LAYERS", "PatchTextureLoss", "texture_term"]

#: EnhanceNet's texture layers (conv1.1, conv2.1, conv3.1, after their ReLU), equal weights.
ENHANCENET_TEXTURE_LAYERS: dict[str, float] = {"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0}


class PatchTextureLoss(GramLoss):
    """Gram-matrix texture loss on ``patch`` x ``patch`` image tiles (EnhanceNet's ``L_T``).

    Args:
        net: a module returning ``{layer: features}``, or the path of a VGG19 safetensors file.
        layer_weights: ``{layer: weight}`` (default :data:`ENHANCENET_TEXTURE_LAYERS`).
        patch: the tile size in pixels (16 in the paper); images are cropped to a multiple of it.
        slice_axis / input_range: as :class:`~medsr.losses.perceptual.PerceptualLoss`.
    """

    def __init__(
        self,
        net: nn.Module | str | os.PathLike[str],
        layer_weights: Mapping[str, float] | None = None,
        patch: int = 16,
        slice_axis: int | None = None,
        input_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        if int(patch) < 1:
            raise MedsrError(f"texture patch must be >= 1 pixel, got {patch}")
        weights = dict(layer_weights or ENHANCENET_TEXTURE_LAYERS)
        super().__init__(net, weights, None, slice_axis, input_range)
        self.image_patch = int(patch)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """2D images (slices of volumes) -> ``(N * tiles, C, patch, patch)``."""
        x = super()._prepare(x)
        p = self.image_patch
        h, w = x.shape[-2:]
        if h < p or w < p:
            raise MedsrError(
                f"texture loss: images of {h}x{w} pixels are smaller than its {p}x{p} patches; "
                "use larger training patches or a smaller texture patch"
            )
        x = x[..., : h - h % p, : w - w % p]
        c = x.shape[1]
        tiles = x.unfold(2, p, p).unfold(3, p, p)  # (N, C, th, tw, p, p)
        return tiles.permute(0, 2, 3, 1, 4, 5).reshape(-1, c, p, p)


def texture_term(
    weights: str,
    layers: Mapping[str, float] | list[str] | str | None = None,
    patch: int = 16,
    slice_axis: int | None = None,
    input_range: tuple[float, float] = (0.0, 1.0),
) -> nn.Module:
    """The ``texture`` loss term of recipes: :class:`PatchTextureLoss` from a VGG19 file."""
    if layers is None:
        table = dict(ENHANCENET_TEXTURE_LAYERS)
    elif isinstance(layers, str):
        table = {layers: 1.0}
    elif isinstance(layers, Mapping):
        table = {str(k): float(v) for k, v in layers.items()}
    else:
        table = {str(k): 1.0 for k in layers}
    return PatchTextureLoss(weights, table, patch, slice_axis, tuple(input_range))
