"""``medsr train CONFIG.yaml [key=value ...] [--resume RUN_DIR]``: train a network from a recipe.

Thin: parses the arguments, calls :func:`medsr.train.run.train`, prints where the results are.
"""

from __future__ import annotations

from pathlib import Path

import typer

from medsr.cli.app import app, console, err_console
from medsr.cli.notes import lightning_to_stdout
from medsr.errors import MedsrError

__all__ = ["train_command"]

_EPILOG = (
    "Examples:\n\n"
    "  medsr train configs/srcnn.yaml\n\n"
    "  medsr train configs/through_plane.yaml --profile cpu   (minutes on a CPU)\n\n"
    "  medsr train configs/edsr_baseline.yaml train.max_steps=2000 data.batch_size=8\n\n"
    "  medsr train configs/dcsrn.yaml model.preset=tiny train.devices=2 train.strategy=ddp\n\n"
    "  medsr train --resume runs/srcnn-20250101-120000 train.max_steps=20000\n\n"
    "Recipes: one per paper, listed by `medsr recipes` (a bare name such as `medsr train vdsr` "
    "works anywhere; `medsr recipes copy NAME my.yaml` to edit one). Their data paths "
    "(../shared/data/...) are relative: run from the repository root or point data.* at your data. "
    "A run folder holds config.yaml, checkpoints/, logs/ (CSV), "
    "tensorboard/ and the final model.safetensors + model.json (used by `medsr upscale --weights`)."
)


@app.command("train", epilog=_EPILOG)
def train_command(
    config: str | None = typer.Argument(
        None,
        help="YAML recipe (e.g. configs/srcnn.yaml). Omit it with --resume.",
        show_default=False,
    ),
    overrides: list[str] | None = typer.Argument(
        None,
        help="Overrides as key.path=value (YAML values: numbers, true/false, \\[lists], null).",
        show_default=False,
    ),
    resume: Path | None = typer.Option(
        None,
        "--resume",
        help=(
            "Continue the run in this folder from its last checkpoint "
            "(same optimiser and data order)."
        ),
        show_default=False,
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help=(
            "Apply a named profile of the recipe before the overrides: 'cpu' = settings that "
            "beat interpolation within minutes on a CPU (the default is the paper's settings)."
        ),
        show_default=False,
    ),
) -> None:
    """Train an SR network from a YAML recipe, with key=value overrides; resumable."""
    from medsr.train.run import train

    extra = list(overrides or [])
    if config is not None and "=" in config and not Path(config).exists():
        extra.insert(0, config)  # `medsr train --resume RUN k=v`: the first word is an override
        config = None
    if config is None and resume is None:
        raise MedsrError("give a config file (e.g. configs/srcnn.yaml) or --resume RUN_DIR")
    if config is not None and resume is not None:
        raise MedsrError(
            "give either a config file or --resume RUN_DIR, not both "
            "(the run keeps its config.yaml)"
        )
    if profile is not None:
        if resume is not None:
            raise MedsrError("--profile applies to a new run; a resumed run keeps its config.yaml")
        extra.insert(0, f"profile={profile}")
    from medsr.train.interrupt import TrainingInterrupted

    try:
        with lightning_to_stdout():  # its messages on stdout, one line each (stderr: errors)
            result = train(config, extra, resume=resume)
    except TrainingInterrupted as stop:  # Ctrl-C / SIGTERM: checkpoint saved at this step
        total = f"/{stop.total}" if stop.total > 0 else ""
        err_console.print(
            f"interrupted at step {stop.step}{total}; checkpoint saved: {stop.checkpoint}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        err_console.print(
            f"resume with: {stop.command}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(128 + int(stop.signum)) from None  # 130 (Ctrl-C), 143 (SIGTERM)
    if result.rank != 0:
        return
    console.print(f"run folder: {result.run_dir}")
    if result.weights is not None:
        console.print(f"weights:    {result.weights}")
    shown = {k: v for k, v in result.metrics.items() if k.startswith(("val/", "best/"))}
    if shown:
        console.print("validation: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(shown.items())))
    console.print(f"steps:      {result.global_step}")
