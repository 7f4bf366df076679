"""The networks of SMORE and its anti-aliasing step (review section 4, refs. [83, 84]).

* Zhao C., Carass A., Dewey B. E., Woo J., Oh J., Calabresi P. A., Reich D. S., Sati P., Pham D. L.,
  Prince J. L., "A deep learning based anti-aliasing self super-resolution algorithm for MRI",
  MICCAI 2018 (SAA + SSR).
* Zhao C., Dewey B. E., Pham D. L., Calabresi P. A., Reich D. S., Prince J. L., "SMORE: a
  self-supervised anti-aliasing and super-resolution algorithm for MRI using deep learning",
  IEEE Trans. Med. Imaging 40(3):805-817 (2021).

Both steps train a 2D EDSR (Lim et al. 2017: residual blocks without batch normalisation, a long
skip connection) on slices of the scan itself; the self-supervised SR network (``smore``) maps a
slice degraded along one in-plane axis and interpolated back to its original grid, so EDSR's
up-sampling tail is dropped and the network runs on the interpolated grid (``upsampling="pre"``:
the network holds the interpolation, ``scale=1`` for pre-interpolated input, or e.g.
``scale=(1, 4)`` to interpolate along one axis). ``upsampling="subpixel"`` keeps an EDSR sub-pixel
tail with per-axis integer factors such as ``(1, s)`` instead. ``saa`` is the same network trained
to remove aliasing (used with ``scale=1``). The training pairs and the slice/axis logic belong to
:mod:`medsr.selfsr`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from medsr.errors import MedsrError
from medsr.models.medical._common import (
    PRESETS,
    SRNet,
    make_interpolator,
    post_factors,
    pre_factors,
    resolve_config,
)
from medsr.models.natural.edsr import EDSR
from medsr.models.registry import ModelInfo, register_model

PRESET_TABLE: dict[str, dict[str, Any]] = {
    "paper": {"blocks": 16, "features": 64, "res_scale": 1.0, "upsampling": "pre", "residual": False,
              "interp": "cubic"},
    "tiny": {"blocks": 2, "features": 8, "res_scale": 1.0, "upsampling": "pre", "residual": False,
             "interp": "cubic"},
}


class SmoreEDSR(SRNet):
    """EDSR (:class:`medsr.models.natural.edsr.EDSR`: head conv, residual blocks, conv, long skip)
    after a fixed interpolation (``upsampling="pre"``, EDSR run at scale 1, i.e. without its
    sub-pixel tail) or with EDSR's own sub-pixel tail (``upsampling="subpixel"``)."""

    def __init__(self, *, scale: tuple, dims: int, in_channels: int, config: dict[str, Any]) -> None:
        super().__init__(scale=scale, dims=dims, in_channels=in_channels, config=config)
        self.mode = config["upsampling"]
        edsr_cfg = {"blocks": int(config["blocks"]), "channels": int(config["features"]),
                    "res_scale": float(config["res_scale"]), "icnr": False}
        if self.mode == "pre":
            self.pre = make_interpolator(dims, scale, config["interp"])
            self.edsr = EDSR(scale=1, dims=dims, in_channels=in_channels, config=edsr_cfg)
        else:
            self.pre = None
            self.edsr = EDSR(scale=scale, dims=dims, in_channels=in_channels, config=edsr_cfg)
        self.residual = bool(config["residual"])
        self.skip = make_interpolator(dims, scale, config["interp"]) if self.residual and self.pre is None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp = self.pre(x) if self.pre is not None else x
        y = self.edsr(inp)
        if not self.residual:
            return y
        return y + (inp if self.skip is None else self.skip(x))


def _build(name: str, scale: Any, dims: int, in_channels: int, preset: str, overrides: dict[str, Any]) -> SmoreEDSR:
    cfg = resolve_config(name, PRESET_TABLE, preset, overrides)
    if cfg["upsampling"] == "pre":
        factors = pre_factors(scale, dims)
    elif cfg["upsampling"] == "subpixel":
        factors = post_factors(scale, dims)
    else:
        raise MedsrError(f"{name}: upsampling must be 'pre' or 'subpixel', got {cfg['upsampling']!r}")
    return SmoreEDSR(scale=factors, dims=dims, in_channels=in_channels, config=cfg)


_NOTE = ("paper: EDSR (Lim et al. 2017) without BN and without its up-sampling tail, on the interpolated slice, as "
         "SMORE/SAA use it; width and depth follow EDSR-baseline (16 residual blocks of 64 channels, res_scale 1) "
         "-- SMORE's own setting was not checked here. upsampling='subpixel' keeps a sub-pixel tail for per-axis "
         "factors such as (1, s); residual=True adds the interpolated input. tiny: 2 blocks of 8 channels.")


@register_model(ModelInfo(
    name="smore",
    paper="Zhao et al., SMORE: a self-supervised anti-aliasing and super-resolution algorithm for MRI using deep "
          "learning, IEEE TMI 40(3):805-817",
    year=2021,
    upsampling="pre",
    review_section="4",
    dims=(2, 3),
    preset_note=_NOTE,
    presets=PRESETS,
    paper_in_channels=1,
))
def build_smore(*, scale: float | Sequence[int | float] = 2, dims: int = 2, in_channels: int = 1,
                preset: str = "paper", **overrides: Any) -> SmoreEDSR:
    """SMORE's self-supervised SR network; options: blocks, features, res_scale, upsampling, residual, interp."""
    return _build("smore", scale, dims, in_channels, preset, overrides)


@register_model(ModelInfo(
    name="saa",
    paper="Zhao et al., A deep learning based anti-aliasing self super-resolution algorithm for MRI, MICCAI 2018",
    year=2018,
    upsampling="pre",
    review_section="4",
    dims=(2, 3),
    preset_note=_NOTE + " Anti-aliasing is a same-grid restoration: build it with scale=1.",
    presets=PRESETS,
    paper_in_channels=1,
))
def build_saa(*, scale: float | Sequence[int | float] = 2, dims: int = 2, in_channels: int = 1,
              preset: str = "paper", **overrides: Any) -> SmoreEDSR:
    """SAA anti-aliasing network (same architecture as SMORE's SR network); use scale=1."""
    return _build("saa", scale, dims, in_channels, preset, overrides)
