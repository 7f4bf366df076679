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
(``train.checkpoint_every`` steps), the resumed run continues exactly as the uninterrupted one.

DDP: ``train.devices: 2`` (and ``train.strategy: ddp``) make Lightning start one process per device;
with the ``ddp`` strategy Lightning re-runs the same command in the child processes, which find
the run folder in the ``MEDSR_RUN_DIR`` environment variable set by rank 0. On CPU the gloo
backend is used. For several nodes give ``output_dir`` explicitly.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from lightning.fabric.plugins import TorchCheckpointIO
from torch import nn
from torch.utils.data import DataLoader

from medsr.errors import MedsrError
from medsr.train.config import Config, config_to_dict, load_config, parse_config
from medsr.train.data import (
    EpochSampler,
    PatchDataset,
    SamplingSpec,
    ValidationDataset,
    load_sources,
    seed_worker,
)
from medsr.train.normalise import Normaliser

__all__ = [
    "ENV_RUN_DIR",
    "RunResult",
    "SRDataModule",
    "build_datamodule",
    "build_model",
    "build_task",
    "train",
]

#: environment variable through which DDP child processes find the run folder of rank 0.
ENV_RUN_DIR = "MEDSR_RUN_DIR"


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


# ---------------------------------------------------------------------- data module
class SRDataModule(L.LightningDataModule):
    """Train/validation loaders. Each epoch holds ``steps_per_epoch`` batches per process; the
    :class:`~medsr.train.data.EpochSampler` splits the epoch's sample keys across DDP ranks (so
    Lightning's own distributed sampler is switched off)."""

    def __init__(
        self,
        train_set: PatchDataset,
        val_set: ValidationDataset | None,
        *,
        batch_size: int,
        steps_per_epoch: int,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train_set = train_set
        self.val_set = val_set
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.num_workers = num_workers
        self.seed = seed

    def _world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return int(trainer.global_rank), int(trainer.world_size)

    def train_dataloader(self) -> DataLoader:
        rank, world = self._world()
        length = self.steps_per_epoch * self.batch_size * world
        self.train_set.length = length
        sampler = EpochSampler(length, rank=rank, world_size=world)
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            worker_init_fn=seed_worker,
            # a private generator: creating loader iterators never consumes the global torch RNG
            generator=torch.Generator().manual_seed(self.seed),
            drop_last=True,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=False,
        )

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None or len(self.val_set) == 0:
            return []
        return DataLoader(self.val_set, batch_size=1, shuffle=False, num_workers=0)


# ---------------------------------------------------------------------- builders
def _normaliser(cfg: Config) -> Normaliser:
    return Normaliser(cfg.data.normalisation.kind, dict(cfg.data.normalisation.params))


def _spec(cfg: Config) -> SamplingSpec:
    return SamplingSpec(
        dims=cfg.model.dims,
        patch=cfg.patch_tuple(),
        scale=cfg.model.scale_tuple(),
        slice_axis=cfg.data.slice_axis,
        degradation=cfg.data.degradation,
        augment=cfg.data.augment,
        foreground_probability=cfg.data.foreground.probability,
        interpolate_lr=cfg.data.interpolate_lr,
        noise2noise=cfg.train.noise2noise if cfg.train.mode == "noise2noise" else None,
        unpaired=bool(cfg.task == "cycle" and cfg.cycle is not None and cfg.cycle.unpaired),
    )


def build_datamodule(cfg: Config) -> tuple[SRDataModule, Normaliser, list[str]]:
    """Read the data of a config; returns the data module, the normaliser spec and the file names."""
    norm = _normaliser(cfg)
    common = {
        "color": cfg.data.color,
        "normalisation": norm,
        "foreground": cfg.data.foreground.method,
        "foreground_percentile": cfg.data.foreground.percentile,
        "seed": cfg.seed,
    }
    t = cfg.data.train
    train_sources = load_sources(
        t.hr_dir, lr_spec=t.lr_dir, pattern=t.pattern, limit=t.limit, **common
    )
    channels = {int(s.hr.shape[0]) for s in train_sources}
    if channels != {cfg.model.in_channels}:
        raise MedsrError(
            f"config: model.in_channels is {cfg.model.in_channels} but the training images have "
            f"{sorted(channels)} channel(s); set data.color (y/grey/rgb) or model.in_channels"
        )
    spec = _spec(cfg)
    train_set = PatchDataset(
        train_sources, spec, length=cfg.train.checkpoint_every * cfg.data.batch_size, seed=cfg.seed
    )
    val_set = None
    if cfg.data.val is not None:
        v = cfg.data.val
        val_sources = load_sources(
            v.hr_dir, lr_spec=v.lr_dir, pattern=v.pattern, limit=v.limit, **common
        )
        crop = cfg.data.val_crop
        crop_t = (
            None
            if crop is None
            else ([crop] * cfg.model.dims if isinstance(crop, int) else list(crop))
        )
        val_spec = SamplingSpec(**{**spec.__dict__, "augment": None, "unpaired": False})
        val_set = ValidationDataset(
            val_sources,
            val_spec,
            crop=crop_t,
            slices=cfg.data.val_slices,
            max_items=cfg.data.val_max_images,
            seed=cfg.seed,
        )
    dm = SRDataModule(
        train_set,
        val_set,
        batch_size=cfg.data.batch_size,
        steps_per_epoch=cfg.train.checkpoint_every,
        num_workers=cfg.data.num_workers,
        seed=cfg.seed,
    )
    return dm, norm, [s.name for s in train_sources]


def _load_init_weights(model: nn.Module, path: str) -> None:
    from safetensors.torch import load_file

    from medsr.models.io import weights_paths

    p = Path(path)
    tensors = p if p.suffix == ".safetensors" else weights_paths(p)[0]
    if not tensors.is_file():
        raise MedsrError(
            f"config: model.init_weights: {tensors} not found; give a model.safetensors or a run folder"
        )
    state = load_file(str(tensors))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else str(err)
        raise MedsrError(
            f"config: model.init_weights: {tensors} does not fit {type(model).__name__} ({first})"
        ) from None


def build_model(cfg: Config) -> nn.Module:
    """The generator of a config (or the auto-encoder for ``task: autoencoder``)."""
    if cfg.task == "autoencoder":
        from medsr.losses.perceptual import ConvAutoEncoder

        try:
            model: nn.Module = ConvAutoEncoder(
                dims=cfg.model.dims, in_channels=cfg.model.in_channels, **cfg.model.kwargs
            )
        except TypeError as err:
            raise MedsrError(f"config: model.kwargs: {err}") from None
    else:
        from medsr.models import create_model

        try:
            model = create_model(
                cfg.model.name,
                scale=cfg.model.scale_arg(),
                dims=cfg.model.dims,
                in_channels=cfg.model.in_channels,
                preset=cfg.model.preset,
                **cfg.model.kwargs,
            )
        except MedsrError as err:
            raise MedsrError(f"config: model: {err}") from None
        except TypeError as err:
            raise MedsrError(f"config: model.kwargs: {err}") from None
    if cfg.model.init_weights:
        _load_init_weights(model, cfg.model.init_weights)
    return model


def _discriminator(cfg: Config, in_channels: int) -> nn.Module:
    from medsr.models import create_model

    assert cfg.discriminator is not None
    try:
        return create_model(
            cfg.discriminator.name,
            dims=cfg.model.dims,
            in_channels=in_channels,
            preset=cfg.discriminator.preset,
            **cfg.discriminator.kwargs,
        )
    except MedsrError as err:
        raise MedsrError(f"config: discriminator: {err}") from None
    except TypeError as err:
        raise MedsrError(f"config: discriminator.kwargs: {err}") from None


def _val_range(norm: Normaliser) -> float | None:
    return 1.0 if norm.kind in ("minmax", "percentile", "volume_minmax") else None


def build_task(cfg: Config, model: nn.Module, norm: Normaliser) -> L.LightningModule:
    """The LightningModule of a config's task."""
    from medsr.losses import MultiOutputLoss, build_loss_term, build_weighted_sum
    from medsr.train.nets import DownsamplingNet
    from medsr.train.tasks import AdversarialSR, CycleSR, SupervisedSR

    terms = {k: dict(v or {}) for k, v in cfg.loss.terms.items()}
    if cfg.task == "cycle" and cfg.cycle is not None and cfg.cycle.unpaired:
        paired = [k for k, v in terms.items() if v.get("kind", k) != "tv"]
        if paired:
            raise MedsrError(
                f"config: loss.terms.{paired[0]}: unpaired cycle training has no target for this term; keep only "
                "tv, or set cycle.unpaired: false"
            )
        if not terms:
            terms = {"tv": {"weight": 0.0}}
    loss = build_weighted_sum(terms)
    vr = _val_range(norm)
    if cfg.task in ("supervised", "autoencoder"):
        multi = None
        mo = cfg.loss.multi_output
        if mo is not None:
            first = next(iter(terms.items()))
            base = build_loss_term(
                first[1].pop("kind", first[0]), {k: v for k, v in first[1].items() if k != "weight"}
            )
            multi = MultiOutputLoss(
                base,
                mo.mode,
                alpha=mo.alpha,
                alpha_min=mo.alpha_min,
                alpha_decay_steps=mo.alpha_decay_steps,
            )
        return SupervisedSR(cfg, model, loss, multi_output=multi, val_data_range=vr)
    if cfg.task == "adversarial":
        return AdversarialSR(
            cfg, model, _discriminator(cfg, cfg.model.in_channels), loss, val_data_range=vr
        )
    assert cfg.cycle is not None
    scale = cfg.model.scale_tuple()
    down = DownsamplingNet(
        cfg.model.dims, cfg.model.in_channels, scale, cfg.cycle.down.features, cfg.cycle.down.layers
    )
    return CycleSR(
        cfg,
        model,
        down,
        _discriminator(cfg, cfg.model.in_channels),
        _discriminator(cfg, cfg.model.in_channels),
        loss,
        val_data_range=vr,
    )


# ---------------------------------------------------------------------- trainer pieces
def _precision(cfg: Config, accelerator: str) -> str:
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
            "config: train.precision: 16-mixed needs a gradient scaler the GAN tasks do not use; choose bf16-mixed or 32"
        )
    return p


class _AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written through :func:`medsr.io.atomic.atomic_path`: a run killed while saving
    never leaves a truncated ``last.ckpt`` behind."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        from medsr.io.atomic import atomic_path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


def _new_run_dir(cfg: Config) -> Path:
    if cfg.output_dir:
        out = Path(cfg.output_dir)
        if (out / "checkpoints" / "last.ckpt").exists() or (out / "model.safetensors").exists():
            raise MedsrError(
                f"{out} already holds a run; continue it with `medsr train --resume {out}` or choose another output_dir"
            )
        out.mkdir(parents=True, exist_ok=True)
        return out
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(cfg.runs_dir) / f"{cfg.name}-{stamp}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    out.mkdir(parents=True)
    return out


def _write_yaml(data: dict[str, Any], path: Path) -> None:
    from medsr.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _trainer(
    cfg: Config, run_dir: Path, extra_callbacks: Sequence[Any], has_val: bool
) -> L.Trainer:
    from lightning.pytorch.callbacks import (
        LearningRateMonitor,
        ModelCheckpoint,
        RichProgressBar,
        TQDMProgressBar,
    )
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    t = cfg.train
    accelerator = "gpu" if t.accelerator == "cuda" else t.accelerator
    callbacks: list[Any] = [
        # Saved after the last batch of each data epoch (on_train_batch_end), the restart point
        # Lightning's loops resume exactly from; see the module docstring.
        ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            save_last=True,
            save_top_k=0,
            every_n_train_steps=t.checkpoint_every,
            save_on_train_epoch_end=False,
        ),
        LearningRateMonitor(logging_interval="step"),
    ]
    if has_val:
        callbacks.append(
            ModelCheckpoint(
                dirpath=run_dir / "checkpoints",
                filename="best",
                monitor="val/psnr",
                mode="max",
                save_top_k=1,
                save_on_train_epoch_end=False,
                enable_version_counter=False,
            )
        )
    if t.progress == "rich":
        callbacks.append(RichProgressBar())
    elif t.progress == "tqdm":
        callbacks.append(TQDMProgressBar(refresh_rate=max(1, min(50, t.log_every))))
    callbacks += list(extra_callbacks)
    strategy: Any = t.strategy
    gpu = accelerator == "gpu" or (accelerator == "auto" and torch.cuda.is_available())
    if t.strategy == "ddp":
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(
            process_group_backend="nccl" if gpu else "gloo",
            find_unused_parameters=cfg.task in ("adversarial", "cycle"),
        )
    loggers = [CSVLogger(save_dir=str(run_dir), name="logs")]
    try:
        loggers.append(TensorBoardLogger(save_dir=str(run_dir), name="tensorboard"))
    except ModuleNotFoundError:  # pragma: no cover - tensorboard is a dependency
        pass
    return L.Trainer(
        max_steps=t.max_steps,
        max_epochs=-1,
        val_check_interval=cfg.val_every_steps() if has_val else None,
        check_val_every_n_epoch=None if has_val else 1,
        limit_val_batches=None if has_val else 0,
        num_sanity_val_steps=0,
        log_every_n_steps=t.log_every,
        precision=_precision(cfg, accelerator),  # type: ignore[arg-type]
        accelerator=accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=strategy,
        deterministic=(True if not gpu else "warn") if t.deterministic else False,
        benchmark=False if t.deterministic else None,
        use_distributed_sampler=False,
        callbacks=callbacks,
        logger=loggers,
        enable_progress_bar=t.progress != "none",
        enable_model_summary=False,
        default_root_dir=str(run_dir),
        plugins=[_AtomicCheckpointIO()],
    )


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
    if resume is not None:
        run_dir = Path(resume)
        cfg_file = run_dir / "config.yaml"
        if not cfg_file.is_file():
            raise MedsrError(
                f"{run_dir} is not a medsr run folder (no config.yaml); give the folder `medsr train` made"
            )
        cfg = load_config(cfg_file, overrides)
        ckpt_path = run_dir / "checkpoints" / "last.ckpt"
        if not ckpt_path.is_file():
            raise MedsrError(
                f"{ckpt_path} not found: the run stopped before its first checkpoint; start it again"
            )
    else:
        if config is None:
            raise MedsrError("give a config file (or --resume RUN_DIR)")
        if isinstance(config, Config):
            cfg = parse_config(config_to_dict(config), overrides) if overrides else config
        else:
            cfg = load_config(config, overrides)
        inherited = os.environ.get(ENV_RUN_DIR)
        if inherited and os.environ.get("LOCAL_RANK", "0") != "0":
            run_dir = Path(inherited)  # a DDP child process: the folder rank 0 made
        else:
            run_dir = _new_run_dir(cfg)
            _write_yaml(config_to_dict(cfg), run_dir / "config.yaml")
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    previous = os.environ.get(ENV_RUN_DIR)
    os.environ[ENV_RUN_DIR] = str(run_dir.resolve())  # inherited by DDP child processes
    try:
        return _fit(cfg, run_dir, ckpt_path, callbacks)
    finally:
        if previous is None:
            os.environ.pop(ENV_RUN_DIR, None)
        else:
            os.environ[ENV_RUN_DIR] = previous


def _fit(cfg: Config, run_dir: Path, ckpt_path: Path | None, callbacks: Sequence[Any]) -> RunResult:
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    dm, norm, files = build_datamodule(cfg)
    model = build_model(cfg)
    task = build_task(cfg, model, norm)
    trainer = _trainer(
        cfg, run_dir, callbacks, has_val=dm.val_set is not None and len(dm.val_set) > 0
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
        trainer.fit(
            task, datamodule=dm, ckpt_path=str(ckpt_path) if ckpt_path is not None else None
        )
    metrics = _floats(dict(trainer.callback_metrics))
    for cb in trainer.checkpoint_callbacks:
        if getattr(cb, "monitor", None) == "val/psnr" and cb.best_model_score is not None:
            metrics["best/val_psnr"] = float(cb.best_model_score)
    net = task.export_model.to("cpu").eval()
    weights: Path | None = None
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
    from medsr.models.io import save_weights

    tensors, _ = save_weights(
        net,
        run_dir,
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
