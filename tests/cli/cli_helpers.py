"""Helpers shared by the command-line tests (``from cli_helpers import ...``)."""

from __future__ import annotations

from pathlib import Path


def save_tiny_espcn(folder: Path) -> None:
    """The CLI tests' network: a tiny x2 2D ESPCN (seed 0) saved as ``folder/model.safetensors``
    and ``folder/model.json``, its normalisation min-max on 0..255."""
    import torch

    from medsr.models import create_model
    from medsr.models.io import save_weights

    torch.manual_seed(0)
    net = create_model("espcn", scale=2, dims=2, in_channels=1, preset="tiny")
    save_weights(
        net,
        folder,
        name="espcn",
        preset="tiny",
        normalisation={"kind": "minmax", "params": {"min": 0, "max": 255}},
    )
