"""``train(config) -> RunResult``: the body of ``medsr train CONFIG.yaml [key=value ...]``.

A run lives in one folder (``runs/<name>-<YYYYmmdd-HHMMSS>/`` or ``output_dir``)::

    config.yaml          the validated config actually used (overrides applied)
    checkpoints/last.ckpt   Lightning checkpoint at the end of every data epoch (resumable)
    checkpoints/best.ckpt   best validation PSNR so far (when there is validation data)
    logs/version_N/metrics.csv, tensorboard/version_N/   CSV and TensorBoard logs
    model.safetensors + model.json   the final weights and how to use them

Resuming (``medsr train --resume RUN_DIR``) reloads ``config.yaml`` and ``checkpoints/last.ckpt``:
weights, optimiser and scheduler states, step counters and random states. Because every training
sample is a function of ``(seed, epoch, index)`` and checkpoints are written at epoch boundaries
(``train.checkpoint_every`` steps), the resumed run continues exactly as the uninterrupted one,
however often it is killed (checkpoints are written atomically; temporaries of a killed writer are
removed on resumption). The folder of a new run is made once data and network are built, and is
removed again (in an existing ``output_dir``: only what the run added) when training fails
before its first checkpoint, so a failed start leaves nothing behind.

No process-wide state outlives a call: the number of torch threads (``train.threads``), the
global random generators (seeded with ``seed`` for the network initialisation, as Lightning's
``seed_everything`` would) and the flags Lightning sets are all restored when :func:`train`
returns. The pieces live in :mod:`~medsr.train.builders` (data, network, task) and
:mod:`~medsr.train.trainer` (the Lightning ``Trainer``).

DDP: ``train.devices: 2`` (and ``train.strategy: ddp``) make Lightning start one process per device;
with the ``ddp`` strategy Lightning re-runs the same command in the child processes. Only global
rank 0 makes the run folder; the other ranks learn it from rank 0 when training starts (see
:mod:`medsr.train.trainer`). On CPU the gloo backend is used. For several nodes give
``output_dir`` explicitly, on a file system every node sees.
"""

from __future__ import annotations

import datetime as _dt
import os
import random
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from torch import nn

from medsr.errors import MedsrError, OptionError
from medsr.normalise import Normaliser
from medsr.runtime import torch_seed, torch_threads
from medsr.train.builders import build_datamodule, build_model, build_task
from medsr.train.config import Config, config_to_dict, load_config, parse_config
from medsr.train.interrupt import (
    StopAtStep,
    StopRequest,
    TrainingInterrupted,
    resume_command,
    stop_on_signals,
)
from medsr.train.trainer import (
    InterruptRecorder,
    build_trainer,
    process_rank,
    torch_flags_kept,
)

__all__ = ["RunResult", "train"]


@dataclass
class RunResult:
    """What a finished run produced.

    Attributes:
        run_dir: the run folder.
        weights: ``model.safetensors`` (or ``autoencoder.safetensors``); None on ranks other than 0.
        model: the trained network (EMA weights when enabled), on CPU, in eval mode.
        metrics: last logged values (``val/psnr``, ``val/ssim``, ``train/loss`` ...) and
            ``best/val_psnr`` when validation ran.
        global_step: training steps done.
        config: the config used.
        rank: this process's global rank.
    """

    run_dir: Path
    weights: Path | None
    model: nn.Module
    metrics: dict[str, float] = field(default_factory=dict)
    global_step: int = 0
    config: Config | None = None
    rank: int = 0


def _refuse_existing_run(cfg: Config) -> None:
    """Refuse an ``output_dir`` that already holds a run (before any data is read)."""
    if cfg.output_dir:
        out = Path(cfg.output_dir)
        if (out / "checkpoints" / "last.ckpt").exists() or (out / "model.safetensors").exists():
            raise OptionError(
                f"{out} already holds a run; continue it with {{resume}} {out} or "
                "choose another output_dir"
            )


@dataclass
class _NewRunDir:
    """The folder of a new run and what making it added: removed again (:meth:`discard`) when
    the run fails before its first checkpoint, so that a failed start leaves nothing behind."""

    path: Path
    created: Path | None  # the topmost folder made for the run (None: ``path`` existed)
    existing: frozenset[str] = frozenset()  # entries of a pre-existing ``path``

    @classmethod
    def make(cls, cfg: Config) -> _NewRunDir:
        _refuse_existing_run(cfg)
        if cfg.output_dir:
            out = Path(cfg.output_dir)
        else:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            base = Path(cfg.runs_dir) / f"{cfg.name}-{stamp}"
            out, n = base, 1
            while out.exists():
                n += 1
                out = base.with_name(f"{base.name}-{n}")
        if out.is_dir():
            _clean_temporaries(out)
            return cls(out, None, frozenset(os.listdir(out)))
        created = out
        while not created.parent.exists():
            created = created.parent
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise MedsrError(
                f"cannot create the run folder {out} ({exc.strerror or exc}); choose another "
                "output_dir or runs_dir"
            ) from None
        return cls(out, created)

    def discard(self) -> None:
        """Remove what the run added, unless it holds a checkpoint to resume from."""
        if (self.path / "checkpoints" / "last.ckpt").exists():
            return
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)
            return
        for entry in set(os.listdir(self.path)) - self.existing:
            target = self.path / entry
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)


#: The files of a run folder, whose temporaries a killed run may leave (medsr.io.atomic).
_RUN_FILES = (
    "config.yaml",
    "model.safetensors",
    "model.json",
    "autoencoder.safetensors",
    "checkpoints/last.ckpt",
    "checkpoints/best.ckpt",
)


def _clean_temporaries(run_dir: Path) -> None:
    """Remove what a killed run left half-written in ``run_dir`` (temporaries of dead writers:
    :func:`medsr.io.atomic.clean_stale`); the files themselves are always whole."""
    from medsr.io.atomic import clean_stale

    for name in _RUN_FILES:
        clean_stale(run_dir / name)


def _write_yaml(data: dict[str, Any], path: Path) -> None:
    from medsr.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


# ---------------------------------------------------------------------- entry point
def train(
    config: Config | str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    *,
    resume: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Any] = (),
) -> RunResult:
    """Run a training recipe to the end (the body of ``medsr train``).

    Args:
        config: a :class:`Config`, or the path of a YAML recipe. Omit it with ``resume``.
        overrides: ``key.path=value`` strings applied on top (also on resume, e.g.
            ``train.max_steps=20000`` to train longer).
        resume: a run folder to continue from its ``checkpoints/last.ckpt``.
        callbacks: extra Lightning callbacks (progress hooks, tests).

    Returns:
        :class:`RunResult`. Rank 0 writes ``model.safetensors`` + ``model.json`` in the run folder.
    """
    ckpt_path: Path | None = None
    run_dir: Path | None
    if resume is not None:
        run_dir = Path(resume)
        cfg_file = run_dir / "config.yaml"
        if not cfg_file.is_file():
            raise MedsrError(
                f"{run_dir} is not a medsr run folder (no config.yaml); give the folder `medsr "
                "train` made"
            )
        cfg = load_config(cfg_file, overrides)
        ckpt_path = run_dir / "checkpoints" / "last.ckpt"
        if not ckpt_path.is_file():
            raise MedsrError(
                f"{ckpt_path} not found: the run stopped before its first checkpoint; start it "
                "again"
            )
        if process_rank() == 0:
            _clean_temporaries(run_dir)
    else:
        if config is None:
            raise OptionError("give a config file (or {resume} RUN_DIR)")
        if isinstance(config, Config):
            cfg = parse_config(config_to_dict(config), overrides) if overrides else config
        else:
            cfg = load_config(config, overrides)
        run_dir = None  # other DDP ranks: the folder rank 0 makes (in _fit)
        if process_rank() == 0:
            _refuse_existing_run(cfg)  # before reading any data
    try:
        with torch_threads(cfg.train.threads), _seeded(cfg.seed), torch_flags_kept():
            return _fit(cfg, run_dir, ckpt_path, callbacks, new_run=resume is None)
    except TrainingInterrupted as stop:  # Ctrl-C / SIGTERM: last.ckpt holds the current step
        stop.command = resume_command(stop.run_dir, list(overrides) if resume is not None else [])
        raise


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """torch's, numpy's and Python's global generators seeded with ``seed`` inside (network
    initialisation draws from torch's; the tasks store all three in their checkpoints), and put
    back as they were on exit."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    with torch_seed(seed):
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


def _fit(
    cfg: Config,
    run_dir: Path | None,
    ckpt_path: Path | None,
    callbacks: Sequence[Any],
    *,
    new_run: bool,
) -> RunResult:
    dm, norm, files = build_datamodule(cfg)
    model = build_model(cfg)
    task = build_task(cfg, model, norm)
    # The run folder of a new run appears only now that data and network are ready, and goes
    # again if training fails before its first checkpoint (nothing to resume from).
    made = _NewRunDir.make(cfg) if new_run and process_rank() == 0 else None
    if made is not None:
        run_dir = made.path
    try:
        if made is not None:
            _write_yaml(config_to_dict(cfg), made.path / "config.yaml")
        return _train_and_export(cfg, run_dir, ckpt_path, callbacks, dm, norm, files, task)
    except BaseException:
        if made is not None:
            made.discard()
        raise


def _train_and_export(
    cfg: Config,
    run_dir: Path | None,
    ckpt_path: Path | None,
    callbacks: Sequence[Any],
    dm: Any,
    norm: Normaliser,
    files: list[str],
    task: Any,
) -> RunResult:
    # ranks other than 0 write nothing; their checkpoint callbacks take rank 0's folder by broadcast
    where = run_dir if run_dir is not None else Path(cfg.output_dir or cfg.runs_dir)
    interruption = InterruptRecorder()
    request = StopRequest()
    trainer = build_trainer(
        cfg,
        where,
        [*callbacks, StopAtStep(request, where / "checkpoints" / "last.ckpt"), interruption],
        has_val=dm.val_set is not None and len(dm.val_set) > 0,
        resume=ckpt_path is not None,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
        warnings.filterwarnings(
            "ignore", message=r".*Checkpoint directory .* exists and is not empty.*"
        )
        warnings.filterwarnings("ignore", message=r".*Experiment logs directory .* exists.*")
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
        # a data epoch may be shorter than log_every: logging follows the global step anyway
        warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
        # GAN tasks checkpoint the state after the batch's updates, which is what resuming needs
        warnings.filterwarnings(
            "ignore", message=r".*manual optimization and every_n_train_steps.*"
        )
        try:
            # Ctrl-C / SIGTERM during fit only ask StopAtStep to checkpoint the current step
            with stop_on_signals(request):
                trainer.fit(
                    task,
                    datamodule=dm,
                    ckpt_path=str(ckpt_path) if ckpt_path is not None else None,
                )
        except SystemExit:
            # Lightning ends a process interrupted by Ctrl-C / SIGTERM (medsr.io.atomic's
            # Interrupted) with exit code 1: raise the interruption itself again instead
            if isinstance(interruption.exception, KeyboardInterrupt):
                raise interruption.exception from None
            raise
    metrics = _floats(dict(trainer.callback_metrics))
    for cb in trainer.checkpoint_callbacks:
        if getattr(cb, "monitor", None) == "val/psnr" and cb.best_model_score is not None:
            metrics["best/val_psnr"] = float(cb.best_model_score)
    net = task.export_model.to("cpu").eval()
    weights: Path | None = None
    if run_dir is None:  # another rank: rank 0's folder, as its checkpoint callback received it
        run_dir = Path(str(trainer.checkpoint_callback.dirpath)).parent  # type: ignore[union-attr]
    if trainer.global_rank == 0:
        weights = _export(cfg, net, norm, files, metrics, int(trainer.global_step), run_dir)
    return RunResult(
        run_dir, weights, net, metrics, int(trainer.global_step), cfg, int(trainer.global_rank)
    )


def _export(
    cfg: Config,
    net: nn.Module,
    norm: Normaliser,
    files: list[str],
    metrics: dict[str, float],
    step: int,
    run_dir: Path,
) -> Path:
    extra = {
        "training": {
            "config": cfg.name,
            "task": cfg.task,
            "mode": cfg.train.mode,
            "steps": step,
            "data": {
                "hr": cfg.data.train.hr_dir,
                "lr": cfg.data.train.lr_dir,
                "files": files[:100],
                "n_files": len(files),
                "degradation": cfg.data.degradation
                if cfg.data.train.lr_dir is None
                else "explicit pairs",
                "color": cfg.data.color,
                "patch_size": list(cfg.patch_tuple()),
                "slice_axis": cfg.data.slice_axis,
            },
            "ema": cfg.train.ema_decay,
            "run_dir": str(run_dir),
        },
        "metrics": {k: v for k, v in metrics.items() if k.startswith(("val/", "best/"))},
    }
    if cfg.task == "autoencoder":
        from medsr.losses.perceptual import save_autoencoder

        return save_autoencoder(net, run_dir / "autoencoder.safetensors", extra)  # type: ignore[arg-type]
    return save_run_weights(net, run_dir, cfg, norm, extra)


def save_run_weights(
    net: nn.Module, folder: Path, cfg: Config, norm: Normaliser, extra: dict[str, Any]
) -> Path:
    """``model.safetensors`` + ``model.json`` of a network trained with ``cfg`` into ``folder``."""
    from medsr.models.io import save_weights

    tensors, _ = save_weights(
        net,
        folder,
        name=cfg.model.name,
        preset=cfg.model.preset,
        kwargs=cfg.model.kwargs,
        scale=[int(f) if float(f).is_integer() else f for f in cfg.model.scale_tuple()],
        dims=cfg.model.dims,
        in_channels=cfg.model.in_channels,
        normalisation=norm.to_dict(),
        extra=extra,
    )
    return tensors
