"""The training recipes shipped with medsr (``configs/*.yaml``), for a pip-installed user too.

The recipes have one home: the repository's ``configs/`` folder. The package reaches it as its
data folder ``medsr/configs`` (in the repository a symbolic link to ``../../configs``; in a wheel
a copy, listed in ``pyproject.toml``'s package data), so that ``medsr recipes``, ``medsr train
NAME`` and :func:`medsr.train.load_config` find the same files with or without a checkout.

- :func:`list_recipes` -> one :class:`RecipeInfo` per recipe (name, network, task, profiles, a
  one-line description taken from the recipe's header comment: network -- authors, venue, year,
  review section, the paper's title left out).
- :func:`recipe_path` (a name such as ``vdsr`` or ``shipped/edsr_x2`` -> its file; a MedsrError
  naming the closest recipes otherwise), :func:`resolve_recipe` (a path that exists, else a bare
  recipe name: what ``load_config`` accepts), :func:`copy_recipe`.

Data paths inside the recipes (``../shared/data/...``) are relative to the current folder, as
everywhere in medsr; a user elsewhere overrides them (``data.train.hr_dir=...``).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

from medsr.errors import MedsrError

__all__ = [
    "RecipeInfo",
    "copy_recipe",
    "list_recipes",
    "recipe_info",
    "recipe_path",
    "recipes_folder",
    "resolve_recipe",
]

#: the package's data folder of recipes (a link to the repository's configs/ in a checkout)
DATA_FOLDER = "configs"


@dataclass(frozen=True)
class RecipeInfo:
    """What ``medsr recipes`` lists about one recipe."""

    name: str
    path: Path
    description: str
    network: str
    task: str
    profiles: tuple[str, ...]

    @property
    def has_cpu_profile(self) -> bool:
        """A ``cpu`` profile (``medsr train NAME --profile cpu``: minutes on a CPU)."""
        return "cpu" in self.profiles


def recipes_folder() -> Path:
    """The folder of the shipped recipes (``medsr/configs`` inside the installed package)."""
    folder = files("medsr") / DATA_FOLDER
    if not isinstance(folder, Path) or not folder.is_dir():
        raise MedsrError(
            f"medsr's recipes are missing from the installation ({folder}); reinstall medsr "
            "or give a recipe file"
        )
    return folder


def _names(folder: Path) -> list[str]:
    top = sorted(p.stem for p in folder.glob("*.yaml"))
    folders = [d for d in sorted(folder.iterdir()) if d.is_dir()]
    sub = sorted(f"{d.name}/{p.stem}" for d in folders for p in d.glob("*.yaml"))
    return top + sub


def recipe_path(name: str) -> Path:
    """The file of the recipe ``name`` (``vdsr``, ``vdsr.yaml`` or ``shipped/edsr_x2``).

    Raises:
        MedsrError: no such recipe (the message lists the closest names and ``medsr recipes``).
    """
    folder = recipes_folder()
    stem = str(name).strip().removesuffix(".yaml").removesuffix(".yml")
    names = _names(folder)
    if stem in names:
        return folder / f"{stem}.yaml"
    close = difflib.get_close_matches(stem, names, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise MedsrError(
        f"no recipe named {name!r}{hint}; `medsr recipes` lists them, or give a YAML file"
    )


def resolve_recipe(spec: str | os.PathLike[str]) -> Path:
    """A recipe file from what a user typed: an existing path as it is, else a bare recipe name
    (no folder, no other suffix) of :func:`list_recipes`; anything else unchanged (the caller
    reports the missing file)."""
    path = Path(spec)
    if path.exists():
        return path
    text = str(spec)
    bare = path.suffix in ("", ".yaml", ".yml") and (
        os.sep not in text or text.startswith("shipped/")
    )
    if bare and text:
        try:
            return recipe_path(text)
        except MedsrError:
            return path
    return path


def _description(text: str) -> str:
    """One line from a recipe's header comment: up to the review reference (or first sentence),
    the paper's quoted title left out."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    header = re.sub(r'"[^"]*",?\s*', "", " ".join(x for x in lines if x))
    match = re.search(
        r"\([^()]*review[^()]*\)|the review's ref\. \[\d+\](?: \(section [^()]*\))?", header
    )
    if match and match.end() <= 160:
        header = header[: match.end()]
    else:
        header = re.split(r"(?<=[a-z0-9)])\.\s", header, maxsplit=1)[0]
        header = header.split(": ", 1)[0] if len(header) > 100 else header
    return " ".join(header.split()).rstrip(".,;: ")


def recipe_info(path: Path, name: str | None = None) -> RecipeInfo:
    """The :class:`RecipeInfo` of one recipe file."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise MedsrError(f"recipe {path} is not valid YAML ({err})") from None
    model = data.get("model") or {}
    profiles = data.get("profiles") or {}
    return RecipeInfo(
        name=name or path.stem,
        path=path,
        description=_description(text),
        network=str(model.get("name", "?")),
        task=str(data.get("task", "supervised")),
        profiles=tuple(str(p) for p in profiles) if isinstance(profiles, dict) else (),
    )


def list_recipes(*, include_subfolders: bool = False) -> list[RecipeInfo]:
    """Every shipped recipe, by name (``shipped/*`` too with ``include_subfolders``)."""
    folder = recipes_folder()
    return [
        recipe_info(folder / f"{name}.yaml", name)
        for name in _names(folder)
        if include_subfolders or "/" not in name
    ]


def copy_recipe(name: str, dest: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the recipe ``name`` to ``dest`` (a file, or a folder: ``dest/<name>.yaml``).

    Atomic (:func:`medsr.io.atomic.atomic_path`); an existing file is kept unless ``overwrite``.
    """
    from medsr.io.atomic import atomic_path

    source = recipe_path(name)
    target = Path(dest)
    if target.is_dir():
        target = target / source.name
    if target.suffix not in (".yaml", ".yml"):
        raise MedsrError(f"{target}: give a .yaml file name or an existing folder")
    if not target.parent.is_dir():
        raise MedsrError(f"folder {target.parent} does not exist; create it first")
    if target.exists() and not overwrite:
        raise MedsrError(f"{target} exists; add --overwrite to replace it")
    with atomic_path(target) as tmp:
        Path(tmp).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return target
