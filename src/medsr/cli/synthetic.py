"""``medsr train-generator CONFIG.yaml -o DIR``: train the patch generator whose synthetic HR
patches ``data.synthetic`` adds to a training set (review section 5, ref. [86];
:mod:`medsr.train.synthetic`)."""

from __future__ import annotations

from pathlib import Path

import typer

from medsr.cli.app import app, console


@app.command("train-generator")
def train_generator_command(
    config: str = typer.Argument(..., help="YAML recipe whose data.train images to learn from."),
    overrides: list[str] | None = typer.Argument(
        None, help="Overrides as key.path=value.", show_default=False
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the generator."),
    patch: int = typer.Option(32, "--patch", help="Patch size (pixels, a multiple of 4)."),
    steps: int = typer.Option(2000, "--steps", help="GAN training steps."),
    batch_size: int = typer.Option(32, "--batch-size", help="Patches per step."),
    seed: int = typer.Option(0, "--seed", help="Seed of the patches, weights and latents."),
) -> None:
    """Train a DCGAN on 2D patches of a recipe's training images (for data.synthetic).

    Example: medsr train-generator configs/srcnn.yaml -o runs/gen --steps 3000, then train with
    data.synthetic.generator=runs/gen data.synthetic.count=256 data.synthetic.share=0.3
    """
    from medsr.train import load_config
    from medsr.train.synthetic import train_generator_from_config

    cfg = load_config(config, list(overrides or []))
    out = train_generator_from_config(
        cfg, output, patch=patch, steps=steps, batch_size=batch_size, seed=seed
    )
    console.print(f"wrote {out}/generator.safetensors + generator.json", highlight=False)
