"""Natural-image patches chosen by SIFT feature matching to enlarge a small medical training set
(review section 5, ref. [54]).

The review's ref. [54] enlarges a scarce medical training set with patches of natural images that
*look like* the medical ones, found by matching SIFT keypoint descriptors (Lowe 2004) between the
two sets, and trains the SR network on the union. Here:

1. :func:`medical_descriptors`: SIFT descriptors (128-d, :class:`skimage.feature.SIFT`) of a few
   slices of every medical training source (each slice rescaled to its 1-99 % percentile range),
   pooled (at most ``max_descriptors``, a seeded subset).
2. :func:`select_patches`: SIFT on each natural image (its own 1-99 % range); every
   ``patch x patch`` window on a grid of stride ``patch // 2`` holding at least
   ``min_keypoints`` keypoints is scored by the mean Euclidean distance of its descriptors to
   their nearest medical descriptor, ``d(P) = 1/|K_P| sum_{k in K_P} min_j ||f_k - g_j||_2``;
   the ``count`` windows of lowest ``d`` are kept (at most ``per_image`` per picture).
3. :func:`transfer_sources`: the chosen windows become extra training
   :class:`~medsr.train.sources.Source` objects (2D, BT.601 luma, normaliser fitted to each as to
   any source); with ``share`` they receive that fraction of the sampling probability
   (:func:`medsr.train.extra_sources.apply_extra_shares`), otherwise the data set's usual
   weighting by crop positions.

Recipe option (``data.transfer``, 2D models)::

    data:
      transfer: {source: ../shared/data/natural/CBSD68, count: 64, patch: 64, share: 0.3}

Simplified: the distance is nearest-neighbour descriptor matching without Lowe's ratio test or
geometric verification, and patches are windows on a grid (not regions around matched keypoints).
scikit-image (a development dependency of medsr) is needed for SIFT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.normalise import Normaliser
from medsr.train.sources import Source, list_files, read_array

__all__ = [
    "TransferPatch",
    "descriptor_distance",
    "medical_descriptors",
    "score_windows",
    "select_patches",
    "sift_features",
    "sources_from_config",
    "transfer_sources",
]


@dataclass(frozen=True)
class TransferPatch:
    """One chosen natural window: file, corner (row, column), size, score (mean descriptor
    distance to the medical set) and number of keypoints inside."""

    path: Path
    corner: tuple[int, int]
    size: int
    distance: float
    keypoints: int


def _unit(img: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(img, (1.0, 99.0))
    if not hi > lo:
        return np.zeros_like(img, dtype=np.float64)
    return np.clip((img.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)


def sift_features(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(keypoints (K, 2) row/column, descriptors (K, 128) float32)`` of a 2D image (SIFT, Lowe
    2004, via scikit-image; the image is first rescaled to its 1-99 % percentile range). No
    keypoint (flat or tiny image) gives empty arrays."""
    try:
        from skimage.feature import SIFT
    except ImportError:  # pragma: no cover - scikit-image is a dev dependency
        raise MedsrError(
            "patch transfer needs scikit-image for SIFT; pip install scikit-image"
        ) from None
    img = _unit(np.asarray(image))
    empty = (np.zeros((0, 2), np.int64), np.zeros((0, 128), np.float32))
    if min(img.shape) < 16 or float(img.max()) <= 0:
        return empty
    sift = SIFT(upsampling=1)
    try:
        sift.detect_and_extract(img)
    except RuntimeError:  # skimage raises when no keypoint survives
        return empty
    return np.asarray(sift.keypoints), np.asarray(sift.descriptors, dtype=np.float32)


def descriptor_distance(queries: np.ndarray, pool: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Euclidean distance of each query descriptor to its nearest neighbour in ``pool``."""
    if len(pool) == 0:
        raise MedsrError("no SIFT keypoints in the medical images; use larger or sharper slices")
    p = pool.astype(np.float64)
    pn = (p**2).sum(1)
    out = np.empty(len(queries))
    for i in range(0, len(queries), chunk):
        q = queries[i : i + chunk].astype(np.float64)
        d2 = (q**2).sum(1)[:, None] + pn[None, :] - 2.0 * q @ p.T
        out[i : i + chunk] = np.sqrt(np.maximum(d2.min(1), 0.0))
    return out


def _slices(src: Source, axis: int, count: int) -> list[np.ndarray]:
    img = src.hr.mean(axis=0)
    if src.is_2d:
        return [img[:, :, 0]]
    energy = np.abs(img).sum(axis=tuple(a for a in range(3) if a != axis))
    inside = np.flatnonzero(energy > 0.2 * energy.max())
    if inside.size == 0:  # an all-zero volume: no slice to describe
        return []
    picks = np.unique(np.linspace(inside[0], inside[-1], count).round().astype(int))
    return [np.take(img, int(k), axis=axis) for k in picks]


def medical_descriptors(
    sources: Sequence[Source],
    *,
    slice_axis: int = 2,
    slices: int = 8,
    max_descriptors: int = 20000,
    seed: int = 0,
) -> np.ndarray:
    """Pooled SIFT descriptors ``(N, 128)`` of ``slices`` evenly spaced slices (across
    ``slice_axis``, within the part of the volume holding signal) of every medical source."""
    parts = [sift_features(s)[1] for src in sources for s in _slices(src, slice_axis, slices)]
    pool = np.concatenate(parts) if parts else np.zeros((0, 128), np.float32)
    if len(pool) > max_descriptors:
        keep = np.random.default_rng([seed, 54]).choice(len(pool), max_descriptors, replace=False)
        pool = pool[np.sort(keep)]
    return pool


def _windows(shape: tuple[int, int], patch: int) -> list[tuple[int, int]]:
    stride = max(patch // 2, 1)

    def starts(n: int) -> list[int]:
        s = list(range(0, n - patch + 1, stride))
        return s + ([n - patch] if s and s[-1] != n - patch else [])

    return [(r, c) for r in starts(shape[0]) for c in starts(shape[1])]


def score_windows(
    image: np.ndarray,
    pool: np.ndarray,
    patch: int,
    min_keypoints: int = 3,
    *,
    features: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[tuple[int, int], float, int]]:
    """``[(corner, mean descriptor distance, keypoints)]`` of every grid window of ``image``
    holding at least ``min_keypoints`` SIFT keypoints (``features``: the image's
    :func:`sift_features` when already computed)."""
    kp, desc = sift_features(image) if features is None else features
    if len(kp) == 0:
        return []
    dist = descriptor_distance(desc, pool)
    out = []
    for r, c in _windows(image.shape, patch):
        inside = (kp[:, 0] >= r) & (kp[:, 0] < r + patch) & (kp[:, 1] >= c) & (kp[:, 1] < c + patch)
        n = int(inside.sum())
        if n >= min_keypoints:
            out.append(((r, c), float(dist[inside].mean()), n))
    return out


def select_patches(
    natural: str | Path,
    pool: np.ndarray,
    *,
    count: int,
    patch: int = 64,
    per_image: int = 4,
    limit: int | None = None,
    min_keypoints: int = 3,
) -> list[TransferPatch]:
    """The ``count`` natural windows whose SIFT descriptors lie closest to the medical ``pool``
    (see the module docstring); ``natural`` is a folder / glob / file of pictures (``limit``:
    the first N files)."""
    if count < 1:
        raise OptionError("{count} must be >= 1")
    if patch < 16:
        raise OptionError("{patch} must be >= 16")
    scored: list[TransferPatch] = []
    for path in list_files(str(natural), limit=limit):
        arr, is_2d = read_array(path, "y")
        if not is_2d or arr.shape[1] < patch or arr.shape[2] < patch:
            continue
        wins = sorted(
            score_windows(arr[0, :, :, 0], pool, patch, min_keypoints), key=lambda w: w[1]
        )
        scored += [TransferPatch(path, corner, patch, d, n) for corner, d, n in wins[:per_image]]
    if not scored:
        raise MedsrError(
            f"no natural picture in {natural} has a {patch}x{patch} window with "
            f"{min_keypoints} SIFT keypoints; use larger pictures or a smaller patch"
        )
    return sorted(scored, key=lambda p: (p.distance, str(p.path), p.corner))[:count]


def transfer_sources(chosen: Sequence[TransferPatch], normalisation: Normaliser) -> list[Source]:
    """Training sources (2D luma windows, normaliser fitted to each) of the chosen patches."""
    out = []
    for p in chosen:
        arr, _ = read_array(p.path, "y")
        r, c = p.corner
        hr = np.ascontiguousarray(arr[:, r : r + p.size, c : c + p.size, :])
        name = f"transfer:{p.path.name}@{r},{c}"
        out.append(Source(name, hr, normalisation.fit(hr), None, True, None))
    return out


def sources_from_config(
    cfg: Any, sources: Sequence[Source], normalisation: Normaliser
) -> list[Source]:
    """The transferred sources asked for by ``cfg.data.transfer`` (a
    :class:`medsr.train.config.TransferSection`) for the medical ``sources``."""
    t = cfg.data.transfer
    if cfg.model.dims != 2 or cfg.model.in_channels != 1:
        raise MedsrError(
            "config: data.transfer: natural patches are 2D luma images; use model.dims: 2 and "
            "model.in_channels: 1"
        )
    if any(t.patch < p for p in cfg.patch_tuple()):
        raise MedsrError(
            f"config: data.transfer.patch: {t.patch} is smaller than data.patch_size "
            f"{list(cfg.patch_tuple())}"
        )
    axis = 2 if cfg.data.slice_axis is None else cfg.data.slice_axis
    pool = medical_descriptors(sources, slice_axis=axis, slices=t.slices, seed=cfg.seed)
    chosen = select_patches(
        t.source, pool, count=t.count, patch=t.patch, per_image=t.per_image, limit=t.limit
    )
    return transfer_sources(chosen, normalisation)
