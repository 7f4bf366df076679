"""How training samples are cut from a :class:`~medsr.train.sources.Source`.

Review section 5.1: networks train on (LR, HR) patch pairs. A :class:`SamplingSpec` maps the
model's spatial axes onto a source's ``(X, Y, Z)`` axes (2D patches from 2D images, 2D patches
from slices of 3D volumes across ``slice_axis``, or 3D patches) and carries the per-axis patch
size and scale. :func:`random_crop` cuts a random HR patch (centred on the foreground with the
configured probability) or, for explicit pairs, an HR patch and the LR patch at the matching
position. :func:`add_noise` makes the independent noisy copies of Noise2Noise (Lehtinen et al.
2018); :func:`interpolate_to` puts an LR patch on the HR grid for pre-upsampling networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from medsr.errors import MedsrError
from medsr.train.sources import Source

__all__ = [
    "SamplingSpec",
    "add_noise",
    "crop_start",
    "interpolate_to",
    "random_crop",
    "to_model_axes",
]


@dataclass
class SamplingSpec:
    """How samples are cut (built by :func:`medsr.train.builders.build_datamodule` from a config).

    Attributes:
        dims: 2 or 3 (the model's).
        patch: HR patch size per model axis (length ``dims``), or None for whole images.
        scale: the model's factors per model axis (length ``dims``).
        slice_axis: for 2D models on volumes, the axis slices are cut across (default 2).
        degradation: the LR-making spec.
        augment: :class:`medsr.train.config.AugmentSection`-like object (flip, rot90, ...).
        foreground_probability: share of patches centred on the foreground.
        interpolate_lr: give LR on the HR grid (cubic).
        noise2noise: None or an object with ``noise``, ``sigma``, ``noisy_input``.
        unpaired: draw the LR input from an independent patch (cycle training).
    """

    dims: int
    patch: tuple[int, ...] | None
    scale: tuple[float, ...]
    slice_axis: int | None = None
    degradation: str = "bicubic"
    augment: Any = None
    foreground_probability: float = 1.0
    interpolate_lr: bool = False
    noise2noise: Any = None
    unpaired: bool = False

    def axes_for(self, src: Source) -> tuple[int, ...]:
        """Array axes (of X, Y, Z) that the model's spatial axes map to for this source."""
        if self.dims == 3:
            if src.is_2d:
                raise MedsrError(
                    f"{src.name} is a 2D image; a 3D model needs volumes (or set model.dims: 2)"
                )
            return (0, 1, 2)
        if src.is_2d:
            return (0, 1)
        cut = 2 if self.slice_axis is None else self.slice_axis
        return tuple(a for a in range(3) if a != cut)

    def factors3(self, src: Source) -> tuple[float, float, float]:
        """The scale factor along each array axis (1 on the axis a 2D model does not see)."""
        f = [1.0, 1.0, 1.0]
        for a, s in zip(self.axes_for(src), self.scale):
            f[a] = float(s)
        return tuple(f)  # type: ignore[return-value]

    def patch3(self, src: Source, patch: Sequence[int] | None = None) -> tuple[int, int, int]:
        """The HR patch size along each array axis (1 on the axis a 2D model does not see)."""
        patch = self.patch if patch is None else patch
        p = [1, 1, 1]
        axes = self.axes_for(src)
        for a, n in zip(axes, patch if patch is not None else [src.shape[a] for a in axes]):
            p[a] = int(n)
        return tuple(p)  # type: ignore[return-value]


def to_model_axes(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """(C, X, Y, Z) -> (C, *model axes): drop the array axis a 2D model does not see."""
    if len(axes) == 3:
        return x
    drop = next(a for a in range(3) if a not in axes)
    return np.take(x, 0, axis=1 + drop)


def crop_start(
    src: Source, patch: tuple[int, ...], foreground_probability: float, rng: np.random.Generator
) -> list[int]:
    """The corner of a random ``patch`` inside ``src``: uniform, or (with probability
    ``foreground_probability``, when the source has foreground coordinates) centred on a random
    foreground voxel and clipped to the image."""
    shape = src.shape
    if src.foreground is not None and rng.random() < foreground_probability:
        c = src.foreground[int(rng.integers(len(src.foreground)))]
        return [int(np.clip(int(c[a]) - patch[a] // 2, 0, shape[a] - patch[a])) for a in range(3)]
    return [int(rng.integers(0, shape[a] - patch[a] + 1)) for a in range(3)]


def random_crop(
    src: Source, spec: SamplingSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """A random ``(HR patch, LR patch or None)`` of ``src``, both ``(C, X, Y, Z)`` views.

    Without a real LR counterpart the LR patch is None (it is made by degrading the HR patch).
    With explicit pairs the HR corner snaps to the LR grid (whole factors) and both patches cover
    the same physical region.
    """
    patch = spec.patch3(src)
    start = crop_start(src, patch, spec.foreground_probability, rng)
    if src.lr is None:
        sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(start, patch))
        return src.hr[sl], None
    f = [int(v) for v in spec.factors3(src)]
    p_lr = [p // s for p, s in zip(patch, f)]
    limit = [
        min(src.lr.shape[1 + a] - p_lr[a], (src.hr.shape[1 + a] - patch[a]) // f[a])
        for a in range(3)
    ]
    lr_start = [min(max(start[a] // f[a], 0), limit[a]) for a in range(3)]
    hr_sl = (slice(None),) + tuple(slice(s * k, s * k + p) for s, k, p in zip(lr_start, f, patch))
    lr_sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(lr_start, p_lr))
    return src.hr[hr_sl], src.lr[lr_sl]


def add_noise(x: np.ndarray, sigma: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``x`` plus Gaussian noise of std ``sigma``, or its Rician magnitude (``kind="rician"``,
    Gudbjartsson & Patz 1995); the noisy copies of Noise2Noise training."""
    if sigma <= 0:
        return x
    if kind == "rician":
        n1 = rng.normal(0.0, sigma, x.shape)
        n2 = rng.normal(0.0, sigma, x.shape)
        return np.sqrt((x + n1) ** 2 + n2**2).astype(np.float32)
    return (x + rng.normal(0.0, sigma, x.shape)).astype(np.float32)


def interpolate_to(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Cubic interpolation of a ``(C, X, Y, Z)`` array onto ``shape`` (the ``zoom_grid``
    convention of :func:`medsr.interpolate.zoom_array`): LR input for pre-upsampling networks."""
    from medsr.interpolate import zoom_array

    factors = tuple(float(m) / float(n) for m, n in zip(shape, x.shape[1:]))
    out = zoom_array(x, factors, "cubic")
    if tuple(out.shape[1:]) != tuple(shape):
        raise MedsrError(f"interpolation gave {out.shape[1:]} instead of {tuple(shape)}")
    return np.asarray(out, dtype=np.float32)
