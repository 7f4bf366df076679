"""Dense blocks (DenseNet, Huang et al. 2017), as SRDenseNet (Tong et al. 2017) uses them."""

from __future__ import annotations

import torch
from torch import nn

from medsr.models.blocks.conv import activation, batch_norm, check_dims, conv

__all__ = ["DenseBlock"]


class DenseBlock(nn.Module):
    """``layers`` convolutions with growth rate ``growth``, each followed by ``act`` ([BN] first
    when ``bn``).

    ``keep_input=True`` (DenseNet, Huang et al. 2017, eq. 2): layer l sees the block input and all
    earlier layer outputs, and the block outputs all of them concatenated.
    ``keep_input=False`` (SRDenseNet, Tong et al. 2017, eq. 1, ``X_i = H_i([X_1, ..., X_{i-1}])``):
    the first layer sees the block input, layer l > 1 the outputs of layers 1..l-1 only, and the
    block outputs the ``layers * growth`` new maps ("8 x 16 = 128 feature maps").
    ``out_channels`` tells the output width.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        growth: int,
        layers: int,
        *,
        kernel: int = 3,
        act: str = "relu",
        bn: bool = False,
        keep_input: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_dims(dims)
        self.keep_input = keep_input
        self.layers = nn.ModuleList()
        for i in range(layers):
            cin = (
                in_channels + i * growth if keep_input else (in_channels if i == 0 else i * growth)
            )
            mods: list[nn.Module] = [conv(dims, cin, growth, kernel, bias=bias)]
            if bn:
                mods.append(batch_norm(dims, growth))
            mods.append(activation(act, 1))
            self.layers.append(nn.Sequential(*mods))
        self.out_channels = (in_channels if keep_input else 0) + layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.keep_input:
            feats = [x]
            for layer in self.layers:
                feats.append(layer(torch.cat(feats, dim=1)))
            return torch.cat(feats, dim=1)
        feats = [self.layers[0](x)]
        for layer in self.layers[1:]:
            feats.append(layer(torch.cat(feats, dim=1)))
        return torch.cat(feats, dim=1)
