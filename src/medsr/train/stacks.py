"""Training samples of several LR stacks of one volume (multi-input SR, review ref. [81]).

Oktay O. et al., "Multi-input cardiac image super-resolution using convolutional neural
networks", MICCAI 2016: cardiac MR is acquired as several thick-slice stacks in different
orientations, and one network reconstructs the HR volume from all of them (``oktay_misr``). For
training, ``data.stacks`` (:class:`~medsr.train.stacks_config.StacksSection`) simulates the
stacks from one isotropic HR patch: stack ``i`` is the patch thick-sliced along ``axes[i]`` with
spacing ``factor`` (the model's scale) and the slice profile of
:class:`medsr.degrade.ThickSlice`. The HR patch itself comes from the usual sampler (crop,
augmentation, normalisation; its own degradation is not used), so every sample remains a pure
function of ``(seed, epoch, index)``. Samples are ``{"lr": [stack_0, stack_1, ...], "hr": HR}``;
:class:`MultiStackTask` validates against the mean of the stacks' linear interpolations.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from medsr.errors import MedsrError
from medsr.metrics import psnr_torch, ssim_torch
from medsr.train.datasets import SampleWrapper
from medsr.train.stacks_config import StacksSection
from medsr.train.tasks import SupervisedSR

__all__ = ["MultiStackTask", "StackSplit", "make_stacks", "no_degradation"]


def make_stacks(hr: np.ndarray, section: StacksSection, factor: int) -> list[np.ndarray]:
    """The thick-slice stacks of an HR ``(C, X, Y, Z)`` array, one per axis of ``section``."""
    from medsr.degrade import ThickSlice

    out = []
    for a in section.axes:
        if hr.shape[1 + a] % factor:
            raise MedsrError(
                f"data.stacks: the patch size {list(hr.shape[1:])} must be a multiple of the "
                f"factor {factor} on axis {a}"
            )
        op = ThickSlice(a, factor, profile=section.profile, fwhm=section.fwhm)
        out.append(np.ascontiguousarray(op.apply_array(hr), dtype=np.float32))
    return out


def no_degradation(dataset: Any) -> Any:
    """The same sampler without its LR simulation (the stacks are made from ``hr``): identity
    operator at scale 1 (the factors only gate rotations, equal on every axis either way)."""
    ones = (1.0,) * len(dataset.spec.scale)
    spec = dataclasses.replace(dataset.spec, degradation="none", scale=ones)
    return type(dataset)(dataset.sources, spec, dataset.length, dataset.seed)


class StackSplit(SampleWrapper):
    """Wraps a patch or validation dataset: each sample's ``lr`` becomes the list of stacks."""

    def __init__(self, inner: Any, section: StacksSection, factor: int) -> None:
        super().__init__(inner)
        self.section = section
        self.factor = int(factor)

    def wrap(self, d: dict[str, Any]) -> dict[str, Any]:
        hr = d["hr"]
        stacks = make_stacks(hr.numpy(), self.section, self.factor)
        return {"lr": [torch.from_numpy(s) for s in stacks], "hr": hr}


def interpolated_mean(stacks: list[torch.Tensor], shape: tuple[int, ...]) -> torch.Tensor:
    """The baseline: the mean of the stacks' trilinear interpolations onto ``shape``."""
    ups = [F.interpolate(s, size=shape, mode="trilinear", align_corners=False) for s in stacks]
    return torch.stack(ups).mean(dim=0)


class MultiStackTask(SupervisedSR):
    """Supervised training of a multi-input network (``model(list of stacks)``); validation
    against the mean of the stacks' trilinear interpolations."""

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        stacks, hr = batch["lr"], batch["hr"].float()
        sr = self.export_model(stacks).float()
        rng = self._val_range(hr)
        base = interpolated_mean([s.float() for s in stacks], tuple(hr.shape[2:]))
        metrics = {
            "val/psnr": psnr_torch(hr, sr, data_range=rng, mse_floor=1e-20).mean(),
            "val/ssim": ssim_torch(
                hr, sr, data_range=float(rng.mean()), reduction="mean", fit_window=True
            ),
            "val/l1": (sr - hr).abs().mean(),
            "val/psnr_interp": psnr_torch(hr, base, data_range=rng, mse_floor=1e-20).mean(),
        }
        self.log_dict(metrics, on_step=False, on_epoch=True, sync_dist=True, batch_size=hr.shape[0])
