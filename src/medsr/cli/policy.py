"""``medsr search-policy CONFIG.yaml [key=value ...]``: the AutoAugment-style augmentation policy
search of review section 5.1 (refs. [87, 88]; :func:`medsr.train.policy.search_policy`).

Thin: loads the recipe, runs the search (one short training run per candidate, the identity
included), prints the best policy as overrides for ``medsr train``; ``OUT/policy.json`` holds every
candidate's validation PSNR.
"""

from __future__ import annotations

from pathlib import Path

import typer

from medsr.cli.app import app, console
from medsr.cli.notes import lightning_to_stdout


@app.command("search-policy")
def search_policy_command(
    config: str = typer.Argument(..., help="YAML recipe with data.val (the scoring set)."),
    overrides: list[str] | None = typer.Argument(
        None, help="Overrides as key.path=value, applied before the search.", show_default=False
    ),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="Folder of the trial runs and policy.json (default: the run folder + /policy_search).",
        show_default=False,
    ),
    trials: int = typer.Option(8, "--trials", help="Candidate policies besides the identity."),
    ops: int = typer.Option(2, "--ops", help="Augmentation operations per policy."),
    steps: int | None = typer.Option(
        None,
        "--steps",
        help="Training steps per trial (default: train.max_steps).",
        show_default=False,
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the candidate draw."),
    repeats: int = typer.Option(
        1, "--repeats", help="Runs per candidate (config seeds seed, seed+1, ...), PSNR averaged."
    ),
) -> None:
    """Search augmentation policies by validation PSNR; print the best one and its gain.

    Example: medsr search-policy configs/srcnn.yaml --trials 8 --steps 2000 -o runs/policy
    """
    from medsr.train import load_config
    from medsr.train.policy import search_policy

    cfg = load_config(config, list(overrides or []))
    with lightning_to_stdout():
        result = search_policy(
            cfg,
            trials=trials,
            ops_per_policy=ops,
            steps=steps,
            seed=seed,
            out=output,
            repeats=repeats,
        )
    for t in result.trials:
        shown = ", ".join(f"{k}={v:g}" for k, v in t["policy"].items()) or "identity"
        console.print(f"  {t['psnr']:.3f} dB  {shown}", highlight=False, soft_wrap=True)
    best = " ".join(f"data.augment.{k}={v:g}" for k, v in result.best.items())
    console.print(
        f"best: {best or 'identity (no augmentation of these kinds)'}; validation PSNR "
        f"{result.best_psnr:.3f} dB vs {result.identity_psnr:.3f} dB without; "
        f"written: {result.path}",
        highlight=False,
        soft_wrap=True,
    )
