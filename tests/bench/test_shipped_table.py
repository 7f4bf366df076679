"""The README's generated table of shipped models (``medsr.bench.shipped_table``); the table of a
freshly exported run is tested with the trainings (``test_shipped_training.py``)."""

from __future__ import annotations

from pathlib import Path

from medsr.bench import shipped_table


def test_readme_shows_the_package_weights() -> None:
    """The repository's README table is the one the shipped weights give (regenerate it with
    ``python benchmarks/train_shipped.py --readme`` after an export)."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text()
    block = text.split(shipped_table.README_BEGIN, 1)[1].split(shipped_table.README_END, 1)[0]
    assert block.strip() == shipped_table.shipped_table(root / "src" / "medsr" / "weights")
    assert "`edsr` (blocks 16, channels 32) | x2" in block
