"""Multi-input 3D residual SR network with transposed-convolution input layers (review ref. [81]).

Oktay O., Bai W., Lee M., Guerrero R., Kamnitsas K., Caballero J., de Marvao A., Cook S.,
O'Regan D., Rueckert D., "Multi-input cardiac image super-resolution using convolutional neural
networks", MICCAI 2016. Clinical cardiac MR comes as several thick-slice stacks of the same
anatomy in different orientations (short- and long-axis); the multi-input network reconstructs one
HR volume from all of them. Two of the paper's ideas are built here:

* the transposed-convolution input layer (their De-CNN): instead of a fixed interpolation before
  the network, each LR stack is brought onto the common HR grid by a learned transposed
  convolution with stride ``s`` along its own slice axis (initialised as linear interpolation, so
  training starts from the interpolated stacks);
* multiple input stacks: the up-sampled stacks are joint channels of one 3D residual CNN (``layers``
  3x3x3 conv + ReLU), which predicts the residual over the mean of the stacks' up-sampled values
  (residual learning).

``net(stacks)`` takes a list of ``(N, C, *lr_shape_i)`` tensors, stack ``i`` thick along
``axes[i]`` by ``scale`` (``lr_shape_i`` is the HR shape divided by ``scale`` on that axis only).
Training data: ``data.stacks`` (:mod:`medsr.train.stacks`) simulates the stacks from one
isotropic volume. Simplified: the depth, width and fusion by channel concatenation are medsr's
reading (the paper's exact layer counts could not be checked here); the stacks are assumed on one
world grid (registered, as the paper's motion-corrected stacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks import TransposedUpsample, conv
from medsr.models.natural._common import SRNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

__all__ = ["MultiStackSR"]

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "oktay_misr": {
        "paper": {"axes": (0, 1, 2), "layers": 7, "channels": 64},
        "tiny": {"axes": (0, 1, 2), "layers": 3, "channels": 8},
    },
}


class MultiStackSR(SRNet):
    """Transposed-conv input layer per stack -> concatenation -> residual 3D CNN."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict) -> None:
        if dims != 3:
            raise MedsrError("oktay_misr is a 3D network (dims 3)")
        factors = scale if isinstance(scale, (tuple, list)) else (scale,) * 3
        s = {int(f) for f in factors}
        if len(s) != 1 or any(float(f) != int(f) for f in factors) or min(s) < 2:
            raise MedsrError(
                f"oktay_misr needs one whole slice factor >= 2 (each stack is thick along its own "
                f"axis by it), got {scale}"
            )
        factor = s.pop()
        super().__init__(scale=(factor,) * 3, dims=3, in_channels=in_channels, config=config)
        self.axes = tuple(int(a) for a in config["axes"])
        if not self.axes or any(a not in (0, 1, 2) for a in self.axes):
            raise MedsrError(f"oktay_misr axes must be 0, 1 or 2, got {config['axes']}")
        self.factor = factor
        c = int(config["channels"])
        self.inputs = nn.ModuleList()
        for a in self.axes:
            f = [1, 1, 1]
            f[a] = factor
            self.inputs.append(
                TransposedUpsample(
                    3, in_channels, in_channels, tuple(f), kernel=2 * factor, init="bilinear"
                )
            )
        layers: list[nn.Module] = [conv(3, in_channels * len(self.axes), c, 3), nn.ReLU()]
        for _ in range(int(config["layers"]) - 2):
            layers += [conv(3, c, c, 3), nn.ReLU()]
        layers.append(conv(3, c, in_channels, 3))
        self.body = nn.Sequential(*layers)

    def upsampled(self, stacks: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Each stack on the HR grid through its transposed-convolution input layer."""
        if len(stacks) != len(self.axes):
            raise MedsrError(
                f"oktay_misr takes {len(self.axes)} stacks (thick along axes {list(self.axes)}), "
                f"got {len(stacks)}"
            )
        ups = [layer(x) for layer, x in zip(self.inputs, stacks)]
        shapes = {tuple(u.shape) for u in ups}
        if len(shapes) != 1:
            raise MedsrError(
                f"the stacks do not land on one HR grid ({sorted(shapes)}); give stack i thick "
                f"along axis {list(self.axes)}[i] by {self.factor}"
            )
        return ups

    def forward(self, stacks: Sequence[torch.Tensor]) -> torch.Tensor:
        ups = self.upsampled(stacks)
        base = torch.stack(ups).mean(dim=0)
        return base + self.body(torch.cat(ups, dim=1))


@register_model(
    ModelInfo(
        name="oktay_misr",
        paper="Oktay et al., Multi-input cardiac image super-resolution using convolutional "
        "neural networks, MICCAI",
        year=2016,
        upsampling="pre",
        review_section="4",
        dims=(3,),
        preset_note="one transposed-conv input layer per LR stack (stride = slice factor along "
        "that stack's axis, linear-interpolation init), stacks concatenated, residual 3D CNN of "
        "3x3x3 conv-ReLU over their mean. paper: 3 stacks, 7 layers of 64 (medsr's reading; the "
        "paper's exact sizes not checked); tiny: 3 layers of 8. forward(list of stacks).",
        presets=tuple(PRESETS["oktay_misr"]),
        paper_in_channels=1,
    )
)
def build_oktay_misr(**kwargs: Any) -> MultiStackSR:
    """Multi-input SR of Oktay et al. 2016; options: keys of ``PRESETS["oktay_misr"]``."""
    return create_srnet(MultiStackSR, "oktay_misr", PRESETS, **kwargs)
