"""Training pairs of self-supervised SR, made from the scan's own high-resolution planes.

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [84], section 4.2.2 of the review): the in-plane
resolution of a thick-slice scan is the through-plane resolution we want. So each in-plane slice
is degraded *along one of its in-plane axes* exactly as the acquisition degraded the slice axis
(profile ``h``, spacing ``s``), interpolated back to the fine grid with the same interpolator the
volume will be interpolated with, and the network learns ``interpolated LR -> HR`` on these pairs.
Both in-plane axes are used (a 90 degree rotation of the data) and flips augment the set.

Layout: every pair is stored as ``(N, R, W)`` float32 stacks whose *rows* (axis 1) are the degraded
direction, so the network always sees the blur along the rows, and the through-plane slices are
later presented the same way (slice axis along the rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medsr.degrade import SliceProfile, thick_slice_operator
from medsr.errors import MedsrError
from medsr.interpolate import zoom_array

__all__ = [
    "PatchSampler",
    "TrainingPairs",
    "compatible_length",
    "crop_compatible",
    "make_training_pairs",
    "slice_period",
]


def slice_period(factor: float) -> int:
    """The period (target voxels) of the thick slices' sample positions along the slice axis: the
    factor when it is a whole number (within 1e-6, e.g. a ratio of spacings), else 1 (no fixed
    phase)."""
    whole = round(float(factor))
    return whole if whole > 1 and abs(float(factor) - whole) < 1e-6 else 1


def compatible_length(n: int, factor: float) -> int:
    """The largest ``n' <= n`` whose down- and up-sampled grids tile back onto itself.

    With the grid rule of :func:`medsr.volume.zoom_grid`, ``n`` voxels shrunk by ``factor`` give
    ``m = round(n / factor)`` and ``m`` enlarged by ``factor`` give ``round(m * factor)``; when that
    equals ``n`` the up-sampled grid is the original grid (same centre, same spacing), so the pair
    compares the same voxels. Always true for multiples of an integer factor.
    """
    for k in range(n, 0, -1):
        m = max(1, round(k / factor))
        if round(m * factor) == k:
            return k
    raise MedsrError(f"no grid of at most {n} voxels tiles with factor {factor}")


def crop_compatible(data: np.ndarray, axis: int, factor: float) -> tuple[np.ndarray, int]:
    """``data`` (``(C, X, Y, Z)``) cropped centrally along ``axis`` to :func:`compatible_length`
    (a contiguous copy), and the index of its first kept voxel."""
    n = data.shape[axis + 1]
    keep = compatible_length(n, factor)
    start = (n - keep) // 2
    index = [slice(None)] * data.ndim
    index[axis + 1] = slice(start, start + keep)
    return np.ascontiguousarray(data[tuple(index)], dtype=np.float32), start


@dataclass
class TrainingPairs:
    """Stacks of 2D training planes: ``inputs`` (interpolated LR) and ``targets`` (HR).

    Both are ``(N, R, W)`` float32 with the degraded direction along ``R``. Different in-plane
    orientations may have different ``(R, W)``, so one instance holds a list of stacks.
    """

    inputs: list[np.ndarray]
    targets: list[np.ndarray]

    @property
    def n_planes(self) -> int:
        return int(sum(a.shape[0] for a in self.inputs))


def make_training_pairs(
    hr: np.ndarray,
    slice_axis: int,
    factor: float,
    profile: SliceProfile,
    fwhm_voxels: float,
    *,
    interpolation: str = "bspline",
    axes: Sequence[int] | None = None,
    phases: int = 1,
    min_length: int = 0,
    interleave: bool = False,
) -> TrainingPairs:
    """Degrade the in-plane planes of ``hr`` along each in-plane axis and interpolate them back.

    Args:
        hr: ``(C, X, Y, Z)`` array (normalised intensities) whose planes orthogonal to
            ``slice_axis`` are at the target resolution.
        slice_axis: the thick-slice axis (0, 1 or 2).
        factor: slice spacing in target voxels.
        profile, fwhm_voxels: the slice profile and its width in target voxels.
        interpolation: the interpolator the thick-slice volume is up-sampled with (SMORE learns to
            restore *that* interpolation, so train and test must use the same).
        axes: the in-plane axes to degrade (default: both). Degrading an in-plane axis whose
            spacing is much coarser than the target spacing of the slice axis makes pairs unlike
            the planes the network restores (:func:`medsr.selfsr.smore.pair_axes`).
        phases: the number of positions of the sampling lattice (an integer factor: one per
            fine voxel of the period) at which each plane is degraded: the crop along the
            degraded axis is moved by 0, 1, ..., ``phases - 1`` voxels, so every structure is
            also seen between the slices where it fell on one (augmentation consistent with the
            acquisition; not in SMORE). One stack per axis and position, each a crop that tiles
            (``(f - 1) / 2 + f k`` are its slice centres, as on the interpolated scan).
        min_length: the shifted lattices need a crop up to ``phases - 1`` voxels shorter; an axis
            whose crop would fall below ``min(min_length, its single crop)`` keeps one lattice
            (a plane 24 voxels long keeps its 24 rather than shrink the training patch to 20).
        interleave: with several lattice positions, plane ``i`` (along ``slice_axis``) is
            degraded at position ``i mod phases`` only, so the pairs take the memory of one
            lattice (neighbouring planes are near copies; self-SR does this); without it every
            plane is degraded at every position (``phases`` times the memory).

    Returns:
        :class:`TrainingPairs` with one stack per degraded in-plane axis and lattice position.
    """
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    in_plane = [a for a in range(3) if a != slice_axis]
    chosen = in_plane if axes is None else [int(a) for a in axes]
    if not chosen or any(a not in in_plane for a in chosen):
        raise MedsrError(f"pair axes {axes} must be in-plane axes among {in_plane}")
    for a in chosen:
        size = hr.shape[a + 1]
        n = compatible_length(size, factor)
        shifts = max(1, int(phases))
        if shifts > 1:  # the shifted lattices need a shorter crop: only where it keeps min_length
            shorter = compatible_length(max(1, size - (shifts - 1)), factor)
            shifts, n = (shifts, shorter) if shorter >= min(n, min_length) else (1, n)
        if n < 2 * factor + 4:
            raise MedsrError(
                f"the in-plane size {hr.shape[a + 1]} is too small for a factor of {factor:.3g}; "
                "self-SR needs in-plane planes several slices wide"
            )
        first = (size - n - (shifts - 1)) // 2
        zoom = [1.0, 1.0, 1.0]
        zoom[a] = float(factor)
        other = next(b for b in in_plane if b != a)
        # (C, X, Y, Z) -> (C * n_slices, rows = a, cols = other)
        order = [0, slice_axis + 1, a + 1, other + 1]
        for shift in range(shifts):  # the sampling lattice moved by `shift` fine voxels
            index = [slice(None)] * hr.ndim
            index[a + 1] = slice(first + shift, first + shift + n)
            if interleave and shifts > 1:  # plane i at lattice position i mod shifts
                index[slice_axis + 1] = slice(shift, None, shifts)
            target = np.ascontiguousarray(hr[tuple(index)], dtype=np.float32)
            low = thick_slice_operator(target.shape[1:], a, factor, profile, fwhm_voxels).apply(
                target
            )
            back = zoom_array(low, tuple(zoom), interpolation)
            if back.shape != target.shape:  # compatible_length guarantees it; keep the guard
                raise RuntimeError(f"training pair grids differ: {back.shape} vs {target.shape}")
            for arr, out in ((back, inputs), (target, targets)):
                planes = np.transpose(arr, order)
                out.append(
                    np.ascontiguousarray(planes.reshape(-1, planes.shape[2], planes.shape[3]))
                )
    return TrainingPairs(inputs, targets)


class PatchSampler:
    """Random ``(B, 1, P, P)`` patches from :class:`TrainingPairs`, biased to the foreground.

    Patch corners are drawn among positions whose target patch holds some signal (a tenth of the
    robust maximum), so batches are not wasted on air; flips of rows and columns augment (the
    blur is symmetric, so both flips keep the degradation model valid). Every ``holdout``-th plane
    of each stack is kept out of training and serves the validation batches (``split="val"``).

    Args:
        pairs: the stacks.
        patch: patch side in voxels (clipped to the plane size).
        rng: random generator (the only source of randomness).
        threshold: foreground level in normalised units.
        holdout: one plane in ``holdout`` is for validation (none when a stack has fewer planes).
        weighting: ``"uniform"`` (default): every foreground position alike. ``"residual"``:
            half the patches uniformly, half with a probability proportional to the mean
            ``|target - input|`` of the window (where the interpolation is wrong: edges, sulci),
            importance sampling of the hard examples (as in Katharopoulos & Fleuret, "Not all
            samples are created equal", ICML 2018, simplified: fixed weights, no loss
            re-weighting, so the loss is biased towards those regions on purpose).
        row_period: the patches' first rows are multiples of this (the slice period of the
            pairs, an integer factor), and the patch side a multiple of it, so that the network,
            whose 4 x 4 fold is not shift-invariant, always sees the slices at the phase the
            aligned inference crop shows it (:class:`medsr.infer.slicewise.ForegroundCrop`);
            flips keep the phase since the side is a multiple of the period. 1: any row.
    """

    def __init__(
        self,
        pairs: TrainingPairs,
        patch: int,
        rng: np.random.Generator,
        threshold: float = 0.1,
        holdout: int = 8,
        weighting: str = "uniform",
        row_period: int = 1,
    ):
        if weighting not in ("uniform", "residual"):
            raise MedsrError(f"weighting must be uniform or residual, got {weighting!r}")
        self.weighting = weighting
        self.pairs = pairs
        self.rng = rng
        self.patch = int(min([patch] + [min(a.shape[1], a.shape[2]) for a in pairs.inputs]))
        self.row_period = int(row_period) if row_period > 1 and self.patch >= row_period else 1
        self.patch -= self.patch % self.row_period
        p = self.patch
        candidates: list[np.ndarray] = []
        residuals: list[np.ndarray] = []
        self._stride = stride = max(1, p // 4)
        for t, x in zip(pairs.targets, pairs.inputs, strict=True):
            # mean of each p x p window via a summed-area table, on a stride grid for speed
            cs = np.pad(
                np.cumsum(np.cumsum(t, axis=1, dtype=np.float64), axis=2), ((0, 0), (1, 0), (1, 0))
            )
            rows = np.arange(0, t.shape[1] - p + 1, stride)
            cols = np.arange(0, t.shape[2] - p + 1, stride)
            r0, c0 = np.meshgrid(rows, cols, indexing="ij")
            sums = cs[:, r0 + p, c0 + p] - cs[:, r0, c0 + p] - cs[:, r0 + p, c0] + cs[:, r0, c0]
            good = np.argwhere(sums / (p * p) > threshold)
            if good.size == 0:  # an empty or faint scan: take every position
                good = np.argwhere(np.ones_like(sums, dtype=bool))
            candidates.append(np.stack([good[:, 0], rows[good[:, 1]], cols[good[:, 2]]], axis=1))
            if weighting == "residual":
                rs = np.pad(
                    np.cumsum(np.cumsum(np.abs(t - x), axis=1, dtype=np.float64), axis=2),
                    ((0, 0), (1, 0), (1, 0)),
                )
                r = rs[:, r0 + p, c0 + p] - rs[:, r0, c0 + p] - rs[:, r0 + p, c0] + rs[:, r0, c0]
                residuals.append(r[good[:, 0], good[:, 1], good[:, 2]])
        self._splits: dict[str, list[np.ndarray]] = {"train": [], "val": []}
        self._weights: dict[str, list[np.ndarray]] = {"train": [], "val": []}
        for s, (cand, t) in enumerate(zip(candidates, pairs.targets, strict=True)):
            held = cand[:, 0] % holdout == holdout - 1 if t.shape[0] >= holdout else cand[:, 0] < 0
            train, val = cand[~held], cand[held]
            self._splits["train"].append(train if len(train) else cand)
            self._splits["val"].append(val if len(val) else cand)
            if weighting == "residual":
                w = residuals[s]
                self._weights["train"].append(w[~held] if len(train) else w)
        self._probs = {}
        for split, cands in self._splits.items():
            w = np.asarray([len(c) for c in cands], dtype=np.float64)
            self._probs[split] = w / w.sum()
        # residual weighting (training split): one distribution over every candidate position
        self._cumulative: np.ndarray | None = None
        if weighting == "residual":
            flat = np.concatenate(self._weights["train"]) + 1e-12
            self._cumulative = np.cumsum(flat / flat.sum())
            self._offsets = np.cumsum([0] + [len(c) for c in self._splits["train"]])

    def sample(self, batch: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """A batch ``(inputs, targets)``, each ``(B, 1, P, P)`` float32, from the training planes
        or (``split="val"``) the held-out ones."""
        p = self.patch
        xs = np.empty((batch, 1, p, p), np.float32)
        ys = np.empty((batch, 1, p, p), np.float32)
        cands = self._splits[split]
        stacks = self.rng.choice(len(cands), size=batch, p=self._probs[split])
        weighted = split == "train" and self._cumulative is not None
        for b, s in enumerate(stacks):
            cand = cands[s]
            if weighted and b % 2 == 1:  # every other patch: proportional to the residual
                assert self._cumulative is not None
                flat = int(np.searchsorted(self._cumulative, self.rng.random(), side="right"))
                flat = min(flat, len(self._cumulative) - 1)
                s = int(np.searchsorted(self._offsets, flat, side="right") - 1)
                cand = cands[s]
                k, r, c = cand[flat - self._offsets[s]]
            else:
                k, r, c = cand[self.rng.integers(len(cand))]
            plane = self.pairs.inputs[s]
            r = min(int(r) + int(self.rng.integers(self._stride)), plane.shape[1] - p)
            r -= r % self.row_period
            c = min(int(c) + int(self.rng.integers(self._stride)), plane.shape[2] - p)
            x = self.pairs.inputs[s][k, r : r + p, c : c + p]
            y = self.pairs.targets[s][k, r : r + p, c : c + p]
            if self.rng.random() < 0.5:
                x, y = x[::-1], y[::-1]
            if self.rng.random() < 0.5:
                x, y = x[:, ::-1], y[:, ::-1]
            xs[b, 0] = x
            ys[b, 0] = y
        return xs, ys
