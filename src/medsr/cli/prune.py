"""``medsr prune``: magnitude pruning with fine-tuning of a trained run (review section 2.4,
ref. [27]; :func:`medsr.train.prune.prune_run`)."""

from __future__ import annotations

from pathlib import Path

import typer

from medsr.cli.app import app, console


@app.command()
def prune(
    run: Path = typer.Argument(..., help="A run folder made by `medsr train` (with data.val)."),
    output: Path = typer.Option(..., "-o", "--output", help="New folder for the pruned model."),
    amount: float = typer.Option(0.5, "--amount", help="Fraction of kernel weights to zero."),
    steps: int = typer.Option(200, "--steps", help="Fine-tuning steps after pruning."),
    lr: float = typer.Option(1e-4, "--lr", help="Fine-tuning learning rate (Adam)."),
    scope: str = typer.Option("global", "--scope", help="One threshold (global) or per layer."),
) -> None:
    """Zero the smallest weights, fine-tune the rest, report sparsity and PSNR before/after.

    Example: medsr prune runs/vdsr_x2 -o runs/vdsr_x2_p50 --amount 0.5 --steps 500
    """
    from medsr.errors import OptionError
    from medsr.train.prune import prune_run

    if scope not in ("global", "layer"):
        raise OptionError(f"{{scope}} must be global or layer, got {scope!r}")
    r = prune_run(run, output, amount=amount, steps=steps, lr=lr, scope=scope)  # type: ignore[arg-type]
    console.print(
        f"wrote {output}: sparsity {r.sparsity:.1%}; validation PSNR {r.psnr_dense:.2f} dB dense, "
        f"{r.psnr_pruned:.2f} dB pruned, {r.psnr_finetuned:.2f} dB after {r.steps} fine-tuning "
        "steps",
        highlight=False,
        soft_wrap=True,
    )
