"""Input discovery: which scans a list of files, folders and glob patterns names.

One set of rules for every command that takes many inputs (``medsr upscale``, training data,
benchmark folders):

1. An existing file is one scan, whatever its format (:func:`medsr.io.read` decides).
2. Text with ``*``, ``?`` or ``[`` that is not an existing path is a glob pattern (sorted matches;
   ``**`` with ``recursive``). Matches that are scan files (rule 4) or DICOM folders (rule 5) are
   kept; anything else (notes, loose DICOM slices, plain folders) is skipped.
3. A folder:

   a. holding DICOM files and no scan file: ONE scan (the DICOM series; the reader looks below it
      too and asks for a series UID when there are several);
   b. otherwise: its scan files, then its sub-folders that are DICOM folders, each sorted by name;
      with ``recursive``, the other sub-folders are searched the same way;
   c. none of those but DICOM files deeper down (``patient/study/series``) and not
      ``recursive``: ONE scan, as in (a).

4. A scan file is a visible (not ``.``-prefixed) file with a single-file format of
   :data:`medsr.io.READ_SUFFIXES` (NIfTI, NRRD/NHDR, MHA/MHD, PNG, JPEG, TIFF, BMP). DICOM slices
   (``.dcm``, ``.ima``) are not scans on their own: their folder is.
5. A DICOM folder directly holds a visible ``.dcm``/``.ima`` file or a file without suffix that
   carries the DICOM ``DICM`` marker (:func:`medsr.io.dicom.is_dicom_file`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from medsr.errors import MedsrError
from medsr.io.atomic import full_suffix

__all__ = ["expands", "find_scans", "is_dicom_folder", "is_glob", "is_scan_file"]

_DICOM_SUFFIXES = (".dcm", ".ima")


def is_glob(text: str | os.PathLike[str]) -> bool:
    """True for a glob pattern: ``*``, ``?`` or ``[`` in text that is not an existing path."""
    text = os.fspath(text)
    return any(ch in text for ch in "*?[") and not Path(text).expanduser().exists()


def is_scan_file(path: Path) -> bool:
    """A visible file in a single-file format medsr reads (rule 4 of the module doc)."""
    from medsr.io import READ_SUFFIXES

    suffix = full_suffix(path)
    return (
        not path.name.startswith(".")
        and suffix in READ_SUFFIXES
        and suffix not in _DICOM_SUFFIXES
        and path.is_file()
    )


def _is_dicom_slice(path: Path) -> bool:
    if path.name.startswith(".") or not path.is_file():
        return False
    suffix = full_suffix(path)
    if suffix in _DICOM_SUFFIXES:
        return True
    if suffix:
        return False
    from medsr.io.dicom import is_dicom_file

    return is_dicom_file(path)


def is_dicom_folder(path: Path) -> bool:
    """A folder that directly holds DICOM files (rule 5 of the module doc)."""
    try:
        return path.is_dir() and any(_is_dicom_slice(c) for c in path.iterdir())
    except OSError:  # unreadable folder
        return False


def _has_dicom_below(path: Path) -> bool:
    return any(_is_dicom_slice(p) for p in path.rglob("*") if not p.name.startswith("."))


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise MedsrError(
            f"cannot list folder {folder} ({exc.strerror or type(exc).__name__}); "
            "check its permissions"
        ) from None


def _folder(folder: Path, recursive: bool, top: bool = True) -> list[Path]:
    children = _children(folder)
    scans = [c for c in children if is_scan_file(c)]
    if not scans and any(_is_dicom_slice(c) for c in children):
        return [folder]  # rule 3a
    found = list(scans)
    others = []
    for child in children:
        if child.is_dir() and not child.name.startswith("."):
            if is_dicom_folder(child):
                found.append(child)
            elif recursive:
                others.append(child)
    for child in others:
        found.extend(_folder(child, recursive, top=False))
    if not found and top and not recursive and _has_dicom_below(folder):
        return [folder]  # rule 3c
    return found


def _one(spec: str | os.PathLike[str], recursive: bool) -> list[Path]:
    text = os.fspath(spec)
    if is_glob(text):
        matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=recursive))
        if not matches:
            raise MedsrError(f"no file matches {text!r}; check the pattern")
        kept = [p for p in matches if is_scan_file(p) or is_dicom_folder(p)]
        if not kept:
            raise MedsrError(
                f"no scan file or DICOM folder among the {len(matches)} matches of {text!r}; "
                "check the pattern"
            )
        return kept
    path = Path(text).expanduser()
    if path.is_file():
        return [path]
    if not path.exists():
        raise MedsrError(
            f"input {path} does not exist; check the path (relative paths are resolved from the "
            f"current directory {os.getcwd()})"
        )
    found = _folder(path, recursive)
    if not found:
        raise MedsrError(
            f"no readable images or scans in folder {path}; put scan files (.nii.gz, .nrrd, .mha, "
            ".png, ...) or DICOM series folders there"
        )
    return found


def find_scans(
    specs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, recursive: bool = False
) -> list[Path]:
    """The scans named by files, folders and glob patterns, in order (rules in the module doc).

    A path found twice is kept once, at its first place.

    Raises:
        MedsrError: a path that does not exist, a pattern or a folder without scans.
    """
    items: Iterable[str | os.PathLike[str]] = (
        [specs] if isinstance(specs, (str, os.PathLike)) else specs
    )
    out: list[Path] = []
    seen: set[Path] = set()
    for spec in items:
        for path in _one(spec, recursive):
            if path not in seen:
                seen.add(path)
                out.append(path)
    return out


def expands(spec: str | os.PathLike[str], *, recursive: bool = False) -> bool:
    """True when ``spec`` names a set of scans (a pattern, or a folder that is not one scan), so
    that a command expects several outputs even when the set holds one scan."""
    if is_glob(spec):
        return True
    path = Path(os.fspath(spec)).expanduser()
    return path.is_dir() and _one(spec, recursive) != [path]
