"""Simultaneous single- and multi-contrast SR of brain MRI (review section 4; Zeng et al. 2018).

Zeng K., Zheng H., Cai C., Yang Y., Zhang K., Chen Z., "Simultaneous single- and multi-contrast
super-resolution for brain MRI images based on a convolutional neural network", Computers in
Biology and Medicine 99:133-141 (2018). Two cascaded sub-networks:

* SSR (single-contrast SR): a deep residual CNN on the interpolated LR target contrast;
* MSR (multi-contrast SR): a second residual CNN fed with the SSR output concatenated with a
  high-resolution image of another contrast (the reference, e.g. T2 for a T1 target) registered
  onto the HR grid.

Both outputs are supervised (the paper's loss sums the two errors), hence :meth:`forward_all`.

Two-input API::

    net = create_model("multicontrast_sr", scale=2, dims=2, ref_channels=1)
    sr = net(lr, ref)      # lr: (N, C, *lr_spatial), ref: (N, ref_channels, *lr_spatial * scale)
    sr1 = net(lr)          # single-contrast path only (ref=None): the SSR output
    ssr, msr = net.forward_all(lr, ref)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import plain_cnn
from medsr.models.medical._common import (
    SRNet,
    check_reference,
    create_srnet,
    make_interpolator,
    pre_factors,
)
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "multicontrast_sr": {
        "paper": {
            "ssr_layers": 20,
            "msr_layers": 10,
            "channels": 64,
            "ref_channels": 1,
            "interp": "cubic",
        },
        "tiny": {
            "ssr_layers": 3,
            "msr_layers": 3,
            "channels": 8,
            "ref_channels": 1,
            "interp": "cubic",
        },
    },
}


def residual_cnn(dims: int, cin: int, cout: int, channels: int, layers: int) -> nn.Sequential:
    """``layers`` 3x3 convolutions (:func:`~medsr.models.blocks.plain_cnn`, the residual predictor
    of VDSR, Kim et al. 2016), which both sub-networks of Zeng et al. use; at least 2."""
    if layers < 2:
        raise MedsrError(f"a residual sub-network needs at least 2 layers, got {layers}")
    return plain_cnn(dims, cin, cout, channels, layers)


class MultiContrastSR(SRNet):
    """SSR then (when a reference is given) MSR; both predict residuals."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        f = int(config["channels"])
        self.ref_channels = int(config["ref_channels"])
        if self.ref_channels < 1:
            raise MedsrError(
                "multicontrast_sr needs ref_channels >= 1; use another network for single contrast"
            )
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        self.ssr = residual_cnn(dims, in_channels, in_channels, f, int(config["ssr_layers"]))
        self.msr = residual_cnn(
            dims, in_channels + self.ref_channels, in_channels, f, int(config["msr_layers"])
        )

    def forward_all(self, lr: torch.Tensor, ref: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``[ssr]`` without a reference, ``[ssr, msr]`` with one (both on the HR grid)."""
        up = self.upsample(lr)
        ssr = up + self.ssr(up)
        if ref is None:
            return [ssr]
        check_reference(ref, ssr, self.ref_channels, "multicontrast_sr")
        msr = ssr + self.msr(torch.cat([ssr, ref], dim=1))
        return [ssr, msr]

    def forward(self, lr: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_all(lr, ref)[-1]


@register_model(
    ModelInfo(
        name="multicontrast_sr",
        paper="Zeng et al., Simultaneous single- and multi-contrast super-resolution for brain MRI "
        "images based on a convolutional neural network, Comput. Biol. Med. 99:133-141",
        year=2018,
        upsampling="pre",
        review_section="4",
        dims=(2, 3),
        preset_note="paper: cascaded single-contrast (SSR) and multi-contrast (MSR) residual CNNs "
        "of 3x3 convs, 64 channels, ReLU, on the bicubic-interpolated target; MSR sees [SSR "
        "output, HR reference]. Depths 20 (SSR) and 10 (MSR) are VDSR-like choices: the paper's "
        "exact layer counts could not be checked here. forward(lr, ref=None): ref on the HR grid; "
        "without ref only SSR runs. tiny: 3+3 layers of 8 channels.",
        presets=tuple(PRESETS["multicontrast_sr"]),
        paper_in_channels=1,
    )
)
def build_multicontrast_sr(**kwargs: Any) -> MultiContrastSR:
    """Multi-contrast SR (Zeng et al. 2018); options: the keys of
    ``PRESETS["multicontrast_sr"]``."""
    return create_srnet(MultiContrastSR, "multicontrast_sr", PRESETS, **kwargs)
