"""A registered second image (the reference) beside each training volume: multi-contrast SR.

Review section 4, ref. [78]: Zeng K., Zheng H., Cai C., Yang Y., Zhang K., Chen Z., "Simultaneous
single- and multi-contrast super-resolution for brain MRI images based on a convolutional neural
network", Comput. Biol. Med. 99:133-141 (2018). The multi-contrast network sees, beside the
low-resolution target contrast, a high-resolution image of another contrast of the same subject
registered onto the HR grid (e.g. T1 guiding PD). Recipes name it per split::

    data:
      train: {hr_dir: pd.nii.gz, reference: t1.nii.gz}

``reference`` is one file (for one HR file) or a folder/glob whose files pair with the HR files by
name (as ``lr_dir``). Each reference is put on its HR file's grid with the exact voxel map of
both affines (:func:`medsr.interpolate.resample_onto`, cubic B-spline): the two scans must be
registered in world coordinates (same subject, same session, or registered beforehand), not
necessarily sampled on the same grid.

How it travels through the unchanged sampling code: the reference is normalised with its own
fitted normaliser (same kind as the HR's), then written in the HR's physical units
(``hr_norm.inverse(ref_norm.forward(ref))``) and appended to the HR volume as extra channels. Every
crop, flip, rotation, warp and bias field is then applied identically to both, and the HR
normaliser returns the reference's own normalised values. :class:`ReferenceSplit` splits the
channels of each sample again: ``{"lr", "hr"}`` of the target contrast and ``"ref"`` on the HR
patch grid. (The degradation operator also runs on the appended channels; that LR is discarded.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medsr.errors import MedsrError
from medsr.normalise import Normaliser
from medsr.train.datasets import SampleWrapper
from medsr.train.sources import Source, _key, list_files

__all__ = ["ReferenceSplit", "attach_references", "reference_for"]


def reference_for(hr_files: Sequence[Path], ref_spec: str) -> list[Path]:
    """The reference file of each HR file: the one file given, or pairs matched by name."""
    refs = list_files(ref_spec)
    if len(refs) == 1 and len(hr_files) == 1:
        return refs
    by_key = {_key(p): p for p in refs}
    out = []
    for path in hr_files:
        match = by_key.get(_key(path))
        if match is None:
            raise MedsrError(
                f"config: data.reference: no reference for {path.name} in {ref_spec} (references "
                "pair with the HR files by file name without extension)"
            )
        out.append(match)
    return out


def attach_references(
    sources: Sequence[Source],
    hr_spec: str,
    ref_spec: str,
    *,
    pattern: str | None = None,
    limit: int | None = None,
    normalisation: Normaliser | None = None,
) -> list[Source]:
    """Sources whose HR arrays carry the registered reference as extra channels (see module doc).

    ``sources`` are those :func:`medsr.train.sources.load_sources` read from ``hr_spec`` with the
    same ``pattern``/``limit`` (same order). Raises :class:`MedsrError` for explicit LR pairs
    (the reference needs simulated LR) or references that do not overlap their HR file.
    """
    from medsr.interpolate import resample_onto
    from medsr.io import read

    hr_files = list_files(hr_spec, pattern, limit)
    if len(hr_files) != len(sources):
        raise MedsrError(
            "config: data.train.reference: every training source needs its reference; drop the "
            "extra (transfer or synthetic) sources"
        )
    out = []
    for src, hr_path, ref_path in zip(sources, hr_files, reference_for(hr_files, ref_spec)):
        if src.lr is not None:
            raise MedsrError(
                "config: data.reference: a reference needs simulated LR; remove lr_dir"
            )
        hr_vol = read(hr_path)
        ref = resample_onto(read(ref_path), hr_vol.shape, hr_vol.affine).data
        if not np.any(ref):
            raise MedsrError(
                f"config: data.reference: {ref_path.name} does not overlap {hr_path.name} in world "
                "coordinates; register the two scans first"
            )
        ref_norm = (normalisation or Normaliser()).fit(ref)
        in_hr_units = src.norm.inverse(ref_norm.forward(ref))
        joint = np.concatenate([src.hr, in_hr_units.astype(np.float32)], axis=0)
        out.append(replace(src, hr=joint, lr=None))
    return out


class ReferenceSplit(SampleWrapper):
    """Wraps a patch or validation dataset of reference-carrying sources: each sample's first
    ``channels`` channels are the target contrast (``lr``, ``hr``), the rest of the HR patch is
    ``ref`` (on the HR grid)."""

    def __init__(self, inner: Any, channels: int) -> None:
        super().__init__(inner)
        self.channels = int(channels)

    def wrap(self, d: dict[str, Any]) -> dict[str, torch.Tensor]:
        c = self.channels
        return {"lr": d["lr"][:c], "hr": d["hr"][:c], "ref": d["hr"][c:]}
