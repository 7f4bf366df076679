"""Atomic file writing: an output appears whole or not at all.

Every file medsr writes (scans, weights, JSON sidecars, reports) goes through :func:`atomic_path`:
the writer fills a temporary file in the destination folder, and only when it has finished without
error is the file renamed onto the requested name (``os.replace`` is atomic on one file system).
On any error the temporary file is removed, so a crash or a Ctrl-C never leaves a truncated scan
that looks valid.

Formats with a detached header (``.mhd`` + ``.raw``, ``.nhdr`` + ``.raw.gz``) write several files;
:func:`atomic_files` does the same for such a group: it writes into a temporary folder beside the
destination and moves the data files first, the header last.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medsr.errors import MedsrError

__all__ = ["atomic_files", "atomic_path", "full_suffix"]

# Multi-part suffixes that must stay whole so that libraries choose the format from the name.
_COMPOUND = (".nii.gz", ".raw.gz", ".tar.gz")


def full_suffix(path: str | os.PathLike[str]) -> str:
    """The format suffix of a name, lower-case: ``.nii.gz`` for ``a.b.nii.gz``, ``.png``..."""
    name = Path(path).name.lower()
    for suffix in _COMPOUND:
        if name.endswith(suffix):
            return suffix
    return Path(name).suffix


def _split_name(path: Path) -> tuple[str, str]:
    suffix = full_suffix(path)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return stem, path.name[len(stem) :]


def _reserve(parent: Path, stem: str, suffix: str) -> Path:
    """Create an empty, new ``.<stem>.tmpXXXXXXXX<suffix>`` in ``parent``.

    Not ``tempfile.mkstemp``: that makes the file private (0600) and the final output would keep
    those permissions; ``os.open`` with 0666 lets the user's umask decide, as for any new file.
    """
    for _ in range(100):
        candidate = parent / f".{stem}.tmp{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:  # read-only, no permission, not a real folder (/proc), disk full
            raise _unwritable(parent, exc) from None
        return candidate
    raise MedsrError(f"cannot create a temporary file in {parent}; clean up .*.tmp* files there")


def _unwritable(parent: Path, exc: OSError) -> MedsrError:
    reason = exc.strerror or type(exc).__name__
    return MedsrError(f"cannot write in folder {parent} ({reason}); choose a folder you can write to")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffixes); rename it onto ``path`` on success.

    The temporary name is ``.<stem>.tmpXXXXXXXX<suffix>`` (for example ``.out.tmpa1b2c3d4.nii.gz``)
    so that format-sniffing libraries still see the right extension. On an exception inside the
    ``with`` block the temporary file is deleted and the exception propagates; ``path`` is left as
    it was.

    Raises:
        MedsrError: if the destination folder does not exist.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise MedsrError(
            f"output folder {parent} does not exist; create it first or choose another path"
        )
    tmp = _reserve(parent, *_split_name(path))
    try:
        yield tmp
        if not tmp.exists():
            raise MedsrError(f"the writer for {path} produced no file; nothing was written")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_files(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Like :func:`atomic_path` for writers that produce several files (detached headers).

    Yields ``<tmpdir>/<name of path>``, where ``tmpdir`` is a fresh hidden folder beside ``path``.
    When the block succeeds, every file the writer created there is moved into the destination
    folder, ``path`` itself last (readers look for the header, so it must appear only once its data
    file is in place). Companion files that already exist are refused unless ``overwrite``.
    On failure the temporary folder is removed and nothing in the destination changes.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise MedsrError(
            f"output folder {parent} does not exist; create it first or choose another path"
        )
    try:
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{_split_name(path)[0]}.tmp", dir=parent))
    except OSError as exc:
        raise _unwritable(parent, exc) from None
    try:
        yield tmp_dir / path.name
        produced = sorted(p for p in tmp_dir.iterdir() if p.is_file())
        if not (tmp_dir / path.name).exists():
            raise MedsrError(f"the writer for {path} produced no file; nothing was written")
        companions = [p for p in produced if p.name != path.name]
        if not overwrite:
            clash = [parent / p.name for p in companions if (parent / p.name).exists()]
            if clash:
                raise MedsrError(
                    f"{clash[0]} (the data file of {path.name}) already exists; "
                    "pass overwrite=True (--overwrite) or choose another name"
                )
        for item in companions:
            os.replace(item, parent / item.name)
        os.replace(tmp_dir / path.name, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
