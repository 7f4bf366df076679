"""The T-L network shape prior and the anatomically constrained SR network (review section 4).

Oktay O., Ferrante E., Kamnitsas K., Heinrich M., Bai W., Caballero J., Cook S. A., de Marvao A.,
Dawes T., O'Regan D. P., Kainz B., Glocker B., Rueckert D., "Anatomically constrained neural
networks (ACNNs): application to cardiac image enhancement and segmentation", IEEE Trans. Med.
Imaging 37(2):384-395 (2018), arXiv:1705.08302.

The *T-L network* (after Girdhar et al., ECCV 2016) learns a compact code of anatomy:

* the "T" (training): an auto-encoder over label maps -- encoder ``f`` (labels -> code ``h``) and
  decoder ``g`` (code -> labels) -- plus a predictor ``p`` that maps an *intensity image* to the
  same code, trained so that ``p(image) ~ f(labels)`` (Euclidean) while ``g(f(labels))``
  reconstructs the labels (cross-entropy);
* the "L" (testing): image -> ``p`` -> code -> ``g`` -> labels.

For super-resolution, ACNN-SR adds to the pixel loss a *global* term: the Euclidean distance between
the codes of the super-resolved and of the ground-truth HR image, ``|p(SR) - p(HR)|^2``
(paper eq. 4), so that SR keeps anatomically plausible shapes. The SR network itself is the
residual CNN with a transposed-convolution up-sampler of Oktay et al., "Multi-input cardiac image
super-resolution using convolutional neural networks", MICCAI 2016.

Registry entry ``tl_net`` builds :class:`ACNNSR`: ``forward(lr) -> sr`` as every generator, with
the T-L prior as ``.prior`` (:class:`TLNetwork`; train it first, then :meth:`ACNNSR.freeze_prior`)
and :meth:`ACNNSR.shape_code` for the global loss. Training, both stages: ``task: tl_net``
(:mod:`medsr.train.medical.tl`), recipe ``configs/tl_net.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import conv, conv_transpose
from medsr.models.blocks.upsample import TransposedUpsample
from medsr.models.medical._common import SRNet, create_srnet, make_interpolator, post_factors
from medsr.models.registry import ModelInfo, register_model

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "tl_net": {
        "paper": {
            "channels": 64,
            "lr_layers": 4,
            "hr_layers": 3,
            "classes": 4,
            "code_size": 64,
            "prior_channels": (16, 32, 64, 64),
            "prior_grid": 4,
            "interp": "linear",
        },
        "tiny": {
            "channels": 8,
            "lr_layers": 2,
            "hr_layers": 1,
            "classes": 3,
            "code_size": 8,
            "prior_channels": (4, 8),
            "prior_grid": 2,
            "interp": "linear",
        },
    },
}


class ShapeEncoder(nn.Module):
    """Strided convolutions (stride 2, PReLU), adaptive pooling to ``grid`` per axis, a linear
    layer to the ``code_size`` latent code; used for both ``f`` (labels) and ``p`` (images)."""

    def __init__(
        self, dims: int, in_channels: int, channels: Sequence[int], code_size: int, grid: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for w in channels:
            layers += [conv(dims, cin, int(w), 3, stride=2), nn.PReLU()]
            cin = int(w)
        self.convs = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(grid) if dims == 2 else nn.AdaptiveAvgPool3d(grid)
        self.fc = nn.Linear(cin * grid**dims, code_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.convs(x)), 1))


class ShapeDecoder(nn.Module):
    """Linear layer to a ``grid``-sized map, stride-2 transposed convolutions (PReLU), a conv to the
    class logits, then (bi/tri)linear resampling to the requested size."""

    def __init__(
        self, dims: int, classes: int, channels: Sequence[int], code_size: int, grid: int
    ) -> None:
        super().__init__()
        self.dims, self.grid = dims, grid
        widths = [int(w) for w in channels]
        self.first = widths[-1]
        self.fc = nn.Linear(code_size, widths[-1] * grid**dims)
        layers: list[nn.Module] = []
        cin = widths[-1]
        for w in reversed(widths):
            layers += [conv_transpose(dims, cin, w, 4, stride=2, padding=1), nn.PReLU()]
            cin = w
        self.deconvs = nn.Sequential(*layers)
        self.out = conv(dims, cin, classes, 3)

    def forward(self, code: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        h = self.fc(code).reshape(code.shape[0], self.first, *([self.grid] * self.dims))
        logits = self.out(self.deconvs(h))
        mode = "bilinear" if self.dims == 2 else "trilinear"
        return F.interpolate(
            logits, size=tuple(int(s) for s in size), mode=mode, align_corners=False
        )


class TLNetwork(nn.Module):
    """T-L network: label auto-encoder (``encode``/``decode``) and image predictor (``predict``).

    ``forward(image)`` is the L path (image -> code -> label logits on the image's grid). Training
    (Oktay et al. 2018, section II-B): cross-entropy of ``decode(encode(labels))`` against the
    labels plus ``|predict(image) - encode(labels)|^2``.
    """

    def __init__(
        self,
        dims: int,
        image_channels: int,
        classes: int,
        *,
        code_size: int = 64,
        channels: Sequence[int] = (16, 32, 64, 64),
        grid: int = 4,
    ) -> None:
        super().__init__()
        if classes < 2:
            raise MedsrError(
                f"the T-L network needs at least 2 label classes (background + one), got {classes}"
            )
        self.dims, self.classes, self.code_size = dims, classes, code_size
        if grid < 1:
            raise MedsrError(f"prior_grid must be >= 1, got {grid}")
        self.encoder = ShapeEncoder(dims, classes, channels, code_size, grid)
        self.predictor = ShapeEncoder(dims, image_channels, channels, code_size, grid)
        self.decoder = ShapeDecoder(dims, classes, channels, code_size, grid)

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        """Code of a label map given as one-hot / probabilities ``(N, classes, *spatial)``."""
        if labels.shape[1] != self.classes:
            raise MedsrError(
                f"encode needs {self.classes} one-hot label channels, got {labels.shape[1]}"
            )
        return self.encoder(labels)

    def decode(self, code: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """Label logits ``(N, classes, *size)`` of a code."""
        return self.decoder(code, size)

    def predict(self, image: torch.Tensor) -> torch.Tensor:
        """Code predicted from an intensity image."""
        return self.predictor(image)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.decode(self.predict(image), image.shape[2:])


class ACNNSR(SRNet):
    """Oktay et al. SR network (LR convs -> transposed conv -> HR convs, + interpolated input) with
    the T-L shape prior attached for the anatomical loss."""

    def __init__(self, *, scale: Any, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(
            scale=post_factors(scale, dims), dims=dims, in_channels=in_channels, config=config
        )
        scale = self.scale
        f = int(config["channels"])
        lr: list[nn.Module] = []
        cin = in_channels
        for _ in range(int(config["lr_layers"])):
            lr += [conv(dims, cin, f, 3), nn.ReLU()]
            cin = f
        self.lr_body = nn.Sequential(*lr)
        kernel = tuple(2 * s if s > 1 else 3 for s in scale)
        self.upsample = TransposedUpsample(dims, cin, f, scale, kernel=kernel)
        hr: list[nn.Module] = [nn.ReLU()]
        for _ in range(int(config["hr_layers"])):
            hr += [conv(dims, f, f, 3), nn.ReLU()]
        hr.append(conv(dims, f, in_channels, 3))
        self.hr_body = nn.Sequential(*hr)
        self.interp = make_interpolator(dims, scale, config["interp"])
        self.prior = TLNetwork(
            dims,
            in_channels,
            int(config["classes"]),
            code_size=int(config["code_size"]),
            channels=tuple(config["prior_channels"]),
            grid=int(config["prior_grid"]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.interp(x) + self.hr_body(self.upsample(self.lr_body(x)))

    def shape_code(self, image: torch.Tensor) -> torch.Tensor:
        """``p(image)``: the T-L predictor's code, for the loss ``|p(SR) - p(HR)|^2``."""
        return self.prior.predict(image)

    def freeze_prior(self) -> None:
        """Fix the (pre-trained) T-L network while the SR network trains, as ACNN does."""
        for p in self.prior.parameters():
            p.requires_grad_(False)

    def sr_parameters(self) -> list[nn.Parameter]:
        """The parameters of the SR network only (what the SR optimiser updates)."""
        prior = {id(p) for p in self.prior.parameters()}
        return [p for p in self.parameters() if id(p) not in prior]


@register_model(
    ModelInfo(
        name="tl_net",
        paper="Oktay et al., Anatomically constrained neural networks (ACNNs): application to "
        "cardiac image enhancement and segmentation, IEEE TMI 37(2):384-395",
        year=2018,
        upsampling="post",
        review_section="4",
        dims=(3, 2),
        preset_note="paper: ACNN-SR -- SR network of Oktay et al. 2016 (4 LR 3x3x3 convs of 64, a "
        "transposed conv with stride r, 3 HR convs, + linearly interpolated input) and, as .prior, "
        "the T-L network (label auto-encoder + image predictor: stride-2 convs 16-32-64-64 with "
        "PReLU, 64-d code, 4 cardiac classes) for the global loss |p(SR)-p(HR)|^2. Our reading: "
        "the layer counts and prior widths are assumptions (only the T-L structure and the 64-d "
        "code follow the paper). tiny: 8 features, 8-d code.",
        presets=tuple(PRESETS["tl_net"]),
        paper_in_channels=1,
    )
)
def build_tl_net(**kwargs: Any) -> ACNNSR:
    """ACNN-SR with its T-L shape prior; options: the keys of ``PRESETS["tl_net"]``."""
    return create_srnet(ACNNSR, "tl_net", PRESETS, **kwargs)
