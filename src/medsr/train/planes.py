"""2D training samples from slices of several planes of each volume (``data.slice_axis: [0,1,2]``).

Review section 4, ref. [71]: Mansoor A., Vongkovit T., Linguraru M. G., "Adversarial approach to
diagnostic quality volumetric image enhancement", ISBI 2018, train an SRGAN (Ledig et al. 2017) on
2D slices taken from all three orthogonal planes of the volumes, the LR slices made by Gaussian
smoothing and down-sampling (``data.degradation: bd``), so that one 2D network restores any
plane (at inference ``medsr upscale --planes all`` averages the three orientations).

:class:`MultiPlanePatches` holds one :class:`~medsr.train.datasets.PatchDataset` per axis; sample
``(epoch, index)`` is cut across the axis drawn from its own generator seeded by ``(seed, epoch,
index)``, so every sample stays a pure function of that key (resumption and DDP unchanged) and a
batch mixes planes. Each sample carries ``slice_axis`` (the plane it came from). The patch size is
the same in every plane (the 2D model's), so every plane of the volumes must hold it.
:func:`validation_planes` gives the validation slices of every plane.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from medsr.train.datasets import PatchDataset, ValidationDataset
from medsr.train.sampling import SamplingSpec
from medsr.train.sources import Source

__all__ = ["MultiPlanePatches", "validation_planes"]


class MultiPlanePatches(Dataset):
    """Training samples whose slicing axis is drawn per sample among ``axes``."""

    def __init__(self, base: PatchDataset, axes: Sequence[int]) -> None:
        self.axes = [int(a) for a in axes]
        self.seed = base.seed
        self.sets = [
            PatchDataset(
                base.sources, dataclasses.replace(base.spec, slice_axis=a), base.length, base.seed
            )
            for a in self.axes
        ]

    @property
    def sources(self) -> list[Source]:
        return self.sets[0].sources

    @property
    def spec(self) -> SamplingSpec:
        return self.sets[0].spec

    @property
    def length(self) -> int:
        return self.sets[0].length

    @length.setter
    def length(self, value: int) -> None:
        for s in self.sets:
            s.length = int(value)

    def __len__(self) -> int:
        return self.length

    def axis_of(self, epoch: int, index: int) -> int:
        """The slicing axis of sample ``(epoch, index)``."""
        rng = np.random.default_rng([self.seed, int(epoch), int(index), 71])
        return self.axes[int(rng.integers(len(self.axes)))]

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        axis = self.axis_of(epoch, index)
        item = self.sets[self.axes.index(axis)].item(epoch, index)
        item["slice_axis"] = torch.tensor(axis)
        return item


class _Items(Dataset):
    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


def validation_planes(
    sources: Sequence[Source], spec: SamplingSpec, axes: Sequence[int], **kwargs: Any
) -> Dataset:
    """The :class:`~medsr.train.datasets.ValidationDataset` slices of each plane in ``axes``, one
    after the other (``kwargs``: its ``crop``, ``slices``, ``max_items`` (per plane), ``seed``)."""
    items: list[dict[str, torch.Tensor]] = []
    for a in axes:
        plane = ValidationDataset(sources, dataclasses.replace(spec, slice_axis=int(a)), **kwargs)
        items += [dict(it, slice_axis=torch.tensor(int(a))) for it in plane.items]
    return _Items(items)
