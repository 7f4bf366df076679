"""Honest validation: the validation data never holds a training voxel.

Review section 5.2 judges SR networks on data they were not trained on. Several medical recipes
name the same scan for ``data.train`` and ``data.val`` (there is one scan per modality in the
shared data), so validation scored the network on its training volume. :func:`hold_out_plan`
compares the files of the two splits and decides, before any training:

* no file in common: nothing to do;
* both splits restrict the shared scans with ``slices`` (``data.train.slices`` /
  ``data.val.slices``, the user's own split): accepted as given;
* only one split has ``slices``: refused (the other split would see the held-out slices);
* several files in common: **held out by image / subject** -- the last ``ceil(20 %)`` of the
  shared files (at least one) are used for validation only, the others for training only;
* one scan in common (a volume): **held out by slab** -- its last 20 % of slices along the slice
  axis (``data.slice_axis`` for 2D models, Z for 3D models) are validation only, the rest is
  training (a held-out part of the same subject: the only honest split one scan allows; give
  ``data.val`` another subject's scan for a subject-level split);
* refused: one shared 2D picture, explicit LR pairs (``lr_dir``) on a shared file, or a
  training part smaller than a patch. Multi-contrast references are attached to the whole scan
  first and cut with it (:func:`medsr.train.builders.build_datamodule`).

The decision is printed as one note (``warnings``; a ``note:`` line of ``medsr train``). Both
parts keep the normaliser fitted to the whole volume, as inference normalises whole scans.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medsr.errors import MedsrError
from medsr.train.config import Config
from medsr.train.sources import Source, cut_source, list_files

__all__ = ["HOLD_OUT_FRACTION", "HoldOutPlan", "hold_out_plan"]

#: share of the shared files, or of the slices of one shared scan, kept for validation only.
HOLD_OUT_FRACTION = 0.2


@dataclass
class HoldOutPlan:
    """Which shared files are validation only (``whole``) and which shared scans are split by
    slab (``slab``: the last ``fraction`` of slices along ``axis`` are validation only)."""

    train_files: list[Path] = field(default_factory=list)
    val_files: list[Path] = field(default_factory=list)
    whole: frozenset[Path] = frozenset()
    slab: frozenset[Path] = frozenset()
    axis: int = 2
    fraction: float = HOLD_OUT_FRACTION
    patch: int = 1  # the training part must hold at least this many slices along ``axis``

    def _held(self, n: int) -> int:
        return max(1, round(self.fraction * n))

    def for_train(self, sources: Sequence[Source]) -> list[Source]:
        """The training sources without what validation holds out."""
        if not (self.whole or self.slab) or len(sources) != len(self.train_files):
            return list(sources)
        out = []
        for path, src in zip(self.train_files, sources):
            if path in self.whole:
                continue
            if path in self.slab:
                if src.is_2d:
                    raise MedsrError(
                        f"config: data.val uses the training picture {src.name}; give data.val "
                        "other images (held out) or remove data.val"
                    )
                n = src.shape[self.axis]
                stop = n - self._held(n)
                if stop < self.patch:
                    raise MedsrError(
                        f"config: data.val uses the training scan {src.name}; its held-out slab "
                        f"leaves {stop} slices along axis {self.axis} for training, fewer than "
                        f"a patch ({self.patch}); give data.val another scan or use smaller "
                        "data.patch_size"
                    )
                src = cut_source(src, self.axis, 0, stop)
            out.append(src)
        if not out:
            raise MedsrError("config: no training data left after holding out validation data")
        return out

    def for_val(self, sources: Sequence[Source]) -> list[Source]:
        """The validation sources, restricted to the held-out slabs of shared scans."""
        if not self.slab or len(sources) != len(self.val_files):
            return list(sources)
        out = []
        for path, src in zip(self.val_files, sources):
            if path in self.slab:
                n = src.shape[self.axis]
                src = cut_source(src, self.axis, n - self._held(n), n)
            out.append(src)
        return out


def _resolved(files: Sequence[Path]) -> list[Path]:
    return [Path(f).resolve() for f in files]


def hold_out_plan(cfg: Config) -> HoldOutPlan:
    """How validation is kept apart from training for ``cfg`` (see the module docstring); raises
    :class:`MedsrError` for the splits that cannot be made honest."""
    v = cfg.data.val
    if v is None:
        return HoldOutPlan()
    t = cfg.data.train
    train_files = _resolved(list_files(t.hr_dir, t.pattern, t.limit))
    val_files = _resolved(list_files(v.hr_dir, v.pattern, v.limit))
    shared = [f for f in val_files if f in set(train_files)]
    plan = HoldOutPlan(train_files, val_files)
    if not shared:
        return plan
    names = ", ".join(f.name for f in shared[:3]) + (" ..." if len(shared) > 3 else "")
    t_slices, v_slices = getattr(t, "slices", None), getattr(v, "slices", None)
    if t_slices is not None and v_slices is not None:
        return plan  # the user's own split of the slices
    fix = (
        "give data.val other subjects' scans (held out), or disjoint data.train.slices and "
        "data.val.slices"
    )
    if t_slices is not None or v_slices is not None:
        raise MedsrError(
            f"config: data.val and data.train share {names} but only one of them sets slices: "
            f"validation would see training slices; {fix}"
        )
    if (t.reference is None) != (v.reference is None):
        return plan  # refused by the data builder (references for both splits or none)
    if t.lr_dir or v.lr_dir:
        raise MedsrError(
            f"config: data.val uses the training data ({names}) with explicit LR pairs, which "
            f"cannot be split automatically; {fix}"
        )
    if len(shared) > 1:
        held = shared[-max(1, math.ceil(HOLD_OUT_FRACTION * len(shared))) :]
        if len(held) >= len(train_files):
            raise MedsrError(f"config: data.val uses all the training images ({names}); {fix}")
        plan.whole = frozenset(held)
        warnings.warn(
            f"validation holds out {len(held)} of the {len(shared)} training files "
            f"({', '.join(f.name for f in held[:3])}{' ...' if len(held) > 3 else ''}): "
            "validation by image, never on training data",
            stacklevel=2,
        )
        return plan
    dims = cfg.model.dims
    axis = cfg.data.slice_axis if dims == 2 else 2
    if isinstance(axis, list):
        axis = axis[0]
    axis = 2 if axis is None else int(axis)
    patch = cfg.patch_tuple()[-1] if dims == 3 else 1
    plan.slab, plan.axis, plan.patch = frozenset(shared), axis, int(patch)
    warnings.warn(
        f"data.val uses the training scan {shared[0].name}: validation holds out its last "
        f"{HOLD_OUT_FRACTION:.0%} of slices along axis {axis} and training uses the rest "
        "(give data.val another subject's scan for a subject-level split)",
        stacklevel=2,
    )
    return plan
