"""``medsr models``: the networks medsr knows, with paper, year, where they up-sample, the review
section, the dimensionalities and the parameter count of their paper preset.

Counts are taken on PyTorch's ``meta`` device (no memory, no initialisation), for the preset
"paper" with the paper's number of input channels (1 = luminance Y, 3 = RGB), at x2 and x4
(generators; "-" where a network does not take that factor).
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from medsr.cli.app import app, console

__all__ = ["catalogue", "fit_columns", "models"]


def _count(name: str, kind: str, preset: str, in_channels: int, scale: int | None) -> int | None:
    import torch

    from medsr.errors import MedsrError
    from medsr.models import create_model

    kwargs: dict[str, Any] = {"dims": 2, "in_channels": in_channels, "preset": preset}
    if kind == "generator":
        kwargs["scale"] = scale
    try:
        with torch.device("meta"):
            net = create_model(name, **kwargs)
    except (MedsrError, TypeError, ValueError, NotImplementedError, RuntimeError):
        return None
    return int(sum(p.numel() for p in net.parameters()))


def catalogue(kind: str | None = None) -> list[dict[str, Any]]:
    """One JSON-ready row per registered network (``kind``: "generator", "discriminator" or all)."""
    from medsr.models import list_models, model_info
    from medsr.models.shipped import list_shipped

    shipped = list_shipped()
    rows = []
    for name in list_models(kind):
        info = model_info(name)
        preset = "paper" if "paper" in info.presets else info.presets[0]
        row = info.as_dict()
        row["dims"] = list(info.dims)
        row["presets"] = list(info.presets)
        row["count_preset"] = preset
        row["shipped_scales"] = shipped.get(name, [])  # weights in the package (--model alone)
        if info.kind == "generator":
            row["params_x2"] = _count(name, info.kind, preset, info.paper_in_channels, 2)
            row["params_x4"] = _count(name, info.kind, preset, info.paper_in_channels, 4)
        else:
            row["params_x2"] = row["params_x4"] = _count(
                name, info.kind, preset, info.paper_in_channels, None
            )
        rows.append(row)
    rows.sort(key=lambda r: (r["kind"] != "generator", r["review_section"], r["year"], r["name"]))
    return rows


def _short_paper(paper: str, year: int) -> str:
    """'Dong et al., Image Super-Resolution ...' -> 'Dong et al. 2014' (the full title is in
    --json)."""
    first = paper.split(",")[0].strip()
    return f"{first} {year}"


#: columns hidden first when the terminal is narrow, least useful first ("name" and "paper" stay)
DROP_ORDER = ("ch", "params x4", "up", "dims", "section", "shipped", "params x2", "params")
#: the paper column wraps down to this width (a first author and a year)
_PAPER_MIN = 16


def fit_columns(
    cols: list[str],
    rows: list[list[str]],
    width: int,
    *,
    drop_order: tuple[str, ...] = DROP_ORDER,
    wrapping: str = "paper",
    min_wrap: int | None = None,
) -> list[str]:
    """The columns of a table of ``rows`` that fit in ``width`` terminal columns.

    Every column but ``wrapping`` is as wide as its widest cell (no truncation); ``wrapping``
    wraps down to ``min_wrap`` (default ``_PAPER_MIN``). A rich table with borders takes
    ``3 * n + 1`` columns beyond its cells. Columns are dropped in ``drop_order`` until the
    table fits; a "shipped" column with no shipped weights at all (every cell "-") goes first.
    """
    widths = {c: max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)}
    if wrapping in widths:
        widths[wrapping] = min(widths[wrapping], min_wrap or _PAPER_MIN)
    kept = list(cols)
    order = list(drop_order)
    if "shipped" in cols and all(r[cols.index("shipped")] == "-" for r in rows):
        order.insert(0, "shipped")
    for col in order:
        if sum(widths[c] for c in kept) + 3 * len(kept) + 1 <= width:
            break
        if col in kept:
            kept.remove(col)
    return kept


def _fmt_count(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n:,}"


@app.command()
def models(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    kind: str | None = typer.Option(
        None, "--kind", help="Only 'generator' or 'discriminator' networks."
    ),
) -> None:
    """List the networks (review sections 3.4 and 4) with their paper preset's parameter count."""
    from medsr.errors import MedsrError

    if kind not in (None, "generator", "discriminator"):
        raise MedsrError(f"--kind must be 'generator' or 'discriminator', got {kind!r}")
    rows = catalogue(kind)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for group in ("generator", "discriminator"):
        selected = [r for r in rows if r["kind"] == group]
        if not selected:
            continue
        gen = group == "generator"
        cols = ["name", "paper", "up", "section", "dims", "ch"] + (
            ["params x2", "params x4", "shipped"] if gen else ["params"]
        )
        cells = []
        for r in selected:
            row = [
                r["name"],
                _short_paper(r["paper"], r["year"]),
                r["upsampling"],
                r["review_section"],
                "/".join(f"{d}D" for d in r["dims"]),
                str(r["paper_in_channels"]),
                _fmt_count(r["params_x2"]),
            ]
            if gen:
                row.append(_fmt_count(r["params_x4"]))
                row.append(",".join(f"x{s}" for s in r["shipped_scales"]) or "-")
            cells.append(row)
        kept = fit_columns(cols, cells, console.width)
        note = "; ch = the paper's input channels: 1 = Y, 3 = RGB" if "ch" in kept else ""
        table = Table(title=f"{group}s ('paper' preset{note})")
        for col in kept:
            if col == "paper":  # the one column that wraps (words), never truncated
                table.add_column(col, overflow="fold", min_width=_PAPER_MIN)
            else:
                table.add_column(col, no_wrap=True)
        for row in cells:
            table.add_row(*(value for col, value in zip(cols, row) if col in kept))
        console.print(table, highlight=False)
        hidden = [c for c in cols if c not in kept]
        if hidden:
            console.print(
                f"hidden at {console.width} columns: {', '.join(hidden)} "
                "(a wider terminal or --json shows them)",
                highlight=False,
            )
        if gen:
            console.print(
                "shipped: scales with trained weights in the package (natural images, Y channel): "
                "`medsr upscale --model NAME --factors S` needs no --weights",
                highlight=False,
            )
    console.print("[bold]notes[/] (presets; what the paper preset follows):", highlight=False)
    for r in rows:
        presets = escape(f"[{', '.join(r['presets'])}]")
        console.print(
            f"  [cyan]{r['name']}[/] {presets}: {escape(r['preset_note'])}", highlight=False
        )
