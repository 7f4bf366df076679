"""Training and validation datasets, and the deterministic epoch sampler.

Review section 5.1: SR networks learn from (LR, HR) pairs simulated by degrading HR data with an
operator ``A`` (eq. 3). :class:`PatchDataset` draws training samples from a list of
:class:`~medsr.train.sources.Source`: the HR patch is cropped first
(:func:`~medsr.train.sampling.random_crop`), augmented (:mod:`medsr.train.augment`) and degraded by
the operator (any :func:`medsr.degrade.parse_degradation` spec) in physical units, then both are
normalised with the volume's normaliser; explicit pairs are cropped at matching positions instead.
In Noise2Noise mode (Lehtinen et al. 2018) the target is itself a noisy copy.
:class:`ValidationDataset` holds fixed validation pairs.

Reproducibility: a sample is a pure function of ``(seed, epoch, index)`` (its own
``numpy.random.Generator``), and :class:`EpochSampler` yields ``(epoch, index)`` keys split across
DDP ranks. Data order therefore does not depend on workers, processes, or on where a run was
interrupted: a resumed run sees exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from medsr.errors import MedsrError
from medsr.train.augment import bias_field, geometric, intensity, warp, warps_enabled
from medsr.train.degradation import make_degradation, volume_referenced
from medsr.train.sampling import (
    SamplingSpec,
    add_noise,
    interpolate_to,
    random_crop,
    to_model_axes,
)
from medsr.train.sources import Source
from medsr.train.val_protocol import protocol_item

__all__ = [
    "EpochSampler",
    "LRMaker",
    "PatchDataset",
    "ResumableLoader",
    "ValidationDataset",
    "seed_worker",
]


class LRMaker:
    """``A(HR)`` for patches of a source: the configured operator with its noise levels referred
    to the whole volume (:func:`volume_referenced`), built once per source and cached."""

    def __init__(self, spec: SamplingSpec) -> None:
        self.spec = spec
        self._ops: dict[int, Any] = {}

    def __call__(self, hr: np.ndarray, src: Source, rng: np.random.Generator) -> np.ndarray:
        """The LR patch of the HR patch ``hr`` (a copy of it for the identity operator)."""
        key = id(src)
        if key not in self._ops:
            op = make_degradation(self.spec.degradation, self.spec.factors3(src))
            self._ops[key] = volume_referenced(op, src.hr)
        op = self._ops[key]
        return hr.copy() if op is None else np.asarray(op.apply_array(hr, rng), dtype=np.float32)


class PatchDataset(Dataset):
    """Random training samples; ``dataset[(epoch, index)] -> {"lr": Tensor, "hr": Tensor}``.

    Each item is a pure function of ``(seed, epoch, index)``. Tensors are ``(C, *patch)`` (LR:
    ``(C, *patch / scale)``, or HR-sized with ``interpolate_lr``).

    Args:
        sources: the HR data (:func:`~medsr.train.sources.load_sources`).
        spec: how to cut and degrade (:class:`~medsr.train.sampling.SamplingSpec`).
        length: samples per epoch (the sampler's range).
        seed: the run's seed.
    """

    def __init__(
        self, sources: Sequence[Source], spec: SamplingSpec, length: int, seed: int = 0
    ) -> None:
        if not sources:
            raise MedsrError("no training images")
        self.sources = list(sources)
        self.spec = spec
        self.length = int(length)
        self.seed = int(seed)
        self.degrade = LRMaker(spec)
        weights = []
        for src in self.sources:
            patch = spec.patch3(src)
            for a in range(3):
                if patch[a] > src.shape[a]:
                    raise MedsrError(
                        f"data.patch_size {list(spec.patch or [])} is larger than {src.name} "
                        f"(shape {src.shape}); use smaller patches"
                    )
            if src.lr is not None:
                self._check_pair(src)
            n = 1
            for a in range(3):
                n *= src.shape[a] - patch[a] + 1
            weights.append(float(n))
        w = np.asarray(weights)
        self.probabilities = w / w.sum()

    def _check_pair(self, src: Source) -> None:
        f = self.spec.factors3(src)
        assert src.lr is not None
        if warps_enabled(self.spec.augment):
            raise MedsrError(
                f"{src.name}: data.augment rotate/scale/elastic need simulated LR (they act before "
                "the degradation); set them to 0 for explicit LR/HR pairs"
            )
        for a in range(3):
            if not float(f[a]).is_integer():
                raise MedsrError(
                    f"explicit LR/HR pairs need whole scale factors, got {list(self.spec.scale)}"
                )
            n_lr, n_hr = src.lr.shape[1 + a], src.hr.shape[1 + a]
            if abs(n_hr - n_lr * f[a]) >= f[a]:
                raise MedsrError(
                    f"{src.name}: LR shape {src.lr.shape[1:]} x scale {f} does not match HR shape "
                    f"{src.hr.shape[1:]}"
                )

    def __len__(self) -> int:
        return self.length

    def _draw(self, rng: np.random.Generator) -> tuple[Source, np.ndarray, np.ndarray]:
        src = self.sources[int(rng.choice(len(self.sources), p=self.probabilities))]
        axes = self.spec.axes_for(src)
        factors = self.spec.factors3(src)
        hr, lr = random_crop(src, self.spec, rng)
        arrays = geometric([hr] if lr is None else [hr, lr], axes, factors, self.spec.augment, rng)
        if lr is None:  # warps and bias field before degradation: LR = A(augmented HR)
            arrays = [warp(arrays[0], axes, factors, self.spec.augment, rng)]
        arrays = bias_field(arrays, axes, self.spec.augment, rng)
        hr = np.ascontiguousarray(arrays[0])
        lr = self.degrade(hr, src, rng) if lr is None else np.ascontiguousarray(arrays[1])
        return src, src.norm.forward(hr), src.norm.forward(lr)

    def item(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        """The sample ``(epoch, index)``."""
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        src, hr, lr = self._draw(rng)
        if self.spec.unpaired:
            _, _, lr = self._draw(np.random.default_rng([self.seed, int(epoch), int(index), 1]))
        n2n = self.spec.noise2noise
        if n2n is not None and src.lr is None:
            hr = add_noise(hr, n2n.sigma, n2n.noise, rng)
            if n2n.noisy_input:
                lr = add_noise(lr, n2n.sigma, n2n.noise, rng)
        hr, lr = intensity(hr, lr, self.spec.augment, rng)
        if self.spec.interpolate_lr:
            lr = interpolate_to(lr, hr.shape[1:])
        axes = self.spec.axes_for(src)
        return {
            "lr": torch.from_numpy(np.ascontiguousarray(to_model_axes(lr, axes), dtype=np.float32)),
            "hr": torch.from_numpy(np.ascontiguousarray(to_model_axes(hr, axes), dtype=np.float32)),
        }

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        return self.item(epoch, index)


class ValidationDataset(Dataset):
    """Fixed validation pairs: whole images (or centre crops), evenly spaced slices of volumes for
    2D models, a centre block for 3D models. LR made once with a fixed seed per item. In Noise2Noise
    mode the input gets noise and the target stays clean, so the metrics measure the restoration.
    Items carry what the benchmark's scoring protocol needs under ``"protocol"``
    (:mod:`medsr.train.val_protocol`: Table 1 for pictures, head-masked scores for scans)."""

    def __init__(
        self,
        sources: Sequence[Source],
        spec: SamplingSpec,
        *,
        crop: Sequence[int] | None = None,
        slices: int = 4,
        max_items: int | None = None,
        seed: int = 0,
    ) -> None:
        self.items: list[dict[str, torch.Tensor]] = []
        degrade = LRMaker(spec)
        for i, src in enumerate(sources):
            axes = spec.axes_for(src)
            factors = spec.factors3(src)
            size = (
                [src.shape[a] for a in axes]
                if crop is None
                else [min(c, src.shape[a]) for c, a in zip(crop, axes)]
            )
            size = [
                int(n - n % int(s)) if float(s).is_integer() else int(n)
                for n, s in zip(size, spec.scale)
            ]
            if any(n < 1 for n in size):
                raise MedsrError(f"validation image {src.name} is smaller than the scale factor")
            patch = spec.patch3(src, size)
            if src.is_2d or len(axes) == 3:
                positions = [0]
            else:
                cut = next(a for a in range(3) if a not in axes)
                n = src.shape[cut]
                positions = sorted(
                    {round(v) for v in np.linspace(0.25 * (n - 1), 0.75 * (n - 1), slices)}
                )
            for pos in positions:
                start = [(src.shape[a] - patch[a]) // 2 for a in range(3)]
                if len(axes) == 2 and not src.is_2d:
                    cut = next(a for a in range(3) if a not in axes)
                    start[cut] = pos
                sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(start, patch))
                hr = np.ascontiguousarray(src.hr[sl])
                if src.lr is not None:
                    f = [int(v) for v in factors]
                    lr_sl = (slice(None),) + tuple(
                        slice(s // k, s // k + p // k) for s, k, p in zip(start, f, patch)
                    )
                    lr = np.ascontiguousarray(src.lr[lr_sl])
                else:
                    lr = degrade(hr, src, np.random.default_rng([seed, 1_000_003, i, pos]))
                hr_n, lr_n = src.norm.forward(hr), src.norm.forward(lr)
                n2n = spec.noise2noise
                if n2n is not None and src.lr is None and n2n.noisy_input:
                    # Noise2Noise: a noisy input against the clean target measures the denoising
                    lr_n = add_noise(
                        lr_n, n2n.sigma, n2n.noise, np.random.default_rng([seed, 1_000_033, i, pos])
                    )
                if spec.interpolate_lr:
                    lr_n = interpolate_to(lr_n, hr_n.shape[1:])
                item = {
                    "lr": torch.from_numpy(np.ascontiguousarray(to_model_axes(lr_n, axes))),
                    "hr": torch.from_numpy(np.ascontiguousarray(to_model_axes(hr_n, axes))),
                }
                # what the benchmark's protocol needs to score it (medsr.train.val_protocol)
                proto = protocol_item(
                    to_model_axes(hr, axes),
                    float(src.norm.offset),
                    float(src.norm.scale),
                    is_2d=src.is_2d,
                    factors=tuple(spec.scale),
                )
                if proto is not None:
                    item["protocol"] = proto  # type: ignore[assignment]
                self.items.append(item)
                if max_items is not None and len(self.items) >= max_items:
                    return

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


class SampleWrapper(Dataset):
    """A patch or validation dataset whose samples are reshaped by :meth:`wrap` (same keys, same
    length; the data module's epoch ``length`` passes through to the wrapped set)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def length(self) -> int:  # the data module sets the epoch length on its training set
        return int(self.inner.length)

    @length.setter
    def length(self, value: int) -> None:
        self.inner.length = int(value)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, key: Any) -> dict[str, Any]:
        return self.wrap(self.inner[key])

    def wrap(self, sample: dict[str, Any]) -> dict[str, Any]:
        """The sample as this dataset gives it."""
        raise NotImplementedError


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` keys for :class:`PatchDataset`, this rank's share of the epoch.

    Lightning calls :meth:`set_epoch` before every epoch; rank ``r`` of ``w`` takes indices
    ``r, r + w, ...`` so the ranks see disjoint samples and together the same set as one process.
    """

    def __init__(self, length: int, *, rank: int = 0, world_size: int = 1) -> None:
        if length % world_size:
            raise MedsrError(
                f"epoch length {length} is not divisible by the {world_size} processes"
            )
        self.length = int(length)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.epoch = 0
        self.skip = 0  # samples of this rank to skip once (a run resumed mid-epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, skip = self.epoch, self.skip
        self.skip = 0
        keys = [(epoch, i) for i in range(self.rank, self.length, self.world_size)]
        return iter(keys[skip:])

    def __len__(self) -> int:
        return self.length // self.world_size


class ResumableLoader(DataLoader):
    """The training ``DataLoader``, resumable mid-epoch (Lightning's ``state_dict`` /
    ``load_state_dict`` protocol of stateful loaders).

    A checkpoint written inside a data epoch (a run stopped by Ctrl-C / SIGTERM,
    :mod:`medsr.train.interrupt`) records the batches of the epoch already trained
    (``batches_done()``, Lightning's count); resuming from it, the :class:`EpochSampler` skips
    them once, so the run continues with exactly the batches the uninterrupted run would have
    seen. Checkpoints at an epoch's end record a whole epoch: nothing is skipped.
    """

    def __init__(self, *args: Any, batches_done: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches_done = batches_done

    def state_dict(self) -> dict[str, int]:
        """``{"batches": n}``: batches of the current epoch trained when the checkpoint is saved."""
        done = int(self._batches_done()) if self._batches_done is not None else 0
        return {"batches": done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Skip, in the next epoch iterated, the batches a mid-epoch checkpoint had trained."""
        per_epoch = len(self)
        done = int(state.get("batches", 0))
        skip = done % per_epoch if per_epoch else 0
        sampler = self.sampler
        if isinstance(sampler, EpochSampler):
            sampler.skip = skip * int(self.batch_size or 1)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: deterministic numpy/``random`` seeds in each data-loader worker process
    (from the loader's own seed; samples do not use them, but user code or libraries might). It
    runs only inside the worker processes, never in the process that trains."""
    import random

    base = torch.initial_seed() % 2**32
    np.random.seed((base + worker_id) % 2**32)
    random.seed(base + worker_id)
