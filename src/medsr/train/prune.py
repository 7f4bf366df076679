"""Magnitude pruning with fine-tuning (review section 2.4, ref. [27]: Han et al. 2015, "Learning
both weights and connections for efficient neural networks": train, prune the smallest weights,
retrain the rest).

:func:`prune_and_finetune` zeroes the given fraction of the kernel weights of every convolution and
linear layer by magnitude (``torch.nn.utils.prune``: one global threshold, or one per layer),
fine-tunes the surviving weights on training pairs (the pruned ones stay zero: the masks are
kept during fine-tuning) and makes the pruning permanent. It returns a :class:`PruneReport`: the
sparsity reached and the validation PSNR of the dense, the pruned and the fine-tuned network.
Simplified against the paper: one pruning round (the paper iterates prune/retrain), L1 loss with
Adam for the retraining.

On a trained run folder, :func:`prune_run` does the same with the run's own recipe (its training
patches for the fine-tuning, its validation images for the PSNR; ``data.val`` is needed) and writes
the pruned network (``model.safetensors`` + ``model.json``, usable by ``medsr upscale --model``)
and ``prune.json`` (the report) into a new folder.

Example::

    from medsr.train.prune import prune_and_finetune
    report = prune_and_finetune(net, train_pairs=[(lr, hr)], val_pairs=[(lr_v, hr_v)],
                                amount=0.5, steps=200)
    print(report.sparsity, report.psnr_dense, report.psnr_pruned, report.psnr_finetuned)
    prune_run("runs/vdsr_x2", "runs/vdsr_x2_pruned50", amount=0.5, steps=500)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from medsr.errors import MedsrError, OptionError
from medsr.metrics import psnr_torch
from medsr.runtime import generator

__all__ = [
    "PruneReport",
    "prunable",
    "prune_and_finetune",
    "prune_magnitude",
    "prune_run",
    "sparsity",
]

Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class PruneReport:
    """What pruning did: asked and reached sparsity (fraction of zero kernel weights), validation
    PSNR (dB) of the dense, pruned and fine-tuned network, and the fine-tuning steps."""

    amount: float
    sparsity: float
    psnr_dense: float
    psnr_pruned: float
    psnr_finetuned: float
    steps: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def prunable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """``(module, "weight")`` of every convolution (incl. transposed) and linear layer."""
    kinds = (nn.modules.conv._ConvNd, nn.Linear)
    return [(m, "weight") for m in model.modules() if isinstance(m, kinds)]


def sparsity(model: nn.Module) -> float:
    """Fraction of the kernel weights of :func:`prunable` layers that are exactly zero."""
    params = prunable(model)
    if not params:
        raise MedsrError("the network has no convolution or linear layer to prune")
    zeros = sum(int((getattr(m, n) == 0).sum()) for m, n in params)
    return zeros / sum(getattr(m, n).numel() for m, n in params)


def prune_magnitude(
    model: nn.Module, amount: float, *, scope: Literal["global", "layer"] = "global"
) -> float:
    """Zero the ``amount`` fraction of smallest-magnitude kernel weights (masks stay attached
    until :func:`torch.nn.utils.prune.remove`); returns the sparsity reached."""
    if not 0 <= amount < 1:
        raise OptionError(f"{{amount}} must be in [0, 1), got {amount!r}")
    params = prunable(model)
    if not params:
        raise MedsrError("the network has no convolution or linear layer to prune")
    if scope == "global":
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    elif scope == "layer":
        for m, n in params:
            prune.l1_unstructured(m, n, amount=amount)
    else:
        raise OptionError(f"{{scope}} must be global or layer, got {scope!r}")
    return sparsity(model)


@torch.no_grad()
def _psnr(model: nn.Module, pairs: Sequence[Pair], data_range: float | None) -> float:
    model.eval()
    vals = []
    for lr, hr in pairs:
        rng: float | torch.Tensor = (
            data_range
            if data_range is not None
            else ((hr.flatten(1).amax(1) - hr.flatten(1).amin(1)).clamp_min(1e-6))
        )
        vals.append(float(psnr_torch(hr, model(lr), data_range=rng, mse_floor=1e-20).mean()))
    return sum(vals) / len(vals)


def prune_and_finetune(
    model: nn.Module,
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
    *,
    amount: float,
    steps: int = 200,
    lr: float = 1e-3,
    scope: Literal["global", "layer"] = "global",
    data_range: float | None = 1.0,
    seed: int = 0,
) -> PruneReport:
    """Prune ``model`` in place by magnitude, fine-tune it on ``train_pairs`` ((N, C, ...) LR/HR
    tensors; one random pair per step) for ``steps`` Adam steps with an L1 loss, make the pruning
    permanent, and report sparsity and PSNR on ``val_pairs`` before/after (``data_range`` None:
    each image's HR range)."""
    if steps < 0:
        raise OptionError(f"{{steps}} must be >= 0, got {steps!r}")
    if not train_pairs or not val_pairs:
        raise MedsrError("pruning needs training pairs to fine-tune on and validation pairs")
    dense = _psnr(model, val_pairs, data_range)
    prune_magnitude(model, amount, scope=scope)
    pruned = _psnr(model, val_pairs, data_range)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    gen = generator(seed, torch.device("cpu"))
    model.train()
    for _ in range(steps):
        i = int(torch.randint(len(train_pairs), (1,), generator=gen))
        x, y = train_pairs[i]
        loss = F.l1_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for m, n in prunable(model):
        if prune.is_pruned(m):
            prune.remove(m, n)
    tuned = _psnr(model, val_pairs, data_range)
    return PruneReport(
        amount=float(amount),
        sparsity=sparsity(model),
        psnr_dense=dense,
        psnr_pruned=pruned,
        psnr_finetuned=tuned,
        steps=int(steps),
    )


def prune_run(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    amount: float,
    steps: int = 200,
    lr: float = 1e-4,
    scope: Literal["global", "layer"] = "global",
    batches: int = 64,
) -> PruneReport:
    """Prune and fine-tune the network of a ``medsr train`` run folder (see the module docstring);
    fine-tuning cycles through the first ``batches`` training batches of the recipe. Writes
    ``out_dir`` (a new folder) and returns the report."""
    from medsr.io.atomic_folder import atomic_folder
    from medsr.jsonutil import write_json
    from medsr.train.builders import _load_init_weights, build_datamodule, build_model
    from medsr.train.config import load_config
    from medsr.train.run import save_run_weights

    run, out = Path(run_dir), Path(out_dir)
    if not (run / "config.yaml").is_file():
        raise MedsrError(f"{run} is not a medsr run folder (no config.yaml)")
    if out.exists():
        raise MedsrError(f"{out} exists; give a new folder for the pruned network")
    if batches < 1:
        raise OptionError(f"{{batches}} must be >= 1, got {batches!r}")
    cfg = load_config(run / "config.yaml")
    if cfg.task == "autoencoder":
        raise MedsrError("pruning is for SR networks; this run trained an auto-encoder")
    if cfg.data.val is None:
        raise MedsrError(f"{run}: the recipe has no data.val; pruning reports validation PSNR")
    dm, norm, _ = build_datamodule(cfg)
    net = build_model(cfg)
    _load_init_weights(net, str(run))
    train_pairs: list[Pair] = []
    for batch in dm.train_dataloader():
        train_pairs.append((batch["lr"], batch["hr"]))
        if len(train_pairs) >= batches:
            break
    val_pairs = [(b["lr"], b["hr"]) for b in dm.val_dataloader()]
    report = prune_and_finetune(
        net,
        train_pairs,
        val_pairs,
        amount=amount,
        steps=steps,
        lr=lr,
        scope=scope,
        data_range=1.0 if norm.unit_range else None,
        seed=cfg.seed,
    )
    extra = {"pruning": {**report.as_dict(), "from": str(run), "scope": scope, "lr": lr}}
    with atomic_folder(out) as staged:  # the folder appears whole or not at all
        save_run_weights(net, staged, cfg, norm, extra)
        write_json(staged / "prune.json", extra["pruning"])
    return report
