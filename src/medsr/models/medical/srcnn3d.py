"""3D CNNs for brain MRI SR of Pham et al. (review section 4).

* ``srcnn3d`` -- Pham C.-H., Ducournau A., Fablet R., Rousseau F., "Brain MRI super-resolution
  using deep 3D convolutional networks", ISBI 2017: SRCNN (Dong et al. 2016) with 3D kernels on
  the spline-interpolated LR volume; the 9-5-5 configuration with 64 and 32 filters, and deeper
  residual variants (``layers``/``residual`` options).
* ``resmi3d`` -- Pham C.-H., Tor-Diez C., Meunier H., Bednarek N., Fablet R., Passat N., Rousseau
  F., "Multiscale brain MRI super-resolution using deep 3D convolutional networks", Computerized
  Medical Imaging and Graphics 77:101647 (2019): the residual network ReCNN (L layers of 3x3x3
  convs with 64 filters and ReLU, the last one linear, output added to the interpolated input). Its
  *multimodal* form takes, besides the interpolated LR image, a high-resolution image of another
  modality (e.g. T2 for a T1 target) as further input channels (the authors' ``MultiSRReCNN3D``
  concatenates interpolated LR and HR reference). ``ref_channels=0`` gives the monomodal ReCNN.

Two-input API of ``resmi3d``: ``net(lr, ref)`` with ``ref`` of shape
``(N, ref_channels, *lr_spatial * scale)``; ``net(lr)`` only when ``ref_channels == 0``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv, plain_cnn
from medsr.models.medical._common import (
    SRNet,
    check_reference,
    create_srnet,
    make_interpolator,
    pre_factors,
)
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "srcnn3d": {  # channels: maps of each hidden layer (one kernel more than channels)
        "paper": {"kernels": (9, 5, 5), "channels": (64, 32), "residual": False, "interp": "cubic"},
        "tiny": {"kernels": (3, 1, 3), "channels": (8, 4), "residual": False, "interp": "cubic"},
    },
    "resmi3d": {
        "paper": {"layers": 10, "channels": 64, "kernel": 3, "ref_channels": 1, "interp": "cubic"},
        "tiny": {"layers": 3, "channels": 8, "kernel": 3, "ref_channels": 1, "interp": "cubic"},
    },
}


class SRCNN3D(SRNet):
    """Interpolate, then conv(k1)-ReLU-conv(k2)-ReLU-...-conv(kn) (Dong et al. 2016, eq. 1-3, in
    3D)."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        kernels, widths = tuple(config["kernels"]), tuple(config["channels"])
        if len(kernels) != len(widths) + 1:
            raise MedsrError(
                f"srcnn3d needs one more kernel than channels, got kernels={kernels}, "
                f"channels={widths}"
            )
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        layers: list[nn.Module] = []
        cin = in_channels
        for k, w in zip(kernels[:-1], widths):
            layers += [conv(dims, cin, int(w), int(k)), nn.ReLU()]
            cin = int(w)
        layers.append(conv(dims, cin, in_channels, int(kernels[-1])))
        self.body = nn.Sequential(*layers)
        self.residual = bool(config["residual"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.upsample(x)
        y = self.body(up)
        return up + y if self.residual else y


class ReCNN3D(SRNet):
    """Interpolate, concatenate the HR references, L convolutions, add the interpolated input."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=pre_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        n, f, k = int(config["layers"]), int(config["channels"]), int(config["kernel"])
        if n < 2:
            raise MedsrError(f"resmi3d needs at least 2 layers, got {n}")
        self.ref_channels = int(config["ref_channels"])
        if self.ref_channels < 0:
            raise MedsrError(f"ref_channels must be >= 0, got {self.ref_channels}")
        self.upsample = make_interpolator(dims, self.scale, config["interp"])
        self.body = plain_cnn(dims, in_channels + self.ref_channels, in_channels, f, n, k)

    def forward(self, lr: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
        up = self.upsample(lr)
        if self.ref_channels:
            if ref is None:
                raise MedsrError(
                    f"resmi3d was built for {self.ref_channels} reference channel(s): call net(lr, "
                    "ref) with the HR reference, or build it with ref_channels=0"
                )
            check_reference(ref, up, self.ref_channels, "resmi3d")
            h = torch.cat([up, ref], dim=1)
        else:
            if ref is not None:
                raise MedsrError(
                    "resmi3d was built with ref_channels=0 but got a reference; rebuild with "
                    "ref_channels"
                )
            h = up
        return up + self.body(h)


@register_model(
    ModelInfo(
        name="srcnn3d",
        paper="Pham et al., Brain MRI super-resolution using deep 3D convolutional networks, ISBI "
        "2017",
        year=2017,
        upsampling="pre",
        review_section="4",
        dims=(3, 2),
        preset_note="paper: 3D SRCNN 9-5-5 with 64 and 32 filters, ReLU, on the interpolated "
        "volume (the paper uses cubic-spline interpolation; here Keys cubic, MATLAB's), no "
        "residual; options kernels/channels/residual give the deeper variants. dims=2 is plain "
        "SRCNN. tiny: 3-1-3 with 8 and 4 filters.",
        presets=tuple(PRESETS["srcnn3d"]),
        paper_in_channels=1,
    )
)
def build_srcnn3d(**kwargs: Any) -> SRCNN3D:
    """3D SRCNN (Pham et al. 2017); options: the keys of ``PRESETS["srcnn3d"]``."""
    return create_srnet(SRCNN3D, "srcnn3d", PRESETS, **kwargs)


@register_model(
    ModelInfo(
        name="resmi3d",
        paper="Pham et al., Multiscale brain MRI super-resolution using deep 3D convolutional "
        "networks, Comput. Med. Imaging Graph. 77:101647",
        year=2019,
        upsampling="pre",
        review_section="4",
        dims=(3, 2),
        preset_note="paper: multimodal 10-layer ReCNN -- [interpolated LR, HR reference] -> 9 x "
        "(3x3x3 conv, 64 filters, ReLU) -> 3x3x3 conv -> + interpolated LR (authors' "
        "MultiSRReCNN3D). ref_channels=0 with layers=20 is the monomodal multiscale 20L-ReCNN. "
        "forward(lr, ref). tiny: 3 layers of 8.",
        presets=tuple(PRESETS["resmi3d"]),
        paper_in_channels=1,
    )
)
def build_resmi3d(**kwargs: Any) -> ReCNN3D:
    """Residual multi-input 3D CNN (Pham et al. 2019); options: the keys of
    ``PRESETS["resmi3d"]``."""
    return create_srnet(ReCNN3D, "resmi3d", PRESETS, **kwargs)
