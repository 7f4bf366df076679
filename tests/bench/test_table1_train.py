"""medsr.bench.table1_train (and its command line benchmarks/table1_train.py): train with
``medsr train``, score with the Table-1 protocol.

The quick mode trains a network for a few steps on a miniature copy of the natural-image folders
(crops of the real CBSD68 / Sun-Hays80 / Set5 / Set14 images when ../shared/data is there,
scikit-image pictures otherwise) and checks the table row, the saved results and resuming.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medsr.bench.table1_train import (
    NetRecipe,
    markdown_table,
    parse_step_budgets,
    run_table1_train,
    stage_training_images,
    train_and_evaluate,
)
from medsr.errors import MedsrError

ROOT = Path(__file__).resolve().parents[2]
NATURAL = ROOT.parent / "shared" / "data" / "natural"
CONFIGS = ROOT / "configs"


def _pictures() -> dict[str, list[tuple[str, np.ndarray]]]:
    """A few RGB pictures per folder: real crops when available, scikit-image ones otherwise."""
    from PIL import Image

    def crop(folder: str, names: list[str], size: int) -> list[tuple[str, np.ndarray]]:
        out = []
        for n in names:
            with Image.open(NATURAL / folder / n) as im:
                a = np.asarray(im.convert("RGB"))
            y0, x0 = (a.shape[0] - size) // 2, (a.shape[1] - size) // 2
            out.append((Path(n).stem + ".png", a[y0 : y0 + size, x0 : x0 + size].copy()))
        return out

    if (NATURAL / "CSet5").is_dir() and (NATURAL / "CBSD68").is_dir():
        sun = sorted(p.name for p in (NATURAL / "CSun_Hays80").iterdir())[:1]
        return {
            "CBSD68": crop("CBSD68", ["101085.png", "102061.png"], 96),
            "CSun_Hays80": crop("CSun_Hays80", sun, 96),
            "CSet5": crop("CSet5", ["baby.png", "bird.png"], 48),
            "CSet14": crop("CSet14", ["zebra.png"], 48),
        }
    from skimage import data as skdata

    ast, cof, chel = skdata.astronaut(), skdata.coffee(), skdata.chelsea()
    return {
        "CBSD68": [("a.png", ast[:96, :96]), ("b.png", cof[:96, :96])],
        "CSun_Hays80": [("c.png", chel[:96, :96])],
        "CSet5": [("t1.png", ast[200:248, 200:248]), ("t2.png", cof[200:248, 200:248])],
        "CSet14": [("t3.png", chel[100:148, 100:148])],
    }


@pytest.fixture(scope="module")
def mini_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("natural")
    for folder, images in _pictures().items():
        (root / folder).mkdir()
        for name, img in images:
            Image.fromarray(img).save(root / folder / name)
    return root


# 5 s idle, ~20 s on the loaded shared 2-core machine (mostly importing Lightning)
@pytest.mark.slow
def test_quick_train_and_table(mini_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    lines: list[str] = []

    def run() -> str:
        result = run_table1_train(
            ["espcn"],
            [2],
            data=mini_data,
            out=out,
            configs=CONFIGS,
            steps=parse_step_budgets(["espcn=3"]),
            threads=1,
            command="quick",
            log=lines.append,
        )
        return result.table

    printed = run()
    assert len(lines) == 1 and lines[0].startswith("[espcn x2] 3 steps")
    saved = json.loads((out / "results.json").read_text())
    (row,) = saved["rows"]
    assert row["key"] == "espcn" and row["scale"] == 2 and row["steps"] == 3
    assert row["params"] == 21284  # ESPCN paper preset on Y at x2 (see `medsr models`)
    assert set(row["scores"]) == {"Set5", "Set14"}
    assert all(math.isfinite(v) for ps in row["scores"].values() for v in ps)
    assert all(0 < ps[1] <= 1 for ps in row["scores"].values())
    # the returned and saved tables hold the bicubic row and this network's row
    table = (out / "table1.md").read_text()
    assert table == printed
    lines = [ln for ln in table.splitlines() if ln.startswith("| x2")]
    assert [ln.split("|")[2].strip() for ln in lines] == [
        "Bicubic (MATLAB imresize)",
        "ESPCN (Shi et al. 2016)",
    ]
    assert f"{row['scores']['Set5'][0]:.2f} / {row['scores']['Set5'][1]:.4f}" in lines[1]
    # trained on the staged CBSD68 + Sun-Hays80 images only, never on the test folders
    meta = json.loads((Path(row["run_dir"]) / "model.json").read_text())
    files = set(meta["extra"]["training"]["data"]["files"])
    tests = {p.name for d in ("CSet5", "CSet14") for p in (mini_data / d).iterdir()}
    assert len(files) == 3 and not files & tests
    # running again resumes: the finished network is scored again, not retrained
    record = (Path(row["run_dir"]) / "table1_train.json").read_text()
    assert run() == printed
    again = json.loads((out / "results.json").read_text())
    assert (Path(row["run_dir"]) / "table1_train.json").read_text() == record
    assert again["rows"] == saved["rows"] and len(again["commands"]) == 2


def test_tiny_network_row(mini_data: Path, tmp_path: Path) -> None:
    train_dir = stage_training_images(
        [mini_data / "CBSD68"], tmp_path / "train", test_dirs=[mini_data / "CSet5"]
    )
    recipe = NetRecipe(
        "fsrcnn", "FSRCNN tiny", lr_patch=8, batch_size=4, steps=2, overrides=("model.preset=tiny",)
    )
    row = train_and_evaluate(
        recipe,
        3,
        train_dir=train_dir,
        test_dirs=[mini_data / "CSet5"],
        out_dir=tmp_path / "runs",
        configs=CONFIGS,
        threads=1,
    )
    assert row.steps == 2 and row.params < 2000 and list(row.scores) == ["Set5"]
    assert all(math.isfinite(v) for v in row.scores["Set5"])
    table = markdown_table([row], {("Set5", 3): (30.0, 0.8)})
    (line,) = [ln for ln in table.splitlines() if "FSRCNN tiny" in ln]
    assert "| x3 |" in line and "33.16 / 0.9140" in line  # published FSRCNN x3 Set5, for reference
    assert "data.patch_size=24" in row.overrides and "model.scale=3" in row.overrides


def test_test_sets_are_never_staged(mini_data: Path, tmp_path: Path) -> None:
    with pytest.raises(MedsrError, match="test set"):
        stage_training_images([mini_data / "CSet5"], tmp_path / "a")
    leak = tmp_path / "leak"
    leak.mkdir()
    name = next((mini_data / "CSet14").iterdir()).name
    (leak / name).write_bytes((mini_data / "CSet14" / name).read_bytes())
    with pytest.raises(MedsrError, match="name of a test image"):
        stage_training_images([leak], tmp_path / "b", test_dirs=[mini_data / "CSet14"])
    sources = [mini_data / "CBSD68", mini_data / "CSun_Hays80"]
    staged = stage_training_images(sources, tmp_path / "c")
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        p.name for d in ("CBSD68", "CSun_Hays80") for p in (mini_data / d).iterdir()
    )


def test_bad_arguments(mini_data: Path, tmp_path: Path) -> None:
    with pytest.raises(MedsrError, match="unknown network 'edsr'"):
        run_table1_train(["edsr"], [2], data=mini_data, out=tmp_path, configs=CONFIGS)
    for bad in (["espcn=0"], ["edsr=5"], ["espcn"]):
        with pytest.raises(MedsrError, match="step budget"):
            parse_step_budgets(bad)
    assert parse_step_budgets(["espcn=7", "vdsr=2"]) == {"espcn": 7, "vdsr": 2}


def test_command_line_reports_user_errors(mini_data: Path, tmp_path: Path) -> None:
    """The script is a thin wrapper: a user error is one line on stderr and exit status 2."""
    script = [sys.executable, str(ROOT / "benchmarks" / "table1_train.py")]
    common = ["--data", str(mini_data), "--out", str(tmp_path)]
    for args, message in (
        (["--nets", "edsr"], "unknown network 'edsr'"),
        (["--steps", "espcn=0"], "step budget 'espcn=0'"),
    ):
        done = subprocess.run(
            script + args + common, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 2 and message in done.stderr, done.stderr
