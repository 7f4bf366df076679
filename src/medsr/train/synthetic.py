"""Synthetic training pairs from a trained generator (review section 5, ref. [86]).

The review answers the scarcity of medical training data with images *synthesised* by a
generative adversarial network trained on the data at hand (as we read its ref. [86]: Frid-Adar
et al., "GAN-based synthetic medical image augmentation", Neurocomputing 2018, where a DCGAN
(Radford et al. 2016) trained on the few real images samples new ones that are added to the
training set). For SR the synthetic image is the HR half of a pair and its LR half is
``A(HR)`` with the recipe's own degradation operator (review eq. 3), so the pairs are exactly as
consistent as the real ones:

* :func:`train_generator`: a DCGAN (:class:`PatchGenerator` / :class:`PatchCritic`, 2D,
  non-saturating GAN loss, Adam 2e-4 / beta1 0.5 as in the DCGAN paper) on random HR patches of
  the training sources, each scaled to [0, 1] with the sources' common 0.5-99.5 % range (kept,
  to map samples back to physical units); :func:`save_generator` / :func:`load_generator`
  (``generator.safetensors`` + ``generator.json``).
* :func:`synthesise_pairs`: ``count`` latent vectors from a seeded generator -> HR patches
  (physical units) and their LR ``A(HR)``; the same seed gives the same pairs.
* ``data.synthetic: {generator: DIR, count: N, seed: S, share: 0.3}``
  (:func:`sources_from_config`): the synthetic HR patches join the training sources (their LR is
  made on the fly by ``data.degradation``, like every HR source), ``share`` = their sampling
  probability (:func:`medsr.train.extra_sources.apply_extra_shares`).
* ``medsr train-generator CONFIG -o DIR --steps N --patch P`` trains and saves one from a
  recipe's training data (:func:`train_generator_from_config`).

Simplified: a small DCGAN on 2D patches (the paper trains one per lesion class on whole ROIs);
2D only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError, OptionError
from medsr.jsonutil import write_json
from medsr.normalise import Normaliser
from medsr.runtime import generator as torch_generator
from medsr.runtime import torch_seed, torch_threads
from medsr.train.sources import Source

__all__ = [
    "GeneratorSpec",
    "PatchCritic",
    "PatchGenerator",
    "load_generator",
    "save_generator",
    "sources_from_config",
    "synthesise_pairs",
    "train_generator",
    "train_generator_from_config",
]


@dataclass(frozen=True)
class GeneratorSpec:
    """What :class:`PatchGenerator` is and how its [0, 1] output maps to physical units."""

    patch: int = 32
    latent: int = 64
    features: int = 32
    channels: int = 1
    low: float = 0.0
    high: float = 1.0


class PatchGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016): ``z (N, latent)`` -> linear -> ``(4f, P/4, P/4)`` ->
    two stride-2 transposed convolutions with batch norm and ReLU -> sigmoid image in [0, 1]."""

    def __init__(self, spec: GeneratorSpec) -> None:
        super().__init__()
        if spec.patch % 4:
            raise OptionError("{patch} must be a multiple of 4")
        f, s = spec.features, spec.patch // 4
        self.spec = spec
        self.project = nn.Sequential(
            nn.Linear(spec.latent, 4 * f * s * s), nn.BatchNorm1d(4 * f * s * s), nn.ReLU(True)
        )
        self.body = nn.Sequential(
            nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1),
            nn.BatchNorm2d(2 * f),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1),
            nn.BatchNorm2d(f),
            nn.ReLU(True),
            nn.Conv2d(f, spec.channels, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        s = self.spec.patch // 4
        return self.body(self.project(z).view(len(z), -1, s, s))


class PatchCritic(nn.Module):
    """DCGAN discriminator: stride-2 convolutions with leaky ReLU, one logit per patch."""

    def __init__(self, spec: GeneratorSpec) -> None:
        super().__init__()
        f = spec.features
        self.body = nn.Sequential(
            nn.Conv2d(spec.channels, f, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(f, 2 * f, 4, 2, 1),
            nn.BatchNorm2d(2 * f),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            nn.Linear(2 * f * (spec.patch // 4) ** 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten()


def _random_patches(
    sources: Sequence[Source], patch: int, count: int, slice_axis: int, seed: int
) -> np.ndarray:
    """``(count, C, patch, patch)`` random 2D HR patches (physical units) of the sources."""
    rng = np.random.default_rng([seed, 86])
    out = []
    for _ in range(count):
        src = sources[int(rng.integers(len(sources)))]
        axes = (0, 1) if src.is_2d else tuple(a for a in range(3) if a != slice_axis)
        cut = 2 if src.is_2d else slice_axis
        if any(src.shape[a] < patch for a in axes):
            raise MedsrError(f"{src.name} is smaller than the generator's {patch}-pixel patches")
        start = [0, 0, 0]
        for a in axes:
            start[a] = int(rng.integers(0, src.shape[a] - patch + 1))
        start[cut] = int(rng.integers(0, src.shape[cut]))
        sl = tuple(slice(s, s + (patch if a in axes else 1)) for a, s in enumerate(start))
        block = src.hr[(slice(None), *sl)]
        out.append(np.take(block, 0, axis=1 + cut))
    return np.stack(out).astype(np.float32)


def train_generator(
    sources: Sequence[Source],
    *,
    patch: int = 32,
    steps: int = 2000,
    batch_size: int = 32,
    latent: int = 64,
    features: int = 32,
    lr: float = 2e-4,
    slice_axis: int = 2,
    seed: int = 0,
    threads: int | None = None,
    pool: int = 4096,
) -> tuple[PatchGenerator, dict[str, float]]:
    """Train a DCGAN on ``pool`` random HR patches of ``sources`` (see the module docstring).

    Returns ``(generator in eval mode, {"d_loss", "g_loss"} of the last step)``.
    """
    if steps < 1:
        raise OptionError("{steps} must be >= 1")
    real = _random_patches(sources, patch, pool, slice_axis, seed)
    low, high = (float(v) for v in np.percentile(real, (0.5, 99.5)))
    if not high > low:
        raise MedsrError("the training patches are constant; nothing to learn a generator from")
    spec = GeneratorSpec(patch, latent, features, int(real.shape[1]), low, high)
    data = torch.from_numpy(np.clip((real - low) / (high - low), 0.0, 1.0))
    with torch_threads(threads), torch_seed(seed):
        g, d = PatchGenerator(spec), PatchCritic(spec)
        opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
        rng = torch_generator(seed)
        ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)
        last = {"d_loss": float("nan"), "g_loss": float("nan")}
        for _ in range(steps):
            idx = torch.randint(len(data), (batch_size,), generator=rng)
            z = torch.randn(batch_size, latent, generator=rng)
            fake = g(z)
            d_loss = F.binary_cross_entropy_with_logits(
                d(data[idx]), ones
            ) + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = F.binary_cross_entropy_with_logits(d(fake), ones)  # non-saturating
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            last = {"d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach())}
    return g.eval(), last


def save_generator(gen: PatchGenerator, folder: str | Path, **extra: Any) -> Path:
    """Write ``generator.safetensors`` + ``generator.json`` (the spec and ``extra``)."""
    from safetensors.torch import save_file

    from medsr.io.atomic import atomic_path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "generator.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in gen.state_dict().items()}, str(tmp))
    write_json(out / "generator.json", {"kind": "dcgan", **asdict(gen.spec), **extra})
    return out


def load_generator(folder: str | Path) -> PatchGenerator:
    """The generator saved by :func:`save_generator` (eval mode)."""
    import json

    from safetensors.torch import load_file

    p = Path(folder)
    meta_path, weights = p / "generator.json", p / "generator.safetensors"
    if not meta_path.is_file() or not weights.is_file():
        raise MedsrError(
            f"{p} holds no generator.json + generator.safetensors; make one with "
            "medsr train-generator"
        )
    meta = json.loads(meta_path.read_text())
    fields = GeneratorSpec.__dataclass_fields__
    gen = PatchGenerator(GeneratorSpec(**{k: v for k, v in meta.items() if k in fields}))
    gen.load_state_dict(load_file(str(weights)))
    return gen.eval()


def synthesise_pairs(
    gen: PatchGenerator,
    count: int,
    *,
    seed: int = 0,
    scale: float | Sequence[float] = 2,
    degradation: str | None = "bicubic",
) -> tuple[np.ndarray, np.ndarray | None]:
    """``count`` synthetic pairs: HR ``(count, C, P, P, 1)`` in physical units from seeded latent
    vectors, and LR = ``A(HR)`` with ``degradation`` at ``scale`` (None: HR only). A pure function
    of ``(generator, count, seed, scale, degradation)``."""
    from medsr.train.degradation import make_degradation

    if count < 1:
        raise OptionError("{count} must be >= 1")
    spec = gen.spec
    z = torch.randn(count, spec.latent, generator=torch_generator(seed))
    with torch.no_grad():
        x = gen.eval()(z).numpy().astype(np.float64)
    hr = (spec.low + x * (spec.high - spec.low)).astype(np.float32)[..., None]
    if degradation is None:
        return hr, None
    s = (float(scale),) * 2 if np.isscalar(scale) else tuple(float(v) for v in scale)  # type: ignore[arg-type]
    op = make_degradation(degradation, (*s[:2], 1.0))
    if op is None:
        return hr, hr.copy()
    rng = np.random.default_rng([seed, 86])
    lr = np.stack([np.asarray(op.apply_array(h, rng), np.float32) for h in hr])
    return hr, lr


def sources_from_config(cfg: Any, normalisation: Normaliser) -> list[Source]:
    """The synthetic HR sources asked for by ``cfg.data.synthetic``."""
    s = cfg.data.synthetic
    if cfg.model.dims != 2:
        raise MedsrError(
            "config: data.synthetic: the generator makes 2D patches; use model.dims: 2"
        )
    gen = load_generator(s.generator)
    if gen.spec.channels != cfg.model.in_channels:
        raise MedsrError(
            f"config: data.synthetic.generator: it makes {gen.spec.channels}-channel images, the "
            f"model takes {cfg.model.in_channels}"
        )
    if any(gen.spec.patch < p for p in cfg.patch_tuple()):
        raise MedsrError(
            f"config: data.synthetic: the generator's {gen.spec.patch}-pixel patches are smaller "
            f"than data.patch_size {list(cfg.patch_tuple())}"
        )
    hr, _ = synthesise_pairs(gen, s.count, seed=s.seed, degradation=None)
    return [
        Source(f"synthetic:{s.seed}:{i}", np.ascontiguousarray(h), normalisation.fit(h), None, True)
        for i, h in enumerate(hr)
    ]


def train_generator_from_config(
    cfg: Any,
    output: str | Path,
    *,
    patch: int = 32,
    steps: int = 2000,
    batch_size: int = 32,
    seed: int = 0,
) -> Path:
    """Train a generator on a recipe's training images and save it in ``output``."""
    from medsr.train.sources import load_sources

    t = cfg.data.train
    sources = load_sources(t.hr_dir, pattern=t.pattern, limit=t.limit, color=cfg.data.color)
    axis = 2 if cfg.data.slice_axis is None else cfg.data.slice_axis
    gen, last = train_generator(
        sources,
        patch=patch,
        steps=steps,
        batch_size=batch_size,
        slice_axis=axis,
        seed=seed,
        threads=cfg.train.threads,
    )
    return save_generator(gen, output, steps=steps, seed=seed, trained_on=t.hr_dir, **last)
