"""Warm start of self-SR: the restoration network pre-trained on other data (issue 13, lever b).

SMORE (Zhao et al., *IEEE TMI* 2021, ref. [84]) trains its network from a random initialisation on
each scan. Here the per-scan training may instead start from weights pre-trained, once, on pairs
made exactly the way self-SR makes them (:func:`medsr.selfsr.pairs.make_training_pairs`: in-plane
planes degraded along one axis with a Gaussian slice profile, x2..x4, interpolated back with cubic
B-splines) from data that is none of the benchmark scans: the built-in MNI brain and natural
images (CBSD68, Sun-Hays80). This is fine-tuning of a pre-trained network (a warm start), not
part of the papers; the per-scan training is otherwise unchanged. The weights ship inside the
package (``medsr/weights/selfsr_prior/``, written by ``benchmarks/pretrain_selfsr.py``); nothing
is downloaded.

:func:`pair_stacks_2d` and :func:`pair_stacks_3d` make the pre-training pairs;
:func:`pair_stacks_anisotropic` makes them from a volume first given thick slices along another
axis (the geometry of a 2D acquisition whose in-plane axis self-SR must restore, as in the
held-out protocol of ``docs/benchmarks/selfsr_heldout.md``: the planes self-SR learns from then
contain the acquisition's coarse slice axis); :func:`load_prior` copies the shipped tensors into a
freshly built network. Review context: Li, Sixou & Peyrin, *IRBM* 2021 (section 4.2.2,
self-supervised SR of thick-slice MRI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from medsr.degrade import SliceProfile
from medsr.degrade.operator import thick_slice_operator
from medsr.errors import MedsrError, OptionError
from medsr.normalise import robust_range
from medsr.selfsr.pairs import (
    TrainingPairs,
    crop_compatible,
    make_training_pairs,
    slice_period,
)

__all__ = [
    "FACTOR_PRIORS",
    "INIT_CHOICES",
    "PRIOR_DIR",
    "load_prior",
    "pair_stacks_2d",
    "pair_stacks_3d",
    "pair_stacks_anisotropic",
    "prior_folder",
    "thick_along",
    "warm_starts",
]

#: values of :attr:`medsr.selfsr.config.SelfSRConfig.init`: ``auto`` is ``prior`` for the network
#: the prior was trained as (the default ``selfsr``) and ``none`` for any other network
INIT_CHOICES = ("none", "prior", "auto")

#: folder of the shipped prior (package data; tests may pass another folder to :func:`load_prior`)
PRIOR_DIR = Path(__file__).resolve().parent.parent / "weights" / "selfsr_prior"

#: priors pre-trained on one factor only, by whole-number factor (``--factors F`` of
#: ``benchmarks/pretrain_selfsr.py``); other factors start from :data:`PRIOR_DIR` (x2-x4)
FACTOR_PRIORS: dict[int, Path] = {4: PRIOR_DIR.parent / "selfsr_prior_factor4"}


def prior_folder(factor: float | None) -> Path:
    """The prior a factor starts from: the one pre-trained on that factor alone when one is
    shipped (x4), else the prior of all factors (:data:`PRIOR_DIR`)."""
    period = slice_period(factor) if factor is not None else 1
    return FACTOR_PRIORS.get(period, PRIOR_DIR)


def warm_starts(init: str, arch: str, preset: str | None, model_kwargs: dict[str, Any]) -> bool:
    """Whether the super-resolution network starts from the prior: ``init="prior"``, or ``"auto"``
    with the default network (``selfsr``, default preset, no keyword arguments)."""
    if init == "prior":
        return True
    default = str(arch).lower() == "selfsr" and preset in (None, "paper") and not model_kwargs
    return init == "auto" and default


def load_prior(
    net: nn.Module,
    *,
    arch: str,
    preset: str | None,
    model_kwargs: dict[str, Any],
    folder: Path | None = None,
    factor: float | None = None,
) -> dict[str, Any]:
    """Copy the pre-trained tensors of ``folder`` (default: the shipped prior for ``factor``,
    :func:`prior_folder`) into ``net``.

    The prior fits only the network it was trained as: the same ``arch``, preset and keyword
    arguments (the ``model.json`` beside the tensors says which). Tensors may be stored in half
    precision (to keep the package small); they are cast to the network's dtype.

    Returns:
        A short record for the method's info: the folder, architecture and pre-training steps.

    Raises:
        OptionError: another network than the prior's was asked for.
        MedsrError: the prior's files are missing or do not fit the network.
    """
    from safetensors.torch import load_file

    from medsr.models.io import read_meta, weights_paths

    folder = Path(folder) if folder is not None else prior_folder(factor)
    meta = read_meta(folder)  # MedsrError when missing
    want_preset = preset if preset is not None else "paper"
    if (
        str(arch).lower() != meta["architecture"]
        or want_preset != meta.get("preset", "paper")
        or dict(model_kwargs) != dict(meta.get("kwargs") or {})
    ):
        raise OptionError(
            f"init=prior needs the network the prior was trained as (arch={meta['architecture']}, "
            f"preset {meta.get('preset', 'paper')}); use init=none with arch={arch}"
        )
    tensors = load_file(str(weights_paths(folder)[0]), device="cpu")
    expected = net.state_dict()
    if set(tensors) != set(expected) or any(
        tuple(tensors[k].shape) != tuple(expected[k].shape) for k in expected
    ):
        raise MedsrError(f"the self-SR prior in {folder} does not fit the {arch} network")
    with torch.no_grad():
        for key, value in expected.items():
            value.copy_(tensors[key].to(value.dtype))
    shipped = (meta.get("extra") or {}).get("pretraining", {})
    return {"folder": folder.name, "architecture": meta["architecture"],
            "steps": shipped.get("steps")}


def _normalised(data: np.ndarray) -> np.ndarray:
    low, span = robust_range(data)
    return ((np.asarray(data, dtype=np.float32) - low) / span).astype(np.float32)


def pair_stacks_3d(
    volume: np.ndarray,
    factor: float,
    slice_axis: int,
    *,
    every: int = 1,
    phases: int = 1,
    min_length: int = 0,
) -> TrainingPairs:
    """Self-SR pairs of a ``(C, X, Y, Z)`` volume (normalised as self-SR does, robust range), as if
    ``slice_axis`` were the thick axis, Gaussian profile of FWHM ``factor``; only every
    ``every``-th plane along the slice axis is kept (neighbouring planes are near copies).
    ``phases``, ``min_length``: the shifted sampling lattices of
    :func:`medsr.selfsr.pairs.make_training_pairs` (self-SR's ``pair_phases``)."""
    hr = _normalised(volume)
    index = [slice(None)] * 4
    index[slice_axis + 1] = slice(None, None, max(1, int(every)))
    hr = np.ascontiguousarray(hr[tuple(index)])
    return make_training_pairs(
        hr,
        slice_axis,
        factor,
        SliceProfile("gaussian"),
        float(factor),
        phases=phases,
        min_length=min_length,
    )


def thick_along(volume: np.ndarray, axis: int, factor: float) -> np.ndarray:
    """Thick slices of a ``(C, X, Y, Z)`` array along ``axis``: spacing ``factor`` voxels, Gaussian
    profile of FWHM ``factor`` (contiguous slices), on the coarse grid; the axis is first cropped
    centrally to a length ``factor`` tiles (as :func:`medsr.bench.selfsr.simulate_thick_slices`)."""
    data, _ = crop_compatible(np.asarray(volume), axis, factor)
    op = thick_slice_operator(data.shape[1:], axis, factor, SliceProfile("gaussian"), factor)
    return np.ascontiguousarray(op.apply(data), dtype=np.float32)


def pair_stacks_anisotropic(
    volume: np.ndarray,
    thick_axis: int,
    thick_factor: float,
    slice_axis: int,
    factor: float,
    *,
    every: int = 1,
    axes: list[int] | None = None,
) -> TrainingPairs:
    """Self-SR pairs of a volume made anisotropic first: the geometry of the held-out protocol.

    ``volume`` (isotropic, ``(C, X, Y, Z)``) is given thick slices along ``thick_axis``
    (:func:`thick_along`, Gaussian FWHM ``thick_factor``): a 2D acquisition with a coarse slice
    axis. Self-SR asked to restore another axis, ``slice_axis``, of *that* volume by ``factor``
    learns from the planes orthogonal to ``slice_axis``, which contain the coarse ``thick_axis``;
    these are the pairs it would make (:func:`pair_stacks_3d`: robust-range normalisation,
    Gaussian FWHM ``factor``, cubic B-spline back), degraded along ``axes`` (default both in-plane
    axes, as SMORE; ``[the other fine axis]`` is the ``pair_axes=matched`` choice of
    :func:`medsr.selfsr.trainsets.pair_axes`).
    """
    if slice_axis == thick_axis:
        raise MedsrError("the slice axis to restore must differ from the coarse (thick) axis")
    coarse = thick_along(volume, thick_axis, thick_factor)
    hr = _normalised(coarse)
    index = [slice(None)] * 4
    index[slice_axis + 1] = slice(None, None, max(1, int(every)))
    hr = np.ascontiguousarray(hr[tuple(index)])
    return make_training_pairs(
        hr, slice_axis, factor, SliceProfile("gaussian"), float(factor), axes=axes
    )


def pair_stacks_2d(
    image: np.ndarray, factor: float, *, phases: int = 1, min_length: int = 0
) -> TrainingPairs:
    """Self-SR pairs of one grey 2D image ``(H, W)``: degraded along its rows and, rotated, along
    its columns (as self-SR uses both in-plane axes), Gaussian profile of FWHM ``factor``."""
    if image.ndim != 2:
        raise MedsrError(f"pair_stacks_2d needs a 2D grey image, got shape {image.shape}")
    volume = np.asarray(image, dtype=np.float32)[None, :, :, None]
    return pair_stacks_3d(volume, factor, 2, phases=phases, min_length=min_length)
