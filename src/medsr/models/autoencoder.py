"""The convolutional auto-encoder of the learned feature loss.

Trained to reconstruct intensity images (``task: autoencoder``), its encoder is the feature
network of :class:`medsr.losses.perceptual.LearnedFeatureLoss`. This is not ACNN's anatomical
prior (Oktay et al., IEEE TMI 37(2), 2018, review ref. [80]), which is learned from segmentation
maps: that one is the T-L network of :mod:`medsr.models.medical.tl_net` (``task: tl_net``).

The network lives with the other networks; the loss that uses its code and the safetensors helpers
(:func:`~medsr.losses.perceptual.save_autoencoder` / ``load_autoencoder``) live in the losses.
It is not in the generator registry: it maps an image onto itself (``medsr train`` builds it for
``task: autoencoder``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv, conv_transpose

__all__ = ["ConvAutoEncoder"]


class ConvAutoEncoder(nn.Module):
    """A small convolutional auto-encoder whose encoder serves as a learned feature network.

    Its code compares SR output and truth in :class:`~medsr.losses.perceptual.LearnedFeatureLoss`
    (the form of ACNN's global loss, Oktay et al. 2018, on intensity images rather than labels).
    Each encoder stage halves the grid with a strided convolution; the decoder mirrors it.

    Args:
        dims: 2 or 3 spatial dimensions.
        in_channels: image channels.
        channels: feature channels per encoder stage (its length = number of down-samplings).
        code_channels: channels of the code (the bottleneck).
    """

    def __init__(
        self,
        dims: int = 2,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64),
        code_channels: int = 8,
    ) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise MedsrError(f"auto-encoder dims must be 2 or 3, got {dims}")
        self.config = {
            "dims": int(dims),
            "in_channels": int(in_channels),
            "channels": [int(c) for c in channels],
            "code_channels": int(code_channels),
        }
        enc: list[nn.Module] = []
        prev = in_channels
        for c in channels:
            enc += [conv(dims, prev, c, 3, stride=2), nn.LeakyReLU(0.2)]
            prev = c
        enc.append(conv(dims, prev, code_channels, 3))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [conv(dims, code_channels, prev, 3), nn.LeakyReLU(0.2)]
        for c in list(channels[:-1])[::-1] + [channels[0]]:
            dec += [conv_transpose(dims, prev, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            prev = c
        dec.append(conv(dims, prev, in_channels, 3))
        self.decoder = nn.Sequential(*dec)
        self.factor = 2 ** len(channels)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code ``E(x)`` (the learned feature loss compares these)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x`` (spatial sizes must be multiples of ``2 ** len(channels)``)."""
        if any(int(s) % self.factor for s in x.shape[2:]):
            raise MedsrError(
                f"auto-encoder input sizes {tuple(x.shape[2:])} must be multiples of {self.factor}"
            )
        return self.decoder(self.encoder(x))
