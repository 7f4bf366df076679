"""The recipes for a pip-installed user (issue 15): ``configs/`` reached through the package
(``importlib.resources``), ``medsr recipes`` / ``show`` / ``copy`` and ``medsr train NAME``."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from medsr.errors import MedsrError
from medsr.recipes import copy_recipe, list_recipes, recipe_path, resolve_recipe
from medsr.train.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_holds_the_repository_recipes_as_package_data() -> None:
    """One source of truth: ``medsr/configs`` is the repository's configs/ (its files, byte for
    byte, the shipped/ recipes too), and pyproject's package data takes every one into a wheel."""
    folder = files("medsr") / "configs"
    repo = sorted(p.relative_to(ROOT / "configs") for p in (ROOT / "configs").rglob("*.yaml"))
    packaged = sorted(Path(str(p)).relative_to(Path(str(folder))) for p in folder.rglob("*.yaml"))
    assert len(repo) >= 25 and packaged == repo
    for rel in repo:
        assert (folder / str(rel)).read_bytes() == (ROOT / "configs" / rel).read_bytes()
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["medsr"]
    src = ROOT / "src" / "medsr"
    shipped = {p.relative_to(src) for pattern in patterns for p in src.glob(pattern)}
    assert {Path("configs") / rel for rel in repo} <= shipped


def test_list_recipes_names_descriptions_and_cpu_profiles() -> None:
    infos = {r.name: r for r in list_recipes()}
    assert set(infos) == {p.stem for p in (ROOT / "configs").glob("*.yaml")}
    vdsr = infos["vdsr"]
    assert vdsr.network == "vdsr" and vdsr.task == "supervised" and vdsr.has_cpu_profile
    assert vdsr.description == "VDSR -- Kim, Lee & Lee, CVPR 2016 (review section 3.4.2)"
    assert all(info.has_cpu_profile for info in infos.values())  # issue 15: every recipe
    for info in infos.values():  # one line each, the paper's quoted title left out
        assert info.description and "\n" not in info.description and '"' not in info.description
        assert len(info.description) <= 170, info
    assert any(r.name == "shipped/edsr_x2" for r in list_recipes(include_subfolders=True))


def test_recipe_names_resolve_from_any_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no configs/ here: a pip user's working folder
    assert recipe_path("vdsr") == recipe_path("vdsr.yaml")
    assert resolve_recipe("vdsr").read_text() == (ROOT / "configs" / "vdsr.yaml").read_text()
    cfg = load_config("vdsr", ["profile=cpu"])
    assert cfg.model.name == "vdsr" and cfg.profile == "cpu"
    assert resolve_recipe("my.yaml") == Path("my.yaml")  # a path stays a path
    (tmp_path / "vdsr").write_text("x")
    assert resolve_recipe("vdsr") == Path("vdsr")  # an existing file wins over a name
    with pytest.raises(MedsrError, match=r"did you mean vdsr.*medsr recipes"):
        recipe_path("vdsrr")


def test_copy_recipe_refuses_to_overwrite(tmp_path) -> None:
    out = copy_recipe("fsrcnn", tmp_path)
    assert out == tmp_path / "fsrcnn.yaml"
    assert out.read_text() == (ROOT / "configs" / "fsrcnn.yaml").read_text()
    with pytest.raises(MedsrError, match="--overwrite"):
        copy_recipe("vdsr", out)
    assert copy_recipe("vdsr", out, overwrite=True).read_text().startswith("# VDSR")
    with pytest.raises(MedsrError, match="does not exist"):
        copy_recipe("vdsr", tmp_path / "missing" / "x.yaml")


def test_recipes_command_list_show_copy(medsr_main, tmp_path) -> None:
    code, out, _ = medsr_main("recipes")
    assert code == 0
    row = next(x for x in out.splitlines() if x.startswith("│ vdsr "))
    assert "yes" in row and "VDSR" in row
    assert "medsr train NAME" in out and "data.train.hr_dir" in out
    code, out, _ = medsr_main("recipes", "--json")
    assert code == 0 and '"name": "through_plane"' in out and '"profiles": [' in out
    code, out, _ = medsr_main("recipes", "show", "srcnn")
    assert code == 0 and out == (ROOT / "configs" / "srcnn.yaml").read_text()
    code, out, _ = medsr_main("recipes", "copy", "srcnn", tmp_path / "mine.yaml")
    assert code == 0 and (tmp_path / "mine.yaml").read_text().startswith("# SRCNN")
    code, _, err = medsr_main("recipes", "copy", "srcnn", tmp_path / "mine.yaml")
    assert code == 2 and err.startswith("error: ") and "--overwrite" in err
    code, _, err = medsr_main("recipes", "show", "srcn")
    assert code == 2 and err.splitlines() == [err.strip()] and "did you mean srcnn" in err


def test_train_a_recipe_by_name(medsr_main, tmp_path, monkeypatch, shared_data) -> None:
    """``medsr train fsrcnn --profile cpu`` from a folder without configs/ (2 steps on two real
    CBSD68 crops); a name that is no recipe is one error line."""
    from medsr.io import read, write
    from medsr.metrics.colour import rgb_to_y
    from medsr.volume import Volume

    crops = tmp_path / "crops"
    crops.mkdir()
    for f in sorted((shared_data / "natural" / "CBSD68").glob("*.png"))[:2]:
        y = np.round(rgb_to_y(np.moveaxis(read(f).data, 0, -1)))[100:164, 100:164]
        write(Volume(y[None].astype(np.float32), np.eye(4)), crops / f.name, dtype="uint8")
    monkeypatch.chdir(tmp_path)
    code, out, err = medsr_main(
        "train",
        "fsrcnn",
        "--profile",
        "cpu",
        f"data.train.hr_dir={crops}",
        f"data.val.hr_dir={crops}",
        "data.val_crop=48",
        "data.patch_size=24",
        "data.batch_size=2",
        "train.max_steps=2",
        "train.threads=1",
        "train.progress=none",
        f"output_dir={tmp_path / 'run'}",
    )
    assert code == 0, err
    assert "steps:      2" in out and (tmp_path / "run" / "model.safetensors").is_file()
    code, _, err = medsr_main("train", "fsrcnnn")
    assert code == 2 and err.startswith("error: ") and "medsr recipes" in err
