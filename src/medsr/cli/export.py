"""``medsr export``: trained weights to a stand-alone ONNX file (model.json embedded)."""

from __future__ import annotations

from pathlib import Path

import typer

from medsr.cli.app import app, console
from medsr.errors import MedsrError


@app.command()
def export(
    weights: Path = typer.Option(
        ..., "--weights", help="model.safetensors (model.json beside it)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="The .onnx file to write."),
    format: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset (>= 17)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Export a trained network; `medsr upscale --onnx FILE` then runs it with onnxruntime."""
    from medsr.models.onnx import export_weights

    if format.lower() != "onnx":
        raise MedsrError(f"unknown export format {format!r}; medsr exports onnx")
    result = export_weights(weights, output, opset=opset, overwrite=overwrite)
    diff = result["max_abs_diff"]
    check = f", onnxruntime vs PyTorch max |diff| {diff:.2e}" if diff is not None else ""
    console.print(f"wrote {result['path']} (opset {opset}{check})", highlight=False, soft_wrap=True)
