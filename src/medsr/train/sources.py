"""Training sources: HR images or volumes (and optional real LR pairs) read into memory.

Review section 5.1: SR networks learn from (LR, HR) pairs, almost always simulated by degrading HR
data with an operator ``A`` (eq. 3). A :class:`Source` holds one HR image or volume in physical
units, with its fitted intensity :class:`~medsr.normalise.Normaliser`, optionally a real LR
counterpart (explicit pairs, matched by file name), and optionally the coordinates of its
foreground (Otsu 1979 or a percentile threshold) so that patches of volumes with much air can be
centred on the object (:mod:`medsr.train.sampling`).

Colour follows the SR literature: RGB pictures are reduced to BT.601 luma (Y) unless asked
otherwise (review section 5.2: PSNR/SSIM on Y).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medsr.errors import MedsrError
from medsr.normalise import Normaliser

if TYPE_CHECKING:
    from medsr.train.config import DataSplit

__all__ = [
    "Source",
    "cut_source",
    "foreground_coordinates",
    "keep_slices",
    "list_files",
    "load_sources",
    "load_split",
    "otsu_threshold",
    "read_array",
    "slice_source",
]


def list_files(spec: str, pattern: str | None = None, limit: int | None = None) -> list[Path]:
    """The images/volumes named by ``spec`` (:func:`medsr.io.discover.find_scans`: one file, a
    folder of scans, a DICOM series folder or a glob), those whose name matches ``pattern``
    (fnmatch), at most ``limit``."""
    from medsr.io.discover import find_scans

    files = find_scans(spec)
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
    """The name that pairs an HR file with its LR file: the file name without its extension."""
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

    Written here (12 lines) because scikit-image is only a development dependency of medsr; this
    is medsr's only implementation (training's foreground sampling is its one user).
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
        origin: index of this array's first voxel in its file's grid (non-zero after
            ``data.*.slices`` or a held-out slab), so that maps of the whole file (labels) can be
            cut the same way.
    """

    name: str
    hr: np.ndarray
    norm: Normaliser
    lr: np.ndarray | None = None
    is_2d: bool = False
    foreground: np.ndarray | None = None
    origin: tuple[int, int, int] = (0, 0, 0)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.hr.shape[1:])  # type: ignore[return-value]


def foreground_coordinates(
    hr: np.ndarray, method: str, percentile: float, seed: int, max_points: int = 200_000
) -> np.ndarray | None:
    """``(K, 3)`` voxel coordinates above the channel mean's Otsu (``method="otsu"``) or
    ``percentile`` threshold; a seeded subset of ``max_points`` for big volumes. None for
    ``method="none"`` or an empty foreground."""
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


def _slice_range(n: int, slices: tuple[int, int], axis: int, name: str) -> range:
    """The indices ``data.*.slices`` keeps of ``n`` slices (Python bounds); refuses none."""
    start, stop = (int(v) for v in slices)
    index = range(n)[start:stop]
    if len(index) == 0:
        raise MedsrError(
            f"config: data.*.slices [{start}, {stop}] keeps no slice of {name} "
            f"({n} slices along axis {axis})"
        )
    return index


def keep_slices(hr: np.ndarray, slices: tuple[int, int], axis: int, name: str) -> np.ndarray:
    """``hr`` (C, X, Y, Z) restricted to the slices ``start <= i < stop`` along spatial ``axis``;
    refuses an empty selection."""
    index = _slice_range(hr.shape[1 + axis], slices, axis, name)
    cut = [slice(None)] * hr.ndim
    cut[1 + axis] = slice(index.start, index.stop)
    return np.ascontiguousarray(hr[tuple(cut)])


def cut_source(src: Source, axis: int, start: int, stop: int) -> Source:
    """``src`` restricted to the slices ``start <= i < stop`` along spatial ``axis`` (all
    channels, e.g. an attached reference, alike; foreground coordinates filtered and shifted;
    the normaliser kept)."""
    sl = [slice(None)] * 4
    sl[1 + axis] = slice(start, stop)
    fg = src.foreground
    if fg is not None:
        keep = (fg[:, axis] >= start) & (fg[:, axis] < stop)
        fg = fg[keep].copy()
        fg[:, axis] -= start
        fg = fg if len(fg) else None
    origin = list(src.origin)
    origin[axis] += int(start)
    return replace(
        src,
        hr=np.ascontiguousarray(src.hr[tuple(sl)]),
        foreground=fg,
        origin=(origin[0], origin[1], origin[2]),
    )


def slice_source(src: Source, slices: tuple[int, int], axis: int) -> Source:
    """:func:`cut_source` with ``data.*.slices`` semantics (Python bounds, negative ones from
    the end); refuses an empty selection as :func:`keep_slices`."""
    index = _slice_range(src.shape[axis], slices, axis, src.name)
    return cut_source(src, axis, index.start, index.stop)


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
    slices: tuple[int, int] | None = None,
    slice_axis: int | None = None,
) -> list[Source]:
    """Read the HR files (and LR pairs matched by file name) and fit a normaliser to each HR.

    ``slices = (start, stop)`` keeps only the slices ``start <= i < stop`` of each volume along
    ``slice_axis`` (train on some slices of a scan, validate on others; Python slice bounds,
    negative ones count from the end). Not with explicit LR pairs."""
    norm = normalisation or Normaliser()
    if slices is not None and (slice_axis is None or lr_spec is not None):
        raise MedsrError(
            "config: data.*.slices needs data.slice_axis (the axis slices are cut across) and "
            "no lr_dir"
        )
    hr_files = list_files(hr_spec, pattern, limit)
    lr_by_key: dict[str, Path] = {}
    if lr_spec is not None:
        lr_by_key = {_key(p): p for p in list_files(lr_spec)}
    sources = []
    for path in hr_files:
        hr, is_2d = read_array(path, color)
        origin = [0, 0, 0]
        if slices is not None:
            axis = int(slice_axis)  # type: ignore[arg-type]
            origin[axis] = range(hr.shape[1 + axis])[slices[0] : slices[1]].start
            hr = keep_slices(hr, slices, axis, path.name)
        lr = None
        if lr_spec is not None:
            match = lr_by_key.get(_key(path))
            if match is None:
                raise MedsrError(
                    f"no LR file for {path.name} in {lr_spec} (pairs are matched by file name "
                    "without extension)"
                )
            lr, _ = read_array(match, color)
            if lr.shape[0] != hr.shape[0]:
                raise MedsrError(f"{match} has {lr.shape[0]} channels but {path} has {hr.shape[0]}")
        fitted = norm.fit(hr)
        fg = foreground_coordinates(hr, foreground, foreground_percentile, seed)
        start = (origin[0], origin[1], origin[2])
        sources.append(Source(path.name, hr, fitted, lr, is_2d, fg, start))
    return sources


def load_split(
    split: DataSplit, slice_axis: int | list[int] | None, common: dict[str, Any]
) -> list[Source]:
    """:func:`load_sources` of one config split (``data.train``, ``data.val``,
    ``cycle.lr_domain``): its files, LR pairs, ``pattern``, ``limit`` and ``slices`` along
    ``slice_axis``, with the reading options shared by every split (``common``: colour,
    normaliser, foreground, seed)."""
    return load_sources(
        split.hr_dir,
        lr_spec=split.lr_dir,
        pattern=split.pattern,
        limit=split.limit,
        **common,
        slices=split.slices,
        slice_axis=slice_axis,  # type: ignore[arg-type]
    )
