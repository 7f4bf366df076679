"""A small learned augmentation policy in the spirit of AutoAugment (Cubuk et al. 2019; review
section 5.1, refs. [87, 88]).

The search space is the trainer's own augmentation operations (:mod:`medsr.train.augment`) with a
few magnitudes each; a policy is a set of ``ops_per_policy`` (operation, magnitude) pairs. Each
candidate policy, and the identity (the config's augmentation with these operations off), is scored
by the validation PSNR of a short training run of the config; the result (every trial, the best
policy, its gain over the identity) is written to ``policy.json``; ``repeats`` scores each
candidate by the mean over several config seeds. Command: ``medsr search-policy CONFIG --trials 8
--steps 2000 -o OUT`` (:mod:`medsr.cli.policy`). Simplified: random search instead
of AutoAugment's RNN controller trained with reinforcement learning, and magnitudes instead of
probabilities (every operation draws its own random strength up to the magnitude per sample).

Example::

    from medsr.train import load_config
    from medsr.train.policy import search_policy
    result = search_policy(load_config("configs/srcnn.yaml"), trials=8, steps=2000)
    result.best  # e.g. {"rotate": 10.0, "bias_field": 0.2}: put it under data.augment
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsr.errors import MedsrError, OptionError
from medsr.jsonutil import write_json

__all__ = ["OPERATIONS", "PolicyResult", "search_policy"]

#: operation -> magnitudes searched (fields of :class:`medsr.train.config.AugmentSection`)
OPERATIONS: dict[str, tuple[float, ...]] = {
    "rotate": (10.0, 20.0, 45.0),
    "scale": (0.05, 0.1, 0.2),
    "elastic": (1.0, 2.0, 4.0),
    "bias_field": (0.1, 0.2, 0.4),
    "brightness": (0.05, 0.1, 0.2),
    "contrast": (0.1, 0.2, 0.3),
}


@dataclass
class PolicyResult:
    """The outcome of :func:`search_policy`.

    Attributes:
        best: the best-scoring policy (``{}`` when the identity won).
        best_psnr: its validation PSNR (dB).
        identity_psnr: the validation PSNR without these operations.
        trials: every ``{"policy", "psnr"}`` evaluated, in order (the identity first).
        path: the ``policy.json`` written.
    """

    best: dict[str, float]
    best_psnr: float
    identity_psnr: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None


def _sample(
    rng: np.random.Generator, ops: int, space: dict[str, tuple[float, ...]]
) -> dict[str, float]:
    names = sorted(space)
    chosen = rng.choice(len(names), size=ops, replace=False)
    return {names[i]: float(rng.choice(space[names[i]])) for i in sorted(chosen)}


def search_policy(
    config: Any,
    *,
    trials: int = 8,
    ops_per_policy: int = 2,
    steps: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    operations: dict[str, tuple[float, ...]] | None = None,
    repeats: int = 1,
) -> PolicyResult:
    """Random search over augmentation policies scored by validation PSNR (review 5.1).

    Args:
        config: a :class:`medsr.train.config.Config` with ``data.val`` (the scoring set).
        trials: candidate policies besides the identity (>= 1).
        ops_per_policy: operations per policy (1 .. len(OPERATIONS)).
        steps: training steps per trial (default: the config's ``train.max_steps``).
        seed: seed of the search (each trial trains with the config's own seed).
        out: folder of the trial runs and ``policy.json`` (default: the config's output folder
            + ``/policy_search``).
        operations: the search space, operation -> magnitudes (default :data:`OPERATIONS`;
            keys must be fields of :class:`medsr.train.config.AugmentSection`).
        repeats: short runs per candidate, with config seeds ``seed, seed + 1, ...``; the score
            is their mean PSNR (short runs on little data vary by tenths of a dB from seed to
            seed, so one run per candidate mostly ranks noise).
    """
    from medsr.train.config import AugmentSection
    from medsr.train.run import train

    space = dict(OPERATIONS if operations is None else operations)
    unknown = sorted(set(space) - set(AugmentSection.model_fields))
    if unknown or not space or not all(space.values()):
        raise OptionError(
            "{operations} must map augmentation fields to magnitudes"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    if trials < 1:
        raise OptionError("{trials} must be >= 1")
    if repeats < 1:
        raise OptionError("{repeats} must be >= 1")
    if not 1 <= ops_per_policy <= len(space):
        raise OptionError(f"{{ops_per_policy}} must be between 1 and {len(space)}")
    if config.data.val is None:
        raise MedsrError("the policy search scores by validation PSNR; give data.val in the config")
    rng = np.random.default_rng(seed)
    default = Path(config.output_dir or Path(config.runs_dir) / config.name) / "policy_search"
    base_dir = Path(out) if out is not None else default
    candidates: list[dict[str, float]] = [{}]
    possible = 1 + sum(
        math.prod(len(space[n]) for n in combo)
        for combo in itertools.combinations(sorted(space), ops_per_policy)
    )
    if trials + 1 > possible:
        raise OptionError(f"{{trials}} must be at most {possible - 1} for this search space")
    while len(candidates) < trials + 1:
        p = _sample(rng, ops_per_policy, space)
        if p not in candidates:
            candidates.append(p)
    off = {name: 0.0 for name in space}
    records: list[dict[str, Any]] = []
    for i, policy in enumerate(candidates):
        scores = []
        for r in range(repeats):
            cfg = config.model_copy(deep=True)
            cfg.data.augment = cfg.data.augment.model_copy(update={**off, **policy})
            cfg.output_dir = str(base_dir / (f"trial{i:02d}" + (f"_seed{r}" if r else "")))
            cfg.seed = int(config.seed) + r
            if steps is not None:
                cfg.train.max_steps = int(steps)
            cfg.train.val_every = cfg.train.max_steps
            run = train(cfg)
            scores.append(
                float(run.metrics.get("best/val_psnr", run.metrics.get("val/psnr", math.nan)))
            )
        records.append({"policy": policy, "psnr": float(np.mean(scores)), "psnrs": scores})
    scored = [r for r in records if math.isfinite(r["psnr"])]
    if not scored:
        raise MedsrError("the policy search got no validation PSNR; check data.val")
    best = max(scored, key=lambda r: r["psnr"])
    result = PolicyResult(
        best=dict(best["policy"]),
        best_psnr=best["psnr"],
        identity_psnr=records[0]["psnr"],
        trials=records,
    )
    result.path = write_json(
        base_dir / "policy.json",
        {
            "best": result.best,
            "best_psnr": result.best_psnr,
            "identity_psnr": result.identity_psnr,
            "gain_db": result.best_psnr - result.identity_psnr,
            "trials": records,
            "steps": steps,
            "seed": seed,
            "repeats": repeats,
        },
    )
    return result
