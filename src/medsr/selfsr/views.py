"""Diagonal through-plane views of self-SR: planes along the voxel diagonals, without interpolation.

SMORE (Zhao et al., *IEEE TMI* 40(3):805-817, 2021, ref. [84]; review section 4.2.2) restores the
through-plane planes of two orthogonal orientations (each contains the slice axis and one in-plane
axis) and fuses them with Fourier burst accumulation (:mod:`medsr.selfsr.fusion`). Each
orientation restores best the detail its planes show, so more orientations give FBA more to
choose from. The planes along the in-plane *voxel diagonals* (directions (1, 1) and (1, -1) of the
two in-plane axes) pass through grid points only: they can be cut and put back exactly by shifting
each row of the longer in-plane axis by its index on the shorter one (a shear by whole voxels),
with no resampling of the volume, at the cost of one more orientation each. (Rotating the volume by
45 degrees instead resamples it twice and, on a volume of few slices, multiplies its size.)

Not in SMORE: an addition of medsr (``SelfSRConfig.views = "diagonals"``). On a development copy
of chris_t1 (24 slices, x4), the FBA of the four views gained +0.14 dB over that of the two
orthogonal ones, with the same network (``docs/benchmarks/selfsr_heldout.md``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Shear", "shear"]


class Shear:
    """The exact shear of a ``(C, X, Y, Z)`` volume that turns one family of voxel-diagonal planes
    into grid planes.

    ``sheared[..., a, ..., b, ...] = volume[..., a + sign * b - offset, ..., b, ...]`` along
    ``shift_axis`` (``a``) and ``by_axis`` (``b``), indices out of range clamped to the border (edge
    values: they only pad planes and are dropped by :meth:`back`). The planes of constant ``a`` of
    the sheared volume (which contain ``by_axis`` and the third axis) are the diagonal planes of the
    volume; there are ``n_shift + n_by - 1`` of them, the ones that meet the volume.
    """

    def __init__(self, shape: tuple[int, ...], shift_axis: int, by_axis: int, sign: int) -> None:
        if sign not in (1, -1) or shift_axis == by_axis:
            raise ValueError("a shear needs sign +-1 and two different axes")
        self.shape = tuple(int(s) for s in shape)
        self.shift_axis, self.by_axis, self.sign = shift_axis, by_axis, sign
        n_a, n_b = self.shape[1 + shift_axis], self.shape[1 + by_axis]
        self.offset = n_b - 1 if sign == 1 else 0
        a = np.arange(n_a + n_b - 1)[:, None]
        b = np.arange(n_b)[None, :]
        self._forward = np.clip(a + sign * b - self.offset, 0, n_a - 1)  # (n_a + n_b - 1, n_b)
        src = np.arange(n_a)[:, None]
        self._back = src - sign * b + self.offset  # (n_a, n_b): always in range

    def _gather(self, volume: np.ndarray, index: np.ndarray) -> np.ndarray:
        # the two sheared axes last, gathered with one fancy index, then put back in place
        ax_a, ax_b = 1 + self.shift_axis, 1 + self.by_axis
        moved = np.moveaxis(volume, (ax_a, ax_b), (-2, -1))
        cols = np.broadcast_to(np.arange(index.shape[1])[None, :], index.shape)
        out = moved[..., index, cols]
        return np.ascontiguousarray(np.moveaxis(out, (-2, -1), (ax_a, ax_b)))

    def apply(self, volume: np.ndarray) -> np.ndarray:
        """The sheared ``(C, ...)`` volume (longer along ``shift_axis``)."""
        if tuple(volume.shape) != self.shape:
            raise ValueError(f"expected a volume of shape {self.shape}, got {volume.shape}")
        return self._gather(volume, self._forward)

    def back(self, sheared: np.ndarray) -> np.ndarray:
        """The volume's grid again: ``back(apply(v)) == v`` exactly."""
        return self._gather(sheared, self._back)


def shear(shape: tuple[int, ...], slice_axis: int, sign: int) -> Shear:
    """The shear of a ``(C, X, Y, Z)`` volume whose constant planes are the diagonal planes through
    ``slice_axis`` of direction (1, ``sign``) in the two in-plane axes: the longer in-plane axis is
    shifted by the index on the shorter one (fewer padding planes)."""
    in_plane = [a for a in range(3) if a != slice_axis]
    longer, shorter = sorted(in_plane, key=lambda a: (-shape[1 + a], a))
    return Shear(shape, longer, shorter, sign)
