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
    "PATCH_SHAPES",
    "PatchSampler",
    "TrainingPairs",
    "compatible_length",
    "crop_compatible",
    "make_training_pairs",
    "slice_period",
]


#: window shapes of :class:`PatchSampler`
PATCH_SHAPES = ("square", "area")


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
            the planes the network restores (:func:`medsr.selfsr.trainsets.pair_axes`).
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
    """Random ``(B, 1, P, P)`` (or ``(B, 1, R, C)``) patches from :class:`TrainingPairs`, biased
    to the foreground.

    Patch corners are drawn among positions whose target patch holds some signal (a tenth of the
    robust maximum), so batches are not wasted on air; flips of rows and columns augment (the
    blur is symmetric, so both flips keep the degradation model valid). Every ``holdout``-th plane
    of each stack is kept out of training and serves the validation batches (``split="val"``).

    Args:
        pairs: the stacks.
        patch: patch side in voxels (clipped to the plane size).
        shape: ``"square"`` (default): one ``P x P`` window for every stack, ``P`` = ``patch``
            clipped to the smallest plane side. ``"area"``: per stack, ``patch x patch`` where the
            planes allow it, else the short side clipped to the plane and the long side stretched
            to about ``patch**2`` pixels (:func:`_area_window`; planes of a scan with few slices,
            e.g. 512 x 24, then give 96 x 24 windows instead of 24 x 24). A batch holds one window
            shape; when the stacks have several, each batch's shape is drawn first, in proportion
            to the stacks' candidate positions. Not in SMORE.
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
        shape: str = "square",
    ):
        if weighting not in ("uniform", "residual"):
            raise MedsrError(f"weighting must be uniform or residual, got {weighting!r}")
        if shape not in PATCH_SHAPES:
            raise MedsrError(f"patch shape must be {' or '.join(PATCH_SHAPES)}, got {shape!r}")
        self.weighting = weighting
        self.pairs = pairs
        self.rng = rng
        side = int(min([patch] + [min(a.shape[1], a.shape[2]) for a in pairs.inputs]))
        self.row_period = int(row_period) if row_period > 1 and side >= row_period else 1
        side -= side % self.row_period
        self.patch = side
        # one (rows, cols) window per stack: the square side, or the same area on thin planes
        self.shapes = [
            (side, side)
            if shape == "square"
            else _area_window(a.shape[1], a.shape[2], int(patch), self.row_period)
            for a in pairs.inputs
        ]
        candidates: list[np.ndarray] = []
        residuals: list[np.ndarray] = []
        self._strides = [(max(1, pr // 4), max(1, pc // 4)) for pr, pc in self.shapes]
        for t, x, (pr, pc), (sr, sc) in zip(
            pairs.targets, pairs.inputs, self.shapes, self._strides, strict=True
        ):
            # mean of each pr x pc window via a summed-area table, on a stride grid for speed
            cs = _summed_area(t)
            rows = np.arange(0, t.shape[1] - pr + 1, sr)
            cols = np.arange(0, t.shape[2] - pc + 1, sc)
            r0, c0 = np.meshgrid(rows, cols, indexing="ij")
            sums = _window_sums(cs, r0, c0, pr, pc)
            good = np.argwhere(sums / (pr * pc) > threshold)
            if good.size == 0:  # an empty or faint scan: take every position
                good = np.argwhere(np.ones_like(sums, dtype=bool))
            candidates.append(np.stack([good[:, 0], rows[good[:, 1]], cols[good[:, 2]]], axis=1))
            if weighting == "residual":
                r = _window_sums(_summed_area(np.abs(t - x)), r0, c0, pr, pc)
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
        # stacks of one window shape share a batch; a batch's shape is drawn first when several
        self._groups = [
            [s for s, sh in enumerate(self.shapes) if sh == shape_]
            for shape_ in dict.fromkeys(self.shapes)
        ]
        self._probs = {}
        self._group_probs = {}
        for split, cands in self._splits.items():
            w = np.asarray([len(c) for c in cands], dtype=np.float64)
            self._probs[split] = [w[g] / w[g].sum() for g in self._groups]
            per_group = np.asarray([w[g].sum() for g in self._groups])
            self._group_probs[split] = per_group / per_group.sum()
        # residual weighting (training split): one distribution over every candidate position
        # of each window shape
        self._cumulative: list[np.ndarray] | None = None
        if weighting == "residual":
            self._cumulative, self._offsets = [], []
            for g in self._groups:
                flat = np.concatenate([self._weights["train"][s] for s in g]) + 1e-12
                self._cumulative.append(np.cumsum(flat / flat.sum()))
                self._offsets.append(np.cumsum([0] + [len(self._splits["train"][s]) for s in g]))

    def sample(self, batch: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """A batch ``(inputs, targets)``, each ``(B, 1, R, C)`` float32, from the training planes
        or (``split="val"``) the held-out ones; ``R = C`` = :attr:`patch` unless ``shape="area"``
        gave the stacks of thin planes longer windows (one window shape per batch)."""
        group = 0
        if len(self._groups) > 1:
            group = int(self.rng.choice(len(self._groups), p=self._group_probs[split]))
        members = self._groups[group]
        pr, pc = self.shapes[members[0]]
        xs = np.empty((batch, 1, pr, pc), np.float32)
        ys = np.empty((batch, 1, pr, pc), np.float32)
        cands = self._splits[split]
        stacks = np.asarray(members)[
            self.rng.choice(len(members), size=batch, p=self._probs[split][group])
        ]
        weighted = split == "train" and self._cumulative is not None
        for b, s in enumerate(stacks):
            cand = cands[s]
            if weighted and b % 2 == 1:  # every other patch: proportional to the residual
                assert self._cumulative is not None
                cumulative, offsets = self._cumulative[group], self._offsets[group]
                flat = int(np.searchsorted(cumulative, self.rng.random(), side="right"))
                flat = min(flat, len(cumulative) - 1)
                j = int(np.searchsorted(offsets, flat, side="right") - 1)
                s = members[j]
                cand = cands[s]
                k, r, c = cand[flat - offsets[j]]
            else:
                k, r, c = cand[self.rng.integers(len(cand))]
            plane = self.pairs.inputs[s]
            sr, sc = self._strides[s]
            r = min(int(r) + int(self.rng.integers(sr)), plane.shape[1] - pr)
            r -= r % self.row_period
            c = min(int(c) + int(self.rng.integers(sc)), plane.shape[2] - pc)
            x = self.pairs.inputs[s][k, r : r + pr, c : c + pc]
            y = self.pairs.targets[s][k, r : r + pr, c : c + pc]
            if self.rng.random() < 0.5:
                x, y = x[::-1], y[::-1]
            if self.rng.random() < 0.5:
                x, y = x[:, ::-1], y[:, ::-1]
            xs[b, 0] = x
            ys[b, 0] = y
        return xs, ys


def _summed_area(stack: np.ndarray) -> np.ndarray:
    """The summed-area table of each plane of an ``(N, R, W)`` stack, zero-padded in front."""
    table = np.cumsum(np.cumsum(stack, axis=1, dtype=np.float64), axis=2)
    return np.pad(table, ((0, 0), (1, 0), (1, 0)))


def _window_sums(
    table: np.ndarray, r0: np.ndarray, c0: np.ndarray, rows: int, cols: int
) -> np.ndarray:
    """The sums of the ``rows x cols`` windows at corners ``(r0, c0)`` of every plane."""
    return (
        table[:, r0 + rows, c0 + cols]
        - table[:, r0, c0 + cols]
        - table[:, r0 + rows, c0]
        + table[:, r0, c0]
    )


def _area_window(rows: int, cols: int, patch: int, row_period: int) -> tuple[int, int]:
    """The training window of a ``rows x cols`` plane for ``shape="area"``: ``patch x patch``
    where both sides allow it, else the short side clipped to the plane and the long side
    stretched to keep about ``patch**2`` pixels (a multiple of 4, the default network's fold,
    and of ``row_period`` along the rows), so that planes of a scan with few slices still give
    the network the context and the pixels per step of a full patch."""
    short = min(patch, rows, cols)
    r = c = short
    if short < patch and rows != cols:
        if rows > cols:
            r = min(rows, patch * patch // short)
            r -= r % int(np.lcm(4, max(1, row_period)))
        else:
            c = min(cols, patch * patch // short)
            c -= c % 4
        r, c = max(r, short), max(c, short)
    if row_period > 1 and r >= row_period:
        r -= r % row_period
    return int(r), int(c)
