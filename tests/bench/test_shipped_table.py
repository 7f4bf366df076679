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


def test_a_run_trained_on_more_threads_says_so(tmp_path: Path) -> None:
    """The table's training cell names the threads when a session of the run used more than one
    (the ledger records them per segment)."""
    import json
    import shutil

    root = Path(__file__).resolve().parents[2] / "src" / "medsr" / "weights"
    for name, threads in (("edsr_x2", [1, 2]), ("edsr_x3", [1])):
        shutil.copytree(root / name, tmp_path / name)
        meta_path = tmp_path / name / "model.json"
        meta = json.loads(meta_path.read_text())
        rec = meta["extra"]["shipped"]
        rec["segments"] = [
            {**rec["segments"][0], "hardware": {"torch_threads": t}} for t in threads
        ]
        meta_path.write_text(json.dumps(meta))
    rows = shipped_table.shipped_table(tmp_path).splitlines()[2:]
    assert len(rows) == 2
    assert "h (1-2 threads) |" in rows[0] and "x2" in rows[0]
    assert "threads" not in rows[1]
