"""Atomic output folders: a DICOM series (one file per slice) appears whole or not at all.

:func:`medsr.io.atomic.atomic_group` commits files; a derived DICOM series is a folder, written
with its JSON sidecar beside it. :func:`atomic_folder_group` stages the folder and the files in a
hidden ``.<name>.tmp<PID>-<hex>`` folder beside them (the naming :func:`medsr.io.atomic.clean_stale`
removes after a killed run), then renames them into place, the folder last. A folder or file that
is replaced is kept aside until the commit is complete and restored when a rename fails (or
SIGTERM arrives, :func:`medsr.io.atomic.unwind_on_signals`).

A folder is replaced only with ``overwrite`` and only when it holds nothing but DICOM files (a
series medsr wrote before): never a folder of other data.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from medsr.errors import MedsrError, OptionError

# The private helpers of medsr.io.atomic keep one temporary-name scheme and one disk-error text.
from medsr.io.atomic import _disk_error, _make_dir, _parent, check_targets, clean_stale

__all__ = ["atomic_folder", "atomic_folder_group", "check_folder_target"]


def check_folder_target(folder: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Refuse before any work: a file at ``folder``, or an existing folder (without ``overwrite``,
    or holding anything but DICOM files).

    Raises:
        MedsrError: a file is in the way, or the folder holds other files; OptionError naming
            ``overwrite`` when the folder exists.
    """
    from medsr.io.dicom import is_dicom_file

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MedsrError(
            f"{folder} is a file, where medsr must write a folder (a DICOM series); choose "
            "another output name"
        )
    if not folder.is_dir():
        return
    if not overwrite:
        raise OptionError(f"{folder} already exists; pass {{overwrite}} or choose another name")
    others = [p for p in folder.rglob("*") if not p.is_dir() and not is_dicom_file(p)]
    if others:
        raise MedsrError(
            f"refusing to replace {folder}: it holds files that are not DICOM ({others[0].name}); "
            "choose another output folder"
        )


@contextmanager
def atomic_folder_group(
    folder: str | os.PathLike[str],
    files: Sequence[str | os.PathLike[str]] = (),
    *,
    overwrite: bool = False,
) -> Iterator[tuple[Path, list[Path]]]:
    """Write a folder and files beside it as one commit: all appear, or none.

    Yields ``(staged folder, staged files)``; the staged folder does not exist yet (the writer
    creates it), the files are to be written at their staged paths. On success the files, then
    the folder, are renamed into place.

    Raises:
        MedsrError: a target is in the way (see :func:`check_folder_target`), the parent folder
            is missing or not writable, a member was not written, or the disk is full.
    """
    folder = Path(folder)
    targets = [Path(f) for f in files]
    parent = _parent(folder)
    if any(t.parent.resolve() != parent.resolve() for t in targets):
        raise ValueError("atomic_folder_group writes beside one folder; got several folders")
    check_folder_target(folder, overwrite=overwrite)
    check_targets(targets, overwrite=overwrite)
    for target in [folder, *targets]:
        clean_stale(target)
    staging = _make_dir(parent, folder.name)
    done: list[tuple[Path, Path | None]] = []
    try:
        yield staging / folder.name, [staging / t.name for t in targets]
        if not (staging / folder.name).is_dir():
            raise MedsrError(f"the writer for {folder} produced no folder; nothing was written")
        missing = [t for t in targets if not (staging / t.name).is_file()]
        if missing:
            raise MedsrError(f"the writer for {missing[0]} produced no file; nothing was written")
        aside = staging / ".replaced"
        aside.mkdir()
        for name in [t.name for t in targets] + [folder.name]:
            target = parent / name
            old = None
            if target.exists() or target.is_symlink():
                old = aside / name
                os.replace(target, old)
            done.append((target, old))
            os.replace(staging / name, target)
    except BaseException as exc:
        _roll_back(done)
        shutil.rmtree(staging, ignore_errors=True)
        disk = _disk_error(folder, exc)
        if disk is not None:
            raise disk from None
        raise
    shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_folder(
    folder: str | os.PathLike[str], *, overwrite: bool = False
) -> Iterator[Path]:
    """:func:`atomic_folder_group` for a folder alone: yields the staged folder path."""
    with atomic_folder_group(folder, (), overwrite=overwrite) as (staged, _):
        yield staged


def _roll_back(done: list[tuple[Path, Path | None]]) -> None:
    for target, old in reversed(done):
        try:
            if old is None or old.exists():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
            if old is not None and old.exists():
                os.replace(old, target)
        except OSError:
            continue
