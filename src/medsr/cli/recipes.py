"""``medsr recipes``: the training recipes shipped with medsr (:mod:`medsr.recipes`).

- ``medsr recipes`` lists them: name, network, task, whether a ``cpu`` profile exists, and a
  one-line description (network -- authors, venue, year, review section);
- ``medsr recipes show NAME`` prints one (YAML, as shipped);
- ``medsr recipes copy NAME DEST`` writes it to a file or folder, to edit;
- ``medsr train NAME`` trains one by name (no checkout needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from medsr.cli.app import app, console
from medsr.cli.models import fit_columns

__all__ = ["recipes_app"]

recipes_app = typer.Typer(
    help=(
        "The training recipes shipped with medsr (one per paper): list them, print one, or "
        "copy one to edit. Train one with `medsr train NAME \\[--profile cpu] \\[key=value ...]`."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode="rich",
)
app.add_typer(recipes_app, name="recipes")

_COLUMNS = ["name", "network", "task", "cpu", "description"]
_MIN_DESCRIPTION = 30  # below this the description column is hard to read: hide task, network


@recipes_app.callback()
def recipes_list(
    ctx: typer.Context,
    show_all: bool = typer.Option(
        False, "--all", help="Also list the recipes of sub-folders (shipped/: shipped weights)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """List the shipped recipes ('cpu': a profile that trains in minutes on a CPU)."""
    if ctx.invoked_subcommand is not None:
        return
    from medsr.recipes import list_recipes

    infos = list_recipes(include_subfolders=show_all)
    if as_json:
        rows = [
            {
                "name": r.name,
                "path": str(r.path),
                "network": r.network,
                "task": r.task,
                "profiles": list(r.profiles),
                "description": r.description,
            }
            for r in infos
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    cells = [
        [r.name, r.network, r.task, "yes" if r.has_cpu_profile else "-", r.description]
        for r in infos
    ]
    kept = fit_columns(
        _COLUMNS, cells, console.width, drop_order=("task", "network"),
        wrapping="description",
        min_wrap=_MIN_DESCRIPTION,
    )
    table = Table(title="medsr recipes")
    for col in kept:
        if col == "description":
            table.add_column(col, overflow="fold", min_width=_MIN_DESCRIPTION)
        else:
            table.add_column(col, no_wrap=True)
    for row in cells:
        table.add_row(*(escape(v) for c, v in zip(_COLUMNS, row) if c in kept))
    console.print(table, highlight=False)
    console.print(
        "medsr train NAME [--profile cpu] [key=value ...]; medsr recipes show NAME; "
        "medsr recipes copy NAME DEST. Data paths in the recipes (../shared/data/...) are "
        "relative to the current folder: override them, e.g. data.train.hr_dir=MY_IMAGES "
        "data.val.hr_dir=MY_VAL_IMAGES.",
        highlight=False,
        markup=False,
    )


@recipes_app.command("show")
def recipes_show(
    name: str = typer.Argument(..., help="Recipe name (see `medsr recipes`), e.g. vdsr."),
) -> None:
    """Print one recipe (YAML, with its comments)."""
    from medsr.recipes import recipe_path

    typer.echo(recipe_path(name).read_text(encoding="utf-8"), nl=False)


@recipes_app.command("copy")
def recipes_copy(
    name: str = typer.Argument(..., help="Recipe name (see `medsr recipes`), e.g. vdsr."),
    dest: Path = typer.Argument(..., help="A .yaml file to write, or a folder (NAME.yaml in it)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Write one recipe to a file, to edit and train with `medsr train FILE`."""
    from medsr.recipes import copy_recipe

    target = copy_recipe(name, dest, overwrite=overwrite)
    console.print(f"wrote {target}; train it with: medsr train {target}", highlight=False)
