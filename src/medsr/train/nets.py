"""Small helper networks that training needs but the model zoo does not provide.

:class:`DownsamplingNet` is the HR -> LR generator ``F`` of cycle training (GAN-CIRCLE, You et al.
2019; CycleGAN's second generator, Zhu et al. 2017): a few convolutions and a strided convolution
per integer factor (or an area resampling for non-integer ones), with a global skip from the
area-downsampled input so that it starts close to plain averaging.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError

__all__ = ["DownsamplingNet"]


class DownsamplingNet(nn.Module):
    """``(N, C, *spatial) -> (N, C, *spatial / scale)``.

    Args:
        dims: 2 or 3.
        in_channels: image channels.
        scale: down-sampling factor per axis (> 0; 1 keeps the grid).
        features: channels of the hidden layers.
        layers: number of convolutions (>= 2).
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        scale: Sequence[float],
        features: int = 64,
        layers: int = 4,
    ) -> None:
        super().__init__()
        if dims not in (2, 3) or len(scale) != dims:
            raise MedsrError(
                f"DownsamplingNet needs dims 2 or 3 and one factor per axis, got {dims}, {scale}"
            )
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.dims = dims
        self.scale = tuple(float(s) for s in scale)
        self.in_channels = in_channels
        whole = all(float(s).is_integer() for s in self.scale)
        stride = tuple(int(s) for s in self.scale) if whole else (1,) * dims
        kernel = tuple(max(3, 2 * s - 1 if s > 1 else 3) for s in stride)
        padding = tuple(k // 2 for k in kernel)
        body: list[nn.Module] = [conv(in_channels, features, 3, padding=1), nn.LeakyReLU(0.2)]
        body += [
            conv(features, features, kernel, stride=stride, padding=padding),
            nn.LeakyReLU(0.2),
        ]
        for _ in range(layers - 3):
            body += [conv(features, features, 3, padding=1), nn.LeakyReLU(0.2)]
        body.append(conv(features, in_channels, 3, padding=1))
        self.body = nn.Sequential(*body)
        self._resample = not whole

    def _size(self, x: torch.Tensor) -> list[int]:
        return [max(1, round(int(n) / s)) for n, s in zip(x.shape[2:], self.scale)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self._size(x)
        skip = x if list(x.shape[2:]) == size else F.interpolate(x, size=size, mode="area")
        y = self.body(x)
        if list(y.shape[2:]) != size:
            y = F.interpolate(y, size=size, mode="area" if self._resample else "nearest")
        return skip + y
