"""The 2D restoration network of self-supervised SR: a network of the zoo built at scale 1.

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [84]; review section 4.2.2) trains an EDSR (Lim et al.
2017) on an already-interpolated input (a restoration network: same grid in and out). The default,
``arch="selfsr"``, is the compact EDSR-like network registered as ``selfsr`` in
:mod:`medsr.models.medical.smore` (4 x 4 folded sub-images, so it trains for more steps in the same
CPU time); the sweep that chose it is in ``docs/benchmarks/selfsr_network.md``.

Any 2D generator of :mod:`medsr.models` can replace it with ``arch=NAME``: it is built with
``scale=1``, ``dims=2``, ``in_channels=1`` (pre-upsampling networks then contain no interpolation
layer and map a grid onto itself, as the contract of ``create_model`` states).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError

__all__ = ["DEFAULT_ARCH", "build_network"]

#: the registry name of the default self-SR network.
DEFAULT_ARCH = "selfsr"


def build_network(arch: str = DEFAULT_ARCH, preset: str | None = None, **kwargs: Any) -> nn.Module:
    """``create_model(arch, scale=1, dims=2, in_channels=1, preset=, **kwargs)``, checked to be a 2D
    generator that keeps a 24 x 24 grid (a restoration network)."""
    from medsr.models import create_model, model_info

    info = model_info(arch)  # MedsrError for unknown names
    if 2 not in info.dims or info.kind != "generator":
        raise MedsrError(
            f"network {arch!r} is not a 2D generator; self-SR applies 2D networks to slices"
        )
    kw: dict[str, Any] = dict(scale=1, dims=2, in_channels=1, **kwargs)
    if preset is not None:
        kw["preset"] = preset
    try:
        net = create_model(arch, **kw)
        with torch.no_grad():
            probe = net(torch.zeros(1, 1, 24, 24))
    except MedsrError:
        raise
    except Exception as exc:  # noqa: BLE001 - a network that cannot run at scale 1 (e.g. a fixed up-sampler)
        raise MedsrError(
            f"network {arch!r} cannot restore an interpolated grid at scale 1 ({exc}); choose a "
            f"pre-upsampling network (e.g. vdsr) or the default {DEFAULT_ARCH!r}"
        ) from None
    if tuple(probe.shape) != (1, 1, 24, 24):
        raise MedsrError(
            f"network {arch!r} at scale 1 maps 24x24 to {tuple(probe.shape[2:])}; self-SR needs a "
            "network that keeps the grid (pre-upsampling, e.g. vdsr) or the default "
            f"{DEFAULT_ARCH!r}"
        )
    return net
