"""Issue 15, CLI polish: flags shown as flags in every ``--help``, one error prefix (``error: ``,
exit code 2, one line), ``medsr models`` readable at 80 columns, and the recipes a pip-installed
user gets (``medsr recipes``, ``medsr train NAME``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from medsr.cli import app

SRC_CLI = Path(__file__).resolve().parents[2] / "src" / "medsr" / "cli"


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of the tree (the root, each command, each sub-group and its commands)."""
    paths = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths += _command_paths(sub, path + (name,))
    return paths


def test_no_bool_placeholder_in_any_help() -> None:
    """typer's rich help printed ``--overwrite <bool>`` (and ``--help <bool>``); every boolean of
    every command is now a bare flag, while options with values keep their type."""
    paths = _command_paths(typer.main.get_command(app))
    assert ("upscale",) in paths and len(paths) >= 10
    runner = CliRunner()
    env = {"COLUMNS": "200", "TERMINAL_WIDTH": "200", "NO_COLOR": "1"}
    flags_seen = 0
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env=env)
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
        assert "--help" in result.output
        flags_seen += len(re.findall(r"--(?:overwrite|json)\b", result.output))
    assert flags_seen >= 5  # the flags are still listed
    upscale = runner.invoke(app, ["upscale", "--help"], env=env).output
    line = next(x for x in upscale.splitlines() if "--overwrite" in x)
    assert re.search(r"--overwrite\s+Replace", line), line
    assert "<path>" in upscale  # valued options keep their type


def test_reflow_joins_prose_and_keeps_example_lines() -> None:
    """A docstring's hard-wrapped prose becomes one line per paragraph; indented lines stay."""
    from medsr.cli.flags import reflow

    doc = """Title line.

    Prose wrapped
    at the source's width.

    Examples:

      medsr a --x 1
      medsr b
    """
    assert reflow(doc) == (
        "Title line.\n\nProse wrapped at the source's width.\n\nExamples:\n\n  medsr a --x 1\n"
        "  medsr b"
    )
    assert reflow(None) is None


def test_help_prose_follows_the_terminal_not_the_source() -> None:
    """typer 0.29 kept the docstrings' line breaks, so ``medsr upscale --help`` broke its prose at
    the source's 100 columns whatever the terminal's width; now a wide terminal gets whole
    sentences, and each example stays on its own line."""
    runner = CliRunner()
    env = {"COLUMNS": "200", "TERMINAL_WIDTH": "200", "NO_COLOR": "1"}
    for command, sentence in (
        ("upscale", "with neither, the target is isotropic at the scan's finest spacing."),
        ("degrade", "with its header updated to match; noise (--noise, reproducible"),
    ):
        out = runner.invoke(app, [command, "--help"], env=env).output
        assert sentence in out, out
        examples = [x.strip() for x in out.splitlines() if x.strip().startswith(f"medsr {command}")]
        assert len(examples) == 3, out


def test_flags_still_parse_as_flags(medsr_main, tmp_path) -> None:
    """A flag takes no value: ``medsr models --json`` prints JSON, ``--json true`` is refused."""
    code, out, _ = medsr_main("models", "--json", "--kind", "discriminator")
    assert code == 0 and out.lstrip().startswith("[")
    code, _, err = medsr_main("models", "--json", "true")
    assert code == 2 and err.startswith("error: ")


def test_the_cli_source_has_one_error_prefix() -> None:
    """No command module prints its own ``Error:`` (or ``ERROR``) prefix: every error goes through
    :func:`medsr.cli.main`, which writes ``error: ``."""
    pattern = re.compile(r"(?<![A-Za-z])(Error|ERROR):")
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(SRC_CLI.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
    assert "error:" in (SRC_CLI / "__init__.py").read_text()


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["models", "--kind", "nets"], "--kind must be"),
        (["upscale", "--bogus"], "No such option: --bogus"),
        (["nosuchcommand"], "No such command"),
        (["train", "no_such_recipe.yaml"], "no_such_recipe"),
        (["upscale", "missing.nii.gz", "-o", "out.nii.gz"], "does not exist"),
        (["metrics"], "Missing argument"),
    ],
)
def test_bad_inputs_give_one_error_line_exit_2(medsr_main, tmp_path, monkeypatch, args, phrase):
    monkeypatch.chdir(tmp_path)
    code, out, err = medsr_main(*args)
    lines = err.splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("columns", [80, 200])
def test_models_table_is_readable_at_the_terminal_width(cli, columns: int) -> None:
    """At 80 columns the table hides its least useful columns (never the paper), wraps the paper
    and truncates no cell; at 200 every column is shown."""
    from medsr.models import list_models

    result = cli("models", columns=columns)
    assert result.code == 0, result.describe()
    table = [x for x in result.stdout.splitlines() if x[:1] in "┏┃┡│└"]
    assert table and max(len(x) for x in table) <= columns, result.stdout
    assert "…" not in result.stdout
    header = next(x for x in table if "name" in x)
    cells = {
        x.split("│")[1].strip(): x.split("│")[2].strip() for x in table if x.startswith("│ ")
    }
    assert set(list_models()) <= set(cells)  # every name whole: no folded or cut names
    assert cells["srcnn"] == "Dong et al. 2014" and cells["vdsr"] == "Kim et al. 2016"
    assert "paper" in header and "params x2" in header
    if columns == 80:
        assert "params x4" not in header
        assert "hidden at 80 columns: " in result.stdout and "--json" in result.stdout
    else:
        for col in ("up", "section", "dims", "ch", "params x4", "shipped"):
            assert f" {col} " in header, header
        assert "hidden at" not in result.stdout


def test_fit_columns_drops_the_least_useful_first() -> None:
    from medsr.cli.models import fit_columns

    cols = ["name", "paper", "up", "ch", "params x2"]
    rows = [["srcnn", "Dong et al. 2014", "progressive", "1", "57,281"]]
    assert fit_columns(cols, rows, 200) == cols
    # name 5, paper 16, up 11, ch 2, params 9 (+3 per column, +1): 59 -> without ch 54
    assert fit_columns(cols, rows, 59) == cols
    assert fit_columns(cols, rows, 58) == ["name", "paper", "up", "params x2"]
    assert fit_columns(cols, rows, 50) == ["name", "paper", "params x2"]
    assert fit_columns(cols, rows, 10) == ["name", "paper"]  # never below name and paper
