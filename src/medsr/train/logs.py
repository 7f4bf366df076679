"""The CSV and TensorBoard loggers of a run: one log version per run, hyper-parameters logged.

A new run writes ``logs/version_N/metrics.csv`` and ``tensorboard/version_N/`` with the next free
``N``. A resumed run (``medsr train --resume RUN``) continues the latest version of each instead of
starting a new one, so one run has one curve: the CSV file is appended to (its header kept and
widened when new metrics appear) and TensorBoard adds an event file to the same folder. The run's
configuration, flattened to ``section.key`` names, is logged as hyper-parameters
(``hparams.yaml`` in both folders, and TensorBoard's HPARAMS tab), and
:class:`ValidationPreviews` shows LR / SR / HR crops of the validation items in TensorBoard.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from medsr.errors import MedsrError

__all__ = [
    "LogHyperparameters",
    "ValidationPreviews",
    "flat_hyperparameters",
    "latest_version",
    "make_loggers",
]

_VERSION = re.compile(r"version_(\d+)$")


def latest_version(folder: Path) -> int | None:
    """The largest ``N`` of the ``version_N`` folders in ``folder`` (None when there is none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [
        int(m.group(1)) for p in folder.iterdir() if p.is_dir() and (m := _VERSION.match(p.name))
    ]
    return max(found) if found else None


def flat_hyperparameters(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and None become text (TensorBoard's HPARAMS
    accepts numbers, booleans and text only)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if value:
                out.update(flat_hyperparameters(value, f"{name}."))
            else:
                out[name] = "{}"
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def _csv_header(path: Path) -> list[str]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def _appending_writer(log_dir: str) -> Any:
    """Lightning's CSV experiment writer, continuing the ``metrics.csv`` of ``log_dir`` (its
    columns kept) instead of deleting it."""
    from lightning.pytorch.loggers.csv_logs import ExperimentWriter

    class AppendingWriter(ExperimentWriter):
        def _check_log_dir_exists(self) -> None:  # keep the file of the earlier session
            pass

    writer = AppendingWriter(log_dir)
    writer.metrics_keys = sorted(_csv_header(Path(log_dir) / writer.NAME_METRICS_FILE))
    return writer


def make_loggers(run_dir: Path, *, resume: bool, rank: int = 0) -> list[Any]:
    """The CSV logger (``logs/``) and, when TensorBoard is installed, the TensorBoard logger
    (``tensorboard/``) of a run; ``resume`` continues their latest versions."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    run_dir = Path(run_dir)
    csv_version = latest_version(run_dir / "logs") if resume else None
    csv_logger = CSVLogger(save_dir=str(run_dir), name="logs", version=csv_version)
    if csv_version is not None and rank == 0:
        # Lightning's writer deletes an existing metrics.csv; this one appends to it
        csv_logger._experiment = _appending_writer(csv_logger.log_dir)
    loggers: list[Any] = [csv_logger]
    try:
        tb_version = latest_version(run_dir / "tensorboard") if resume else None
        loggers.append(
            TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=tb_version)
        )
    except ModuleNotFoundError:  # pragma: no cover - tensorboard is a dependency
        pass
    return loggers


class LogHyperparameters(L.Callback):
    """Logs ``params`` (the flattened config) to every logger when training starts (not when the
    trainer is built: a run that fails before training leaves no open TensorBoard writer)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for logger in trainer.loggers:
            logger.log_hyperparams(self.params)


def _preview_plane(x: np.ndarray) -> np.ndarray:
    """``(C, *spatial)`` -> one 2D plane ``(C, H, W)``: the middle slice of a 3D block."""
    return x[..., x.shape[-1] // 2] if x.ndim == 4 else x


class ValidationPreviews(L.Callback):
    """Images of the first ``count`` validation items in TensorBoard at every validation:
    ``val/preview_i`` = LR (nearest-neighbour enlarged) | SR | HR side by side (the middle slice
    of 3D blocks), all three on the HR's grey scale. Only when the TensorBoard logger is on."""

    def __init__(self, count: int = 2) -> None:
        self.count = int(count)

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        from lightning.pytorch.loggers import TensorBoardLogger

        if trainer.sanity_checking or batch_idx >= self.count or trainer.global_rank != 0:
            return
        boards = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        if not boards or not isinstance(batch, dict) or "lr" not in batch or "hr" not in batch:
            return
        if not isinstance(batch["lr"], torch.Tensor):  # several LR stacks (oktay_misr): no preview
            return
        model = getattr(pl_module, "export_model", None)
        if model is None:
            return
        ref = batch.get("ref")
        inputs = (batch["lr"][:1],) if ref is None else (batch["lr"][:1], ref[:1])
        try:
            with torch.no_grad():
                sr = model(*inputs).float()
        except (TypeError, RuntimeError, ValueError, MedsrError):  # another input contract
            return
        hr = batch["hr"][:1].float()
        if not isinstance(sr, torch.Tensor) or sr.shape != hr.shape:
            return
        lr = F.interpolate(batch["lr"][:1].float(), size=hr.shape[2:], mode="nearest")
        planes = [_preview_plane(t[0].cpu().numpy()) for t in (lr, sr, hr)]
        lo, hi = float(planes[2].min()), float(planes[2].max())
        scale = (hi - lo) or 1.0
        image = np.concatenate([np.clip((p - lo) / scale, 0, 1) for p in planes], axis=-1)
        if image.shape[0] not in (1, 3):
            image = image[:1]
        for board in boards:
            board.experiment.add_image(
                f"val/preview_{batch_idx}", image, global_step=int(trainer.global_step)
            )
