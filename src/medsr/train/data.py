"""Training data: HR images or volumes, LR made on the fly (or read as pairs), patches, augmentation.

Review section 5.1: SR networks learn from (LR, HR) pairs, almost always simulated by degrading HR
data with an operator ``A`` (eq. 3). A :class:`Source` holds one HR image or volume in memory (with
its fitted intensity :class:`~medsr.train.normalise.Normaliser`, and optionally a real LR
counterpart). :class:`PatchDataset` draws training samples from a list of sources:

* 2D patches from 2D images, 2D patches from slices of 3D volumes (``slice_axis``), or 3D patches;
* the HR patch is cropped first and degraded by the operator (any
  :func:`medsr.degrade.parse_degradation` spec) in physical units, then both are normalised with the
  volume's normaliser; explicit pairs are cropped at matching positions instead;
* optionally centred on the foreground (Otsu or percentile mask) for volumes with much air;
* augmented by flips, 90-degree rotations and transposes (only in planes whose axes share patch size
  and scale, so anisotropic degradations stay consistent), and optionally by Gaussian input noise,
  brightness, contrast and gamma (defaults safe for medical data: no colour jitter);
* in Noise2Noise mode (Lehtinen et al. 2018) the target is itself a noisy copy.

Reproducibility: a sample is a pure function of ``(seed, epoch, index)`` (its own
``numpy.random.Generator``), and :class:`EpochSampler` yields ``(epoch, index)`` keys split across
DDP ranks. Data order therefore does not depend on workers, processes, or on where a run was
interrupted: a resumed run sees exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from medsr.errors import MedsrError
from medsr.train.normalise import Normaliser

__all__ = [
    "EpochSampler",
    "PatchDataset",
    "SamplingSpec",
    "Source",
    "ValidationDataset",
    "list_files",
    "load_sources",
    "make_degradation",
    "otsu_threshold",
    "read_array",
    "seed_worker",
    "volume_referenced",
]

_WHERE = (
    "relative paths are resolved from the current directory {cwd}; run from the repository root"
)


# ---------------------------------------------------------------------- files
def list_files(spec: str, pattern: str | None = None, limit: int | None = None) -> list[Path]:
    """The image/volume files named by ``spec``: one file, a folder (its readable files, sorted;
    a folder of DICOM slices counts as one series) or a glob pattern."""
    from medsr.io import READ_SUFFIXES
    from medsr.io.atomic import full_suffix

    def readable(p: Path) -> bool:
        return p.is_file() and full_suffix(p) in READ_SUFFIXES and not p.name.startswith(".")

    def dicom_dir(p: Path) -> bool:
        return p.is_dir() and any(c.suffix.lower() in (".dcm", ".ima") for c in p.iterdir())

    path = Path(spec)
    if any(ch in spec for ch in "*?["):
        files = [Path(p) for p in sorted(glob.glob(spec))]
        files = [p for p in files if readable(p) or dicom_dir(p)]
    elif path.is_file():
        files = [path]
    elif path.is_dir():
        children = sorted(path.iterdir())
        if dicom_dir(path) and not any(
            readable(c) and full_suffix(c) not in (".dcm", ".ima") for c in children
        ):
            files = [path]
        else:
            files = [c for c in children if readable(c) or dicom_dir(c)]
    else:
        raise MedsrError(f"{spec} not found ({_WHERE.format(cwd=os.getcwd())})")
    if pattern:
        files = [f for f in files if fnmatch.fnmatch(f.name, pattern)]
    if limit:
        files = files[:limit]
    if not files:
        raise MedsrError(
            f"no readable images in {spec}" + (f" matching {pattern!r}" if pattern else "")
        )
    return files


def _key(path: Path) -> str:
    from medsr.io.atomic import full_suffix

    suffix = full_suffix(path)
    return path.name[: len(path.name) - len(suffix)] if suffix and path.is_file() else path.name


def read_array(path: Path, color: str = "y") -> tuple[np.ndarray, bool]:
    """``(float32 (C, X, Y, Z) array in physical units, is_2d)`` of one file, colour handled.

    ``color``: "y" (BT.601 luma of RGB in 16..235, as the SR literature), "grey" (luminance),
    "rgb" (keep three channels). Unreadable files raise :class:`MedsrError` naming the file.
    """
    from medsr.io import read

    try:
        vol = read(path)
    except MedsrError as err:
        msg = str(err)
        raise MedsrError(
            msg if str(path) in msg or path.name in msg else f"{path}: {msg}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a corrupt file the reader did not anticipate
        raise MedsrError(
            f"cannot read {path} ({type(exc).__name__}: {exc}); fix or remove the file"
        ) from None
    data = np.asarray(vol.data, dtype=np.float32)
    if not np.isfinite(data).all():
        raise MedsrError(f"{path} holds NaN/Inf values; clean it before training")
    if data.shape[0] == 4:  # RGBA: the alpha channel is not image content
        data = data[:3]
    if data.shape[0] == 3 and color != "rgb":
        rgb = np.moveaxis(data, 0, -1)
        if color == "y":
            from medsr.metrics.colour import rgb_to_y

            y = rgb_to_y(rgb)
        else:
            y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        data = np.asarray(y, dtype=np.float32)[None]
    return np.ascontiguousarray(data), bool(vol.meta.is_2d or data.shape[3] == 1)


def otsu_threshold(x: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold (1979): the level maximising the between-class variance of a histogram.

    Written here (12 lines) because scikit-image is only a development dependency of medsr.
    """
    v = np.asarray(x, dtype=np.float64).ravel()
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centres[int(np.argmax(between[:-1]))])


# ---------------------------------------------------------------------- sources
@dataclass
class Source:
    """One HR image/volume in memory.

    Attributes:
        name: file name (for messages and model.json).
        hr: ``(C, X, Y, Z)`` float32, physical units.
        norm: the normaliser fitted to this volume.
        lr: the real LR counterpart (explicit pairs), same units, or None.
        is_2d: a picture (``Z == 1``).
        foreground: ``(K, 3)`` voxel coordinates of foreground voxels (HR grid), or None.
    """

    name: str
    hr: np.ndarray
    norm: Normaliser
    lr: np.ndarray | None = None
    is_2d: bool = False
    foreground: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.hr.shape[1:])  # type: ignore[return-value]


def _foreground(
    hr: np.ndarray, method: str, percentile: float, seed: int, max_points: int = 200_000
) -> np.ndarray | None:
    if method == "none":
        return None
    img = hr.mean(axis=0)
    thr = otsu_threshold(img) if method == "otsu" else float(np.percentile(img, percentile))
    coords = np.argwhere(img > thr).astype(np.int32)
    if len(coords) == 0:
        return None
    if len(coords) > max_points:
        keep = np.random.default_rng([seed, 7]).choice(len(coords), max_points, replace=False)
        coords = coords[np.sort(keep)]
    return coords


def load_sources(
    hr_spec: str,
    *,
    lr_spec: str | None = None,
    pattern: str | None = None,
    limit: int | None = None,
    color: str = "y",
    normalisation: Normaliser | None = None,
    foreground: str = "none",
    foreground_percentile: float = 50.0,
    seed: int = 0,
) -> list[Source]:
    """Read the HR files (and LR pairs matched by file name) and fit a normaliser to each HR."""
    norm = normalisation or Normaliser()
    hr_files = list_files(hr_spec, pattern, limit)
    lr_by_key: dict[str, Path] = {}
    if lr_spec is not None:
        lr_by_key = {_key(p): p for p in list_files(lr_spec)}
    sources = []
    for path in hr_files:
        hr, is_2d = read_array(path, color)
        lr = None
        if lr_spec is not None:
            match = lr_by_key.get(_key(path))
            if match is None:
                raise MedsrError(
                    f"no LR file for {path.name} in {lr_spec} (pairs are matched by file name without extension)"
                )
            lr, _ = read_array(match, color)
            if lr.shape[0] != hr.shape[0]:
                raise MedsrError(f"{match} has {lr.shape[0]} channels but {path} has {hr.shape[0]}")
        fitted = norm.fit(hr)
        fg = _foreground(hr, foreground, foreground_percentile, seed)
        sources.append(Source(path.name, hr, fitted, lr, is_2d, fg))
    return sources


# ---------------------------------------------------------------------- degradation
def make_degradation(spec: str, factors: Sequence[float]) -> Any:
    """The operator ``parse_degradation(spec, factors)`` (a :class:`medsr.degrade.base.Degradation`);
    ``None`` for the spec "none" (identity, which needs all factors 1)."""
    if spec.strip().lower() in ("none", "identity"):
        if any(float(f) != 1.0 for f in factors):
            raise MedsrError(
                f"config: data.degradation: 'none' keeps the grid but the model scales by {list(factors)}"
            )
        return None
    from medsr.degrade import parse_degradation

    try:
        return parse_degradation(spec, tuple(float(f) for f in factors))
    except MedsrError as err:
        raise MedsrError(f"config: data.degradation: {err}") from None


def volume_referenced(op: Any, volume: np.ndarray) -> Any:
    """A copy of ``op`` whose noise levels refer to the whole ``volume``, not to each patch.

    Noise stages of :mod:`medsr.degrade.noise` take ``sigma`` relative to the intensity range of the
    array they act on, and Poisson "scaled" noise refers to its maximum. Training degrades small
    patches, so the noise would vary with each patch's contrast; here relative levels are turned
    into absolute ones from the volume's range (and maximum), so a patch gets the noise the whole
    scan would get from ``medsr degrade``.
    """
    import copy

    from medsr.degrade.noise import GaussianNoise, PoissonNoise, RicianNoise
    from medsr.degrade.pipeline import Pipeline

    if op is None:
        return None
    if isinstance(op, Pipeline):
        new = copy.copy(op)
        new.stages = [volume_referenced(st, volume) for st in op.stages]
        return new
    if isinstance(op, (GaussianNoise, RicianNoise)) and op.relative:
        new = copy.copy(op)
        new.sigma = float(op.sigma) * float(np.max(volume) - np.min(volume))
        new.relative = False
        return new
    if isinstance(op, PoissonNoise) and op.model == "scaled" and op.reference is None:
        new = copy.copy(op)
        peak = float(np.max(volume))
        new.reference = peak if peak > 0 else None
        return new
    return op


def _interp_to(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Cubic interpolation of a ``(C, X, Y, Z)`` array onto ``shape`` (the zoom_grid convention)."""
    factors = tuple(float(m) / float(n) for m, n in zip(shape, x.shape[1:]))
    try:
        from medsr.interpolate import zoom_array
    except ImportError:  # medsr.interpolate not installed yet: torch's cubic, same grid convention
        import torch.nn.functional as F

        t = torch.from_numpy(np.ascontiguousarray(x))[None]
        keep = [i for i, n in enumerate(shape) if n > 1 or x.shape[1 + i] > 1]
        t = t.squeeze(2 + next(i for i in range(3) if i not in keep)) if len(keep) == 2 else t
        mode = "bicubic" if t.ndim == 4 else "trilinear"
        size = [int(shape[i]) for i in keep] if len(keep) == 2 else [int(n) for n in shape]
        out_t = F.interpolate(t, size=size, mode=mode, align_corners=False)[0].numpy()
        out = out_t.reshape((x.shape[0],) + tuple(int(n) for n in shape))
        return np.asarray(out, dtype=np.float32)
    out = zoom_array(x, factors, "cubic")
    if tuple(out.shape[1:]) != tuple(shape):
        raise MedsrError(f"interpolation gave {out.shape[1:]} instead of {tuple(shape)}")
    return np.asarray(out, dtype=np.float32)


# ---------------------------------------------------------------------- sampling
@dataclass
class SamplingSpec:
    """How samples are cut (built by :func:`medsr.train.run` from a config).

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
        f = [1.0, 1.0, 1.0]
        for a, s in zip(self.axes_for(src), self.scale):
            f[a] = float(s)
        return tuple(f)  # type: ignore[return-value]

    def patch3(self, src: Source, patch: Sequence[int] | None = None) -> tuple[int, int, int]:
        patch = self.patch if patch is None else patch
        p = [1, 1, 1]
        axes = self.axes_for(src)
        for a, n in zip(axes, patch if patch is not None else [src.shape[a] for a in axes]):
            p[a] = int(n)
        return tuple(p)  # type: ignore[return-value]


def _squeeze(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """(C, X, Y, Z) -> (C, *model axes): drop the array axis a 2D model does not see."""
    if len(axes) == 3:
        return x
    drop = next(a for a in range(3) if a not in axes)
    return np.take(x, 0, axis=1 + drop)


def _add_noise(x: np.ndarray, sigma: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    if sigma <= 0:
        return x
    if kind == "rician":
        n1 = rng.normal(0.0, sigma, x.shape)
        n2 = rng.normal(0.0, sigma, x.shape)
        return np.sqrt((x + n1) ** 2 + n2**2).astype(np.float32)
    return (x + rng.normal(0.0, sigma, x.shape)).astype(np.float32)


def _geometric(
    arrays: list[np.ndarray],
    spatial: Sequence[int],
    factors: Sequence[float],
    aug: Any,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Flips / rot90 / transposes applied identically to HR (and LR) ``(C, X, Y, Z)`` arrays.

    Rotations and transposes only in planes whose axes have equal size in every array and equal
    factor, so an anisotropic operator (thick slices along Z) is never turned sideways.
    """
    out = list(arrays)
    if aug is None:
        return out
    if aug.flip:
        for a in spatial:
            if rng.random() < 0.5:
                out = [np.flip(x, axis=1 + a) for x in out]
    planes = [
        (a, b)
        for i, a in enumerate(spatial)
        for b in spatial[i + 1 :]
        if factors[a] == factors[b] and all(x.shape[1 + a] == x.shape[1 + b] for x in out)
    ]
    for a, b in planes:
        if aug.rot90:
            k = int(rng.integers(4))
            if k:
                out = [np.rot90(x, k, axes=(1 + a, 1 + b)) for x in out]
        if aug.transpose and rng.random() < 0.5:
            out = [np.swapaxes(x, 1 + a, 1 + b) for x in out]
    return out


def _intensity(
    hr: np.ndarray, lr: np.ndarray, aug: Any, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Brightness / contrast / gamma (same map on input and target) and input-only noise."""
    if aug is None:
        return hr, lr
    if aug.brightness > 0:
        b = np.float32(rng.uniform(-aug.brightness, aug.brightness))
        hr, lr = hr + b, lr + b
    if aug.contrast > 0:
        c = np.float32(rng.uniform(1 - aug.contrast, 1 + aug.contrast))
        m = np.float32(hr.mean())
        hr, lr = (hr - m) * c + m, (lr - m) * c + m
    if aug.gamma > 0:
        g = float(np.exp(rng.uniform(-aug.gamma, aug.gamma)))
        hr = np.sign(hr) * np.abs(hr) ** g
        lr = np.sign(lr) * np.abs(lr) ** g
    if aug.noise_std > 0:
        lr = lr + rng.normal(0.0, rng.uniform(0.0, aug.noise_std), lr.shape)
    return hr.astype(np.float32, copy=False), lr.astype(np.float32, copy=False)


class PatchDataset(Dataset):
    """Random training samples; ``dataset[(epoch, index)] -> {"lr": Tensor, "hr": Tensor}``.

    Each item is a pure function of ``(seed, epoch, index)``. Tensors are ``(C, *patch)`` (LR:
    ``(C, *patch / scale)``, or HR-sized with ``interpolate_lr``).

    Args:
        sources: the HR data (:func:`load_sources`).
        spec: how to cut and degrade (:class:`SamplingSpec`).
        length: samples per epoch (the sampler's range).
        seed: the run's seed.
    """

    def __init__(
        self, sources: Sequence[Source], spec: SamplingSpec, length: int, seed: int = 0
    ) -> None:
        if not sources:
            raise MedsrError("no training images")
        self.sources = list(sources)
        self.spec = spec
        self.length = int(length)
        self.seed = int(seed)
        self._degrade: dict[int, Any] = {}
        weights = []
        for src in self.sources:
            patch = spec.patch3(src)
            for a in range(3):
                if patch[a] > src.shape[a]:
                    raise MedsrError(
                        f"data.patch_size {list(spec.patch or [])} is larger than {src.name} "
                        f"(shape {src.shape}); use smaller patches"
                    )
            if src.lr is not None:
                self._check_pair(src)
            n = 1
            for a in range(3):
                n *= src.shape[a] - patch[a] + 1
            weights.append(float(n))
        w = np.asarray(weights)
        self.probabilities = w / w.sum()

    def _check_pair(self, src: Source) -> None:
        f = self.spec.factors3(src)
        assert src.lr is not None
        for a in range(3):
            if not float(f[a]).is_integer():
                raise MedsrError(
                    f"explicit LR/HR pairs need whole scale factors, got {list(self.spec.scale)}"
                )
            n_lr, n_hr = src.lr.shape[1 + a], src.hr.shape[1 + a]
            if abs(n_hr - n_lr * f[a]) >= f[a]:
                raise MedsrError(
                    f"{src.name}: LR shape {src.lr.shape[1:]} x scale {f} does not match HR shape {src.hr.shape[1:]}"
                )

    def __len__(self) -> int:
        return self.length

    def degrade(self, hr: np.ndarray, src: Source, rng: np.random.Generator) -> np.ndarray:
        """Apply the configured operator to a patch of ``src`` (noise levels referred to the whole
        volume, see :func:`volume_referenced`; operators cached per source)."""
        key = id(src)
        if key not in self._degrade:
            op = make_degradation(self.spec.degradation, self.spec.factors3(src))
            self._degrade[key] = volume_referenced(op, src.hr)
        op = self._degrade[key]
        return hr.copy() if op is None else np.asarray(op.apply_array(hr, rng), dtype=np.float32)

    # -------------------------------------------------------------- cropping
    def _start(self, src: Source, patch: tuple[int, ...], rng: np.random.Generator) -> list[int]:
        shape = src.shape
        if src.foreground is not None and rng.random() < self.spec.foreground_probability:
            c = src.foreground[int(rng.integers(len(src.foreground)))]
            return [
                int(np.clip(int(c[a]) - patch[a] // 2, 0, shape[a] - patch[a])) for a in range(3)
            ]
        return [int(rng.integers(0, shape[a] - patch[a] + 1)) for a in range(3)]

    def _crop(self, src: Source, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        patch = self.spec.patch3(src)
        start = self._start(src, patch, rng)
        if src.lr is None:
            sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(start, patch))
            return src.hr[sl], None
        f = [int(v) for v in self.spec.factors3(src)]
        p_lr = [p // s for p, s in zip(patch, f)]
        limit = [
            min(src.lr.shape[1 + a] - p_lr[a], (src.hr.shape[1 + a] - patch[a]) // f[a])
            for a in range(3)
        ]
        lr_start = [min(max(start[a] // f[a], 0), limit[a]) for a in range(3)]
        hr_sl = (slice(None),) + tuple(
            slice(s * k, s * k + p) for s, k, p in zip(lr_start, f, patch)
        )
        lr_sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(lr_start, p_lr))
        return src.hr[hr_sl], src.lr[lr_sl]

    def _draw(
        self, rng: np.random.Generator, *, need_hr: bool = True
    ) -> tuple[Source, np.ndarray, np.ndarray]:
        src = self.sources[int(rng.choice(len(self.sources), p=self.probabilities))]
        axes = self.spec.axes_for(src)
        factors = self.spec.factors3(src)
        hr, lr = self._crop(src, rng)
        arrays = _geometric([hr] if lr is None else [hr, lr], axes, factors, self.spec.augment, rng)
        hr = np.ascontiguousarray(arrays[0])
        lr = self.degrade(hr, src, rng) if lr is None else np.ascontiguousarray(arrays[1])
        return src, src.norm.forward(hr), src.norm.forward(lr)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        """The sample ``(epoch, index)``."""
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        src, hr, lr = self._draw(rng)
        if self.spec.unpaired:
            _, _, lr = self._draw(np.random.default_rng([self.seed, int(epoch), int(index), 1]))
        n2n = self.spec.noise2noise
        if n2n is not None and src.lr is None:
            hr = _add_noise(hr, n2n.sigma, n2n.noise, rng)
            if n2n.noisy_input:
                lr = _add_noise(lr, n2n.sigma, n2n.noise, rng)
        hr, lr = _intensity(hr, lr, self.spec.augment, rng)
        if self.spec.interpolate_lr:
            lr = _interp_to(lr, hr.shape[1:])
        axes = self.spec.axes_for(src)
        return {
            "lr": torch.from_numpy(np.ascontiguousarray(_squeeze(lr, axes), dtype=np.float32)),
            "hr": torch.from_numpy(np.ascontiguousarray(_squeeze(hr, axes), dtype=np.float32)),
        }

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        return self.item(epoch, index)


class ValidationDataset(Dataset):
    """Fixed validation pairs: whole images (or centre crops), evenly spaced slices of volumes for
    2D models, a centre block for 3D models. LR made once with a fixed seed per item. In Noise2Noise
    mode the input gets noise and the target stays clean, so the metrics measure the restoration."""

    def __init__(
        self,
        sources: Sequence[Source],
        spec: SamplingSpec,
        *,
        crop: Sequence[int] | None = None,
        slices: int = 4,
        max_items: int | None = None,
        seed: int = 0,
    ) -> None:
        self.items: list[dict[str, torch.Tensor]] = []
        maker = PatchDataset.__new__(PatchDataset)  # reuse its degradation cache only
        maker.spec, maker._degrade = spec, {}
        for i, src in enumerate(sources):
            axes = spec.axes_for(src)
            factors = spec.factors3(src)
            size = (
                [src.shape[a] for a in axes]
                if crop is None
                else [min(c, src.shape[a]) for c, a in zip(crop, axes)]
            )
            size = [
                int(n - n % int(s)) if float(s).is_integer() else int(n)
                for n, s in zip(size, spec.scale)
            ]
            if any(n < 1 for n in size):
                raise MedsrError(f"validation image {src.name} is smaller than the scale factor")
            patch = spec.patch3(src, size)
            if src.is_2d or len(axes) == 3:
                positions = [0]
            else:
                cut = next(a for a in range(3) if a not in axes)
                n = src.shape[cut]
                positions = sorted(
                    {round(v) for v in np.linspace(0.25 * (n - 1), 0.75 * (n - 1), slices)}
                )
            for pos in positions:
                start = [(src.shape[a] - patch[a]) // 2 for a in range(3)]
                if len(axes) == 2 and not src.is_2d:
                    cut = next(a for a in range(3) if a not in axes)
                    start[cut] = pos
                sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(start, patch))
                hr = np.ascontiguousarray(src.hr[sl])
                if src.lr is not None:
                    f = [int(v) for v in factors]
                    lr_sl = (slice(None),) + tuple(
                        slice(s // k, s // k + p // k) for s, k, p in zip(start, f, patch)
                    )
                    lr = np.ascontiguousarray(src.lr[lr_sl])
                else:
                    lr = maker.degrade(hr, src, np.random.default_rng([seed, 1_000_003, i, pos]))
                hr_n, lr_n = src.norm.forward(hr), src.norm.forward(lr)
                n2n = spec.noise2noise
                if n2n is not None and src.lr is None and n2n.noisy_input:
                    # Noise2Noise: a noisy input against the clean target measures the denoising
                    lr_n = _add_noise(
                        lr_n, n2n.sigma, n2n.noise, np.random.default_rng([seed, 1_000_033, i, pos])
                    )
                if spec.interpolate_lr:
                    lr_n = _interp_to(lr_n, hr_n.shape[1:])
                self.items.append(
                    {
                        "lr": torch.from_numpy(np.ascontiguousarray(_squeeze(lr_n, axes))),
                        "hr": torch.from_numpy(np.ascontiguousarray(_squeeze(hr_n, axes))),
                    }
                )
                if max_items is not None and len(self.items) >= max_items:
                    return

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` keys for :class:`PatchDataset`, this rank's share of the epoch.

    Lightning calls :meth:`set_epoch` before every epoch; rank ``r`` of ``w`` takes indices
    ``r, r + w, ...`` so the ranks see disjoint samples and together the same set as one process.
    """

    def __init__(self, length: int, *, rank: int = 0, world_size: int = 1) -> None:
        if length % world_size:
            raise MedsrError(
                f"epoch length {length} is not divisible by the {world_size} processes"
            )
        self.length = int(length)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        return iter([(epoch, i) for i in range(self.rank, self.length, self.world_size)])

    def __len__(self) -> int:
        return self.length // self.world_size


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: deterministic numpy/torch/random seeds per data-loader worker (samples do
    not use them, but user code or libraries might)."""
    import random

    base = torch.initial_seed() % 2**32
    np.random.seed((base + worker_id) % 2**32)
    random.seed(base + worker_id)
