"""Geometric self-ensemble at test time (EDSR+ / RDN+: Lim et al. 2017, section 4.4; Timofte et al.
2016, "Seven ways to improve example-based single image super resolution").

The input is transformed by each element of a symmetry group, the network is run on each version,
every output is transformed back, and the results are averaged.

* 2D: the 8 elements of the dihedral group of the square -- flips of the 2 axes (4) x optional
  transpose (2); these are the 4 rotations and their mirror images.
* 3D: flips of each of the 3 axes (8) x optional transpose of the two axes other than
  ``keep_axis`` (2) = 16 variants. The kept axis (default: the last, the slice axis of a
  ``(X, Y, Z)`` volume) stays in place, so a network trained for an anisotropic axis (thick slices,
  factor (1, 1, 4)) still sees that axis where it expects it.

A transform ``T = transpose o flip_F`` is undone by ``flip_F o transpose``: both are involutions,
so the output of ``model(T x)`` is mapped back with the same flips and transpose in reverse order.
With integer factors on the medsr grid (new voxels tile the old ones), flipping the LR input
corresponds exactly to flipping the SR output, so the average is equivariant to the whole group.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.models.blocks.conv import check_dims

__all__ = ["SelfEnsemble", "ensemble_transforms"]


def ensemble_transforms(
    dims: int, keep_axis: int | None = None, *, transpose: bool = True
) -> list[tuple[tuple[int, ...], tuple[int, int] | None]]:
    """The group elements as ``(flipped spatial axes, transposed pair or None)``; 8 in 2D, 16 in
    3D; with ``transpose=False`` the flips only (4 in 2D, 8 in 3D: the subgroup for a network
    whose axes are not interchangeable, e.g. self-SR's, which restores a blur along the rows)."""
    check_dims(dims)
    if dims == 2:
        if keep_axis is not None:
            raise MedsrError("keep_axis applies to 3D networks only; leave it unset for 2D")
        pair: tuple[int, int] = (0, 1)
    else:
        keep = 2 if keep_axis is None else keep_axis
        if keep not in (0, 1, 2, -1, -2, -3):
            raise MedsrError(f"keep_axis must be a spatial axis 0, 1 or 2, got {keep_axis}")
        keep %= 3
        others = [a for a in range(3) if a != keep]
        pair = (others[0], others[1])
    out = []
    for flips in product((False, True), repeat=dims):
        axes = tuple(a for a, f in enumerate(flips) if f)
        for swapped in (False, True) if transpose else (False,):
            out.append((axes, pair if swapped else None))
    return out


def _apply(x: torch.Tensor, flips: Sequence[int], pair: tuple[int, int] | None) -> torch.Tensor:
    if flips:
        x = torch.flip(x, dims=[2 + a for a in flips])
    if pair is not None:
        x = x.transpose(2 + pair[0], 2 + pair[1])
    return x


def _undo(y: torch.Tensor, flips: Sequence[int], pair: tuple[int, int] | None) -> torch.Tensor:
    if pair is not None:
        y = y.transpose(2 + pair[0], 2 + pair[1])
    if flips:
        y = torch.flip(y, dims=[2 + a for a in flips])
    return y


class SelfEnsemble(nn.Module):
    """Average of ``model`` over the flip/transpose group (8 in 2D, 16 in 3D); see the module doc.

    Args:
        model: maps ``(N, C, *spatial)`` to ``(N, C, *spatial * scale)``.
        dims: 2 or 3.
        keep_axis: 3D only; the spatial axis never moved (default 2, the slice axis).
        transpose: False: flips only (4 in 2D, 8 in 3D), for networks whose axes differ.

    Raises:
        MedsrError: when the transposed axes have different scale factors (the transposed input
            would be up-sampled wrongly); pick ``keep_axis`` = the anisotropic axis.
    """

    def __init__(
        self, model: nn.Module, dims: int, keep_axis: int | None = None, *, transpose: bool = True
    ) -> None:
        super().__init__()
        self.model = model
        self.dims = check_dims(dims)
        self.transforms = ensemble_transforms(dims, keep_axis, transpose=transpose)
        scale = getattr(model, "scale", None)
        if scale is not None:
            self.scale = tuple(scale)
        if scale is not None and transpose:
            pair = self.transforms[1][1]
            assert pair is not None
            if len(self.scale) == dims and self.scale[pair[0]] != self.scale[pair[1]]:
                raise MedsrError(
                    f"self-ensemble transposes spatial axes {pair} but the model scales them by "
                    f"{self.scale[pair[0]]} and {self.scale[pair[1]]}; set keep_axis to the "
                    "anisotropic axis"
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            raise MedsrError(
                f"expected a {self.dims + 2}-D tensor (N, C, *spatial), got {x.dim()}-D"
            )
        total: torch.Tensor | None = None
        for flips, pair in self.transforms:
            y = _undo(self.model(_apply(x, flips, pair)), flips, pair)
            total = y if total is None else total + y
        assert total is not None
        return total / len(self.transforms)
