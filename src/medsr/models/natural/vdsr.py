"""VDSR (Kim, Lee & Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional
Networks", CVPR 2016; review section 3.4.2).

20 conv layers of 64 3x3 filters (ReLU after all but the last) predict the residual between the
bicubic-interpolated input and the HR image (global residual learning, section 3.2):
``y = x_up + f(x_up)``. 665,921 parameters on Y. The convolutions start from He et al.'s
initialisation, as the paper's (section 4.1); with PyTorch's default one a 20 x 32 body stalled at
a zero residual (the shipped VDSR x2 run of 2026-12-01, ``docs/benchmarks/shipped.md``).
"""

from __future__ import annotations

from typing import Any

from medsr.models.blocks import he_init, plain_cnn
from medsr.models.natural._common import PreUpsampleNet, create_srnet
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "vdsr": {
        "paper": {"layers": 20, "channels": 64, "kernel": "cubic"},
        "tiny": {"layers": 4, "channels": 8, "kernel": "cubic"},
    },
}


class VDSR(PreUpsampleNet):
    def __init__(self, *, scale, dims: int, in_channels: int, config: dict) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        self.body = he_init(
            plain_cnn(dims, in_channels, in_channels, config["channels"], config["layers"])
        )


@register_model(
    ModelInfo(
        name="vdsr",
        paper="Kim et al., Accurate Image SR Using Very Deep Convolutional Networks, CVPR",
        year=2016,
        upsampling="pre",
        review_section="3.4.2",
        preset_note="20 layers, 64 channels, global residual: 665,921 params on Y",
        presets=tuple(PRESETS["vdsr"]),
        paper_in_channels=1,
    )
)
def vdsr(**kwargs: Any) -> VDSR:
    """Registered builder; options: the keys of ``PRESETS["vdsr"]``."""
    return create_srnet(VDSR, "vdsr", PRESETS, **kwargs)
