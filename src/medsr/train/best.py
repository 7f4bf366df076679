"""The best validation score and ``best.ckpt`` always agree; the final weights are validated.

Review section 5.2 (model selection by validation PSNR). Two Lightning behaviours broke the
agreement when a run was resumed or extended (``medsr train --resume RUN train.max_steps=M``):

* ``last.ckpt`` is written at the end of a training step, before that step's validation, so the
  best score it carries misses the validation that followed (at the end of a finished run: the
  final one). Resumed from it, the score was stale: a later, worse model could overwrite
  ``best.ckpt`` and the summary and ``model.json`` reported a value that no checkpoint held.
  :class:`BestCheckpoint` restores the score from ``best.ckpt`` itself (the score stored in that
  file when it was written), so the two cannot disagree, also after the run folder was moved.
* validation ran every ``val_every`` steps only, so the exported final weights were often never
  validated. :class:`ValidateFinalWeights` asks for a validation at the last step (Lightning
  validates when ``trainer.should_stop`` is set), which also gives ``best.ckpt`` its chance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["BEST_NAME", "BestCheckpoint", "ValidateFinalWeights", "best_score_in"]

#: the file name (without ``.ckpt``) of the best checkpoint.
BEST_NAME = "best"


def best_score_in(path: Path, state_key: str | None = None) -> float | None:
    """The monitored score stored in a ``best.ckpt`` written by :class:`BestCheckpoint` (None when
    the file is missing or holds none). ``state_key``: the callback's key (default: the first
    callback state holding a best score)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception:  # noqa: BLE001 - an unreadable file holds no score; training goes on
        return None
    states = ckpt.get("callbacks", {}) if isinstance(ckpt, dict) else {}
    for key, state in states.items():
        if state_key is not None and key != state_key:
            continue
        score = state.get("best_model_score") if isinstance(state, dict) else None
        if score is not None:
            return float(score)
    return None


class BestCheckpoint(ModelCheckpoint):
    """``checkpoints/best.ckpt``: the weights of the best validation score (``mode="max"``) and a
    score that always matches that file.

    On resumption the score is read from ``best.ckpt`` (see the module docstring) instead of the
    callback state in ``last.ckpt``; with no ``best.ckpt`` yet there is no best score.
    """

    def __init__(self, dirpath: Path, monitor: str = "val/psnr") -> None:
        super().__init__(
            dirpath=dirpath,
            filename=BEST_NAME,
            monitor=monitor,
            mode="max",
            save_top_k=1,
            save_on_train_epoch_end=False,
            enable_version_counter=False,
        )

    @property
    def state_key(self) -> str:
        """Lightning's key of a plain ``ModelCheckpoint`` with these settings: checkpoints of
        earlier runs (and this class's) restore into it alike."""
        return super().state_key.replace(type(self).__qualname__, "ModelCheckpoint", 1)

    @property
    def best_path(self) -> Path:
        return Path(str(self.dirpath)) / f"{BEST_NAME}{self.FILE_EXTENSION}"

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        path = self.best_path
        score = best_score_in(path, self.state_key)
        if score is None:
            self.best_model_score, self.best_model_path = None, ""
            self.best_k_models, self.kth_best_model_path = {}, ""
            self.kth_value = torch.tensor(-torch.inf)
            return
        value = torch.tensor(score)
        self.best_model_score, self.best_model_path = value, str(path)
        self.best_k_models = {str(path): value}
        self.kth_best_model_path, self.kth_value = str(path), value


class ValidateFinalWeights(L.Callback):
    """Validation at the last step (``train.max_steps``), so the exported weights carry their own
    metrics and can become ``best.ckpt``: sets ``trainer.should_stop`` at that step, on which
    Lightning validates (once, also when the step was a validation step anyway)."""

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
            trainer.should_stop = True
