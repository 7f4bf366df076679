"""The Lightning ``Trainer`` of a run: callbacks, loggers, precision, strategy, checkpoint IO.

Checkpoints (``checkpoints/last.ckpt`` every ``train.checkpoint_every`` steps, i.e. at the end of
each data epoch, and ``checkpoints/best.ckpt`` by validation PSNR, review section 5.2) are written
atomically, so a run killed while saving never leaves a truncated file behind. Lightning changes
process-wide torch flags when a ``Trainer`` is built (deterministic algorithms, cuDNN benchmark);
:func:`torch_flags_kept` restores them afterwards.

DDP: with the ``ddp`` strategy Lightning re-runs the same command in one child process per extra
device. Only global rank 0 (:func:`process_rank`) makes the run folder; the other ranks build
their trainer on a placeholder folder, and their checkpoint callbacks take rank 0's folder from the
strategy's broadcast when training starts (loggers write on rank 0 only).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.fabric.utilities.exceptions import MisconfigurationException

from medsr.errors import MedsrError
from medsr.train.best import BestCheckpoint, ValidateFinalWeights
from medsr.train.config import Config, config_to_dict, parse_duration
from medsr.train.logs import (
    LogHyperparameters,
    ValidationPreviews,
    flat_hyperparameters,
    make_loggers,
)
from medsr.train.progress import PlainProgress, progress_kind, step_bar

__all__ = [
    "AtomicCheckpointIO",
    "EpochCounted",
    "InterruptRecorder",
    "build_trainer",
    "precision_for",
    "process_rank",
    "torch_flags_kept",
]


def precision_for(cfg: Config, accelerator: str) -> str:
    """Lightning's ``precision`` for a config: ``auto`` is bf16-mixed on GPUs that have it
    (16-mixed for supervised tasks otherwise), 32-true on CPU. The GAN tasks step their
    discriminator's optimiser directly, so 16-mixed (which needs a gradient scaler) is refused."""
    p = cfg.train.precision
    gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if p == "auto":
        if gpu:
            return (
                "bf16-mixed"
                if torch.cuda.is_bf16_supported()
                else ("32-true" if cfg.task != "supervised" else "16-mixed")
            )
        return "32-true"
    if p in ("16", "16-mixed") and cfg.task != "supervised" and cfg.task != "autoencoder":
        raise MedsrError(
            "config: train.precision: 16-mixed needs a gradient scaler the GAN tasks do not use; "
            "choose bf16-mixed or 32"
        )
    return p


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written through :func:`medsr.io.atomic.atomic_path`: a run killed while saving
    never leaves a truncated ``last.ckpt`` behind."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        from medsr.io.atomic import atomic_path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


class EpochCounted(L.Callback):
    """Keeps Lightning's epoch counters right after a resumption, so that every later checkpoint
    resumes on the right data epoch.

    Checkpoints are written at the last batch of a data epoch. Resuming from one, Lightning (2.6)
    marks that epoch processed but does not count the next one as started (its fit loop skips
    ``increment_ready/started`` while the restart stage still says "mid epoch"); a checkpoint
    written during that epoch then reads as "between epochs", and resuming from it replays the
    previous data epoch (the sampler's epoch is the processed count). Within an epoch
    ``started == processed + 1`` holds; at each batch start this restores it.
    """

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        progress = trainer.fit_loop.epoch_progress
        if progress.current.started == progress.current.processed:
            progress.increment_ready()
            progress.increment_started()


class InterruptRecorder(L.Callback):
    """Keeps the exception that stopped ``Trainer.fit`` (Lightning turns a KeyboardInterrupt
    into ``sys.exit(1)``; :func:`medsr.train.run.train` raises the interruption again)."""

    def __init__(self) -> None:
        self.exception: BaseException | None = None

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.exception = exception


def process_rank() -> int:
    """This process's global rank as Lightning knows it before a trainer starts (0 in a plain
    process; the launcher's rank in DDP child processes and under torchrun / SLURM)."""
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0) or 0)


@contextmanager
def torch_flags_kept() -> Iterator[None]:
    """Restore, on exit, the process-wide settings a ``Trainer`` changes: deterministic
    algorithms (and their warn-only mode), ``cudnn.benchmark`` / ``cudnn.deterministic`` and the
    ``CUBLAS_WORKSPACE_CONFIG`` environment variable."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    cudnn_deterministic = torch.backends.cudnn.deterministic
    cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
        torch.backends.cudnn.deterministic = cudnn_deterministic
        if cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas


def build_trainer(
    cfg: Config,
    run_dir: Path,
    extra_callbacks: Sequence[Any] = (),
    *,
    has_val: bool,
    resume: bool = False,
) -> L.Trainer:
    """The ``Trainer`` of a config writing into ``run_dir`` (checkpoints, CSV and TensorBoard
    logs, :mod:`medsr.train.logs`: a resumed run (``resume``) continues its log versions);
    ``extra_callbacks`` are appended. Build it inside :func:`torch_flags_kept`."""
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
    t = cfg.train
    accelerator = "gpu" if t.accelerator == "cuda" else t.accelerator
    callbacks: list[Any] = [
        # Saved after the last batch of each data epoch (on_train_batch_end), the restart point
        # Lightning's loops resume exactly from; see medsr.train.run. Always into last.ckpt, the
        # file a resume reads: with Lightning's version counter, a run folder moved or cloned
        # before resuming (its stored path no longer matches) wrote last-v1.ckpt from then on.
        ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            save_last=True,
            save_top_k=0,
            every_n_train_steps=t.checkpoint_every,
            save_on_train_epoch_end=False,
            enable_version_counter=False,
        ),
        LearningRateMonitor(logging_interval="step"),
        EpochCounted(),
    ]
    if has_val:
        # best.ckpt and the best score agree, also on resumption; the final weights are validated
        callbacks += [
            BestCheckpoint(run_dir / "checkpoints"),
            ValidateFinalWeights(),
            ValidationPreviews(),  # LR | SR | HR images in TensorBoard
        ]
    bar = progress_kind(t.progress)  # no terminal: plain lines, not a carriage-return flood
    if bar in ("rich", "tqdm"):  # global step / max_steps, ETA from the resumed step
        callbacks.append(step_bar(bar, refresh_rate=max(1, min(50, t.log_every))))
    elif bar == "plain":
        callbacks.append(PlainProgress(max_time=parse_duration(t.max_time)))
    callbacks += list(extra_callbacks)
    strategy: Any = t.strategy
    gpu = accelerator == "gpu" or (accelerator == "auto" and torch.cuda.is_available())
    if t.strategy == "ddp":
        from lightning.pytorch.strategies import DDPStrategy

        from medsr.train.medical.sections import MEDICAL_TASKS

        several_nets = ("adversarial", "cycle", "ggan", "cincgan", *MEDICAL_TASKS)
        strategy = DDPStrategy(
            process_group_backend="nccl" if gpu else "gloo",
            find_unused_parameters=cfg.task in several_nets,
        )
    loggers = make_loggers(run_dir, resume=resume, rank=process_rank())
    callbacks.append(LogHyperparameters(flat_hyperparameters(config_to_dict(cfg))))
    try:
        return _trainer(cfg, accelerator, gpu, strategy, callbacks, loggers, has_val, run_dir)
    except MisconfigurationException as exc:  # e.g. an accelerator this machine does not have
        raise MedsrError(
            f"config: train (accelerator {t.accelerator}, devices {t.devices}, strategy "
            f"{t.strategy}): {' '.join(str(exc).split()).rstrip('. ')}; change these train options"
        ) from None


def _trainer(
    cfg: Config,
    accelerator: str,
    gpu: bool,
    strategy: Any,
    callbacks: list[Any],
    loggers: list[Any],
    has_val: bool,
    run_dir: Path,
) -> L.Trainer:
    t = cfg.train
    max_time = parse_duration(t.max_time)
    return L.Trainer(
        max_steps=t.max_steps,
        max_time=None if max_time is None else timedelta(seconds=max_time),
        max_epochs=-1,
        val_check_interval=cfg.val_every_steps() if has_val else None,
        check_val_every_n_epoch=None if has_val else 1,
        limit_val_batches=None if has_val else 0,
        num_sanity_val_steps=0,
        log_every_n_steps=t.log_every,
        precision=precision_for(cfg, accelerator),  # type: ignore[arg-type]
        accelerator=accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=strategy,
        deterministic=(True if not gpu else "warn") if t.deterministic else False,
        benchmark=False if t.deterministic else None,
        use_distributed_sampler=False,
        callbacks=callbacks,
        logger=loggers,
        enable_progress_bar=progress_kind(t.progress) in ("tqdm", "rich"),
        enable_model_summary=False,
        default_root_dir=str(run_dir),
        plugins=[AtomicCheckpointIO()],
    )
