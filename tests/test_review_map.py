"""docs/REVIEW_MAP.md is a set of six-column tables whose paths, tests and statuses are real.

The parse rule is the one written at the top of docs/REVIEW_MAP.md: in the ``medsr file(s)`` and
``test`` cells a backticked token starting with a repository folder (``src/``, ``tests/``, ...) is
a path from the repository root, ``{a,b}`` expands to several paths and ``::name[param]`` names a
test function of that file; any other backticked token is a symbol and never ends in ``.py`` or
``.yaml``. Every network of the registry appears as a backticked name in a row of its section.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import medsr.models  # noqa: F401  (registers every network)
from medsr.models.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "REVIEW_MAP.md"
HEADER = ["review section", "item", "ref", "medsr file(s)", "test", "status"]
PATH_ROOTS = ("src/", "tests/", "configs/", "benchmarks/", "docs/", "shipped_runs/")
ROOT_FILES = ("pyproject.toml",)
STATUS = re.compile(r"^(faithful\b|simplified: \S|missing: \S)")
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def split_row(line: str) -> list[str]:
    """Cells of one markdown table line (``\\|`` is a literal bar inside a cell)."""
    body = line.strip()
    assert body.startswith("|") and body.endswith("|"), line
    return [cell.strip() for cell in CELL_SPLIT.split(body[1:-1])]


def table_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every data row; checks each table's header on the way."""
    rows: list[tuple[int, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            i += 1
            continue
        assert split_row(lines[i]) == HEADER, (i + 1, lines[i])
        assert re.fullmatch(r"\|( *:?-+:? *\|){6}", lines[i + 1].replace(" ", "")), (i + 2,)
        i += 2
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            rows.append((i + 1, split_row(lines[i])))
            i += 1
    return rows


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def expand(path: str) -> list[str]:
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py`` (any number of brace groups)."""
    parts = re.split(r"\{([^{}]*)\}", path)
    fixed, choices = parts[0::2], [p.split(",") for p in parts[1::2]]
    out = []
    for combo in itertools.product(*choices):
        out.append("".join(f + c for f, c in zip(fixed, list(combo) + [""])))
    return out


def is_path(token: str) -> bool:
    return token.startswith(PATH_ROOTS) or token in ROOT_FILES


def paths_of(cell: str) -> list[tuple[str, str | None]]:
    """(path, test function or None) of every path token of a cell."""
    found = []
    for token in backticked(cell):
        if not is_path(token):
            continue
        path, _, node = token.partition("::")
        for one in expand(path):
            found.append((one, node.split("[")[0] or None))
    return found


ROWS = table_rows(MAP.read_text(encoding="utf-8"))


def test_the_map_has_rows_and_the_parser_works() -> None:
    assert len(ROWS) > 50
    assert expand("src/{a,b}/x{1,2}.py") == ["src/a/x1.py", "src/a/x2.py", "src/b/x1.py",
                                             "src/b/x2.py"]
    assert paths_of("`tests/t.py::test_a[80]` (`Sym`), `configs/x.yaml`") == [
        ("tests/t.py", "test_a"), ("configs/x.yaml", None)]
    assert split_row(r"| 4 | a \| b | c | d | e | f |")[1] == r"a \| b"


@pytest.mark.parametrize("line,cells", ROWS, ids=[str(n) for n, _ in ROWS])
def test_row_has_six_cells_existing_paths_and_a_status(line: int, cells: list[str]) -> None:
    assert len(cells) == 6, (line, cells)
    section, item, ref, files, tests, status = cells
    assert section and item and ref, line
    assert STATUS.match(status), (line, status)
    file_paths = paths_of(files)
    test_paths = paths_of(tests)
    assert file_paths, (line, "the medsr file(s) cell names no path", files)
    if not status.startswith("missing:"):
        assert any(p.startswith("tests/") for p, _ in test_paths), (line, "no test file", tests)
    for path, node in file_paths + test_paths:
        target = ROOT / path
        assert target.exists(), (line, path)
        if node is not None:
            source = target.read_text(encoding="utf-8")
            assert re.search(rf"^def {re.escape(node)}\(", source, re.MULTILINE), (line, path, node)
    for token in backticked(files) + backticked(tests):
        if not is_path(token):
            assert not token.endswith((".py", ".yaml")), (line, "write files from the root",
                                                          token)


def _sections(cell: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)*", cell)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_registered_network_has_a_row_in_its_section(name: str) -> None:
    section = MODELS.info(name).review_section
    rows = [cells for _, cells in ROWS if f"`{name}`" in " ".join(cells)]
    assert rows, f"{name} is not named (as `{name}`) in docs/REVIEW_MAP.md"
    agree = [
        cells for cells in rows
        if any(s == section or s.startswith(section + ".") for s in _sections(cells[0]))
    ]
    assert agree, (name, section, [cells[0] for cells in rows])
