"""``medsr benchmark networks``: every section-4 network trained by its recipe and compared.

Each network of the review's section 4 (:data:`medsr.bench.networks.NETWORKS`) is trained with its
recipe's ``bench`` profile on the built-in MNI brain (Gaussian thick slices along z) and scored on
``chris_t1`` thick slices beside cubic B-spline (:func:`medsr.bench.networks.run_row`). Each row
is printed as one JSON object; ``--record FILE`` keeps the rows in that JSON file (replacing a
row of the same network and scale). ``benchmarks/medical_networks.py`` is the same as a script.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medsr.cli.app import console
from medsr.cli.benchmark import benchmark_app

__all__: list[str] = []


@benchmark_app.command("networks")
def networks(
    methods: str = typer.Option(
        "all",
        "--methods",
        help="Comma list of section-4 networks (`all`: every single-stack one) or of the rows of "
        "other inputs: self_sr, oktay_misr, multicontrast_single, multicontrast_t1, "
        "umehara_srcnn_ct, park_unet_ct.",
    ),
    scales: str = typer.Option("2", "--scales", help="Whole thick-slice factors, e.g. 2,4."),
    steps: int | None = typer.Option(
        None, "--steps", help="Training steps instead of the bench profile's (test size)."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE", help="Further recipe override (repeatable)."
    ),
    work: Path = typer.Option(
        Path("runs/medical_networks"), "--work", help="Folder of the training runs."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="JSON file of rows to add each row to."
    ),
) -> None:
    """Section-4 networks trained on the MNI brain, scored on chris_t1 thick slices (JSON rows)."""
    from medsr.bench.medical_rows import find_extra
    from medsr.bench.networks import NETWORKS, find_network, record_row, run_row
    from medsr.errors import OptionError
    from medsr.volume import parse_numbers

    names = (
        [s.method for s in NETWORKS]
        if methods.strip() == "all"
        else [
            m.strip() if find_extra(m.strip()) else find_network(m.strip()).method
            for m in methods.split(",")
            if m.strip()
        ]
    )
    factors = [int(s) for s in parse_numbers(scales, "scales", integer=True, maximum=8)]
    if steps is not None and steps < 1:
        raise OptionError(f"{{steps}} must be >= 1, got {steps}")
    extra = list(overrides)
    command_extra: list[str] = []
    if steps is not None:  # run_row sets the training steps (self-SR: iterations) itself
        command_extra += ["--steps", str(steps)]
    for item in overrides:
        command_extra += ["--set", item]
    for scale in factors:
        for name in names:
            row = run_row(
                name,
                scale,
                work_dir=work,
                overrides=extra,
                command_extra=command_extra,
                steps=steps,
            )
            if record is not None:
                record_row(record, row)
            console.print(json.dumps(row), highlight=False, soft_wrap=True)
