"""Atomic file writing: an output appears whole or not at all.

Every file medsr writes (scans, weights, JSON sidecars, reports) goes through :func:`atomic_path`:
the writer fills a temporary file in the destination folder, and only when it has finished without
error is the file renamed onto the requested name (``os.replace`` is atomic on one file system).
On any error the temporary file is removed, so a crash or a Ctrl-C never leaves a truncated scan
that looks valid.

Formats with a detached header (``.mhd`` + ``.raw``, ``.nhdr`` + ``.raw.gz``) write several files;
:func:`atomic_files` does the same for such a group: it writes into a temporary folder beside the
destination and moves the data files first, the header last. :func:`atomic_group` commits several
named outputs as one (a scan and its JSON sidecar): all appear, or none, and a member already
renamed is rolled back (the file it replaced is restored) when a later one fails.

Temporary names are ``.<stem>.tmp<PID>-<8 hex><suffix>``: the writer's process id lets the next
run remove what a killed writer left (:func:`clean_stale`). :func:`unwind_on_signals` (installed by
the ``medsr`` command, never at import) turns SIGTERM into an exception, so that these clean-ups
also run when a job is terminated. A full disk (or a read-only one) becomes one
:class:`~medsr.errors.MedsrError` line and nothing partial.
"""

from __future__ import annotations

import copy
import errno
import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from medsr.errors import MedsrError, OptionError

__all__ = [
    "STALE_AGE_S",
    "Interrupted",
    "atomic_files",
    "atomic_group",
    "atomic_path",
    "check_name",
    "check_targets",
    "clean_stale",
    "full_suffix",
    "handling_signals",
    "temp_sibling",
    "unwind_on_signals",
]

# Multi-part suffixes that must stay whole so that libraries choose the format from the name.
_COMPOUND = (".nii.gz", ".raw.gz", ".tar.gz")

#: A temporary without a writer PID in its name is removed once it is older than this (seconds).
STALE_AGE_S = 600.0
#: A temporary whose writer PID still runs is kept unless older than this (PID reuse guard).
_LIVE_PID_AGE_S = 86400.0
_TEMP_TAIL = re.compile(r"(\d+)-[0-9a-f]{8}")
_OLD_TEMP_TAIL = re.compile(r"[0-9a-z_]{8}")
_DISK_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EFBIG: "file too large for the file system",
    errno.EIO: "input/output error",
}


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) received inside :func:`unwind_on_signals`; ``signum`` says which.

    A :class:`KeyboardInterrupt`, so every ``except Exception`` lets it pass and every clean-up
    (``finally``, ``except BaseException``) runs on the way out.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


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


#: Bytes a temporary name adds to the output's: ``.`` + ``.tmp`` + a 7-digit PID + ``-`` + 8 hex.
_TEMP_EXTRA = 21


def check_name(path: str | os.PathLike[str]) -> None:
    """Refuse an output name the file system cannot hold together with its temporary's extra
    bytes (:func:`atomic_path`), naming the file, not its folder.

    Raises:
        MedsrError: the name is longer than the folder's limit (usually 255 bytes) minus 21.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        limit = int(os.pathconf(parent, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        limit = 255
    size = len(os.fsencode(path.name))
    if size + _TEMP_EXTRA > limit:
        short = path.name if len(path.name) <= 40 else f"{path.name[:20]}...{path.name[-12:]}"
        raise MedsrError(
            f"the output name {short} is too long ({size} bytes): medsr writes through a temporary "
            f"file {_TEMP_EXTRA} bytes longer, and names in {parent} hold at most {limit} bytes; "
            f"choose a name of at most {limit - _TEMP_EXTRA} bytes"
        )


def _parent(path: Path) -> Path:
    check_name(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise MedsrError(
            f"output folder {parent} does not exist; create it first or choose another path"
        )
    return parent


def _temp_name(stem: str, suffix: str = "") -> str:
    return f".{stem}.tmp{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def temp_sibling(path: str | os.PathLike[str]) -> Path:
    """A new temporary name beside ``path`` (``.<stem>.tmp<PID>-<hex><suffix>``, not created), in
    the naming :func:`clean_stale` removes once its writer no longer runs: for other modules'
    small temporaries (e.g. the claims of :mod:`medsr.infer.claims`)."""
    path = Path(path)
    return path.with_name(_temp_name(*_split_name(path)))


def _create_temp(
    parent: Path, stem: str, suffix: str, create: Callable[[Path], object], exhausted: str
) -> Path:
    """A new ``.<stem>.tmp<PID>-XXXXXXXX<suffix>`` made in ``parent`` by ``create`` (which raises
    FileExistsError on a taken name: another random name is tried, 100 at most).

    Raises:
        MedsrError: the folder takes no new entry (one line, :func:`_unwritable`), or
            ``exhausted`` when 100 names were taken.
    """
    for _ in range(100):
        candidate = parent / _temp_name(stem, suffix)
        try:
            create(candidate)
        except FileExistsError:
            continue
        except OSError as exc:  # read-only, no permission, not a real folder (/proc), disk full
            raise _unwritable(parent, exc) from None
        return candidate
    raise MedsrError(exhausted)


def _reserve(parent: Path, stem: str, suffix: str) -> Path:
    """Create an empty, new ``.<stem>.tmp<PID>-XXXXXXXX<suffix>`` in ``parent``.

    Not ``tempfile.mkstemp``: that makes the file private (0600) and the final output would keep
    those permissions; ``os.open`` with 0666 lets the user's umask decide, as for any new file.
    """

    def create(path: Path) -> None:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))

    return _create_temp(
        parent,
        stem,
        suffix,
        create,
        f"cannot create a temporary file in {parent}; clean up .*.tmp* files there",
    )


def _make_dir(parent: Path, stem: str) -> Path:
    """Create a new hidden ``.<stem>.tmp<PID>-XXXXXXXX`` folder in ``parent``."""
    return _create_temp(
        parent,
        stem,
        "",
        Path.mkdir,
        f"cannot create a temporary folder in {parent}; clean up .*.tmp* there",
    )


def _unwritable(parent: Path, exc: OSError) -> MedsrError:
    reason = exc.strerror or type(exc).__name__
    return MedsrError(
        f"cannot write in folder {parent} ({reason}); choose a folder you can write to"
    )


def _for_user(path: Path, exc: BaseException, names: dict[str, str]) -> BaseException:
    """``exc`` as the user should see it: a disk error in one line, temporary names replaced by
    the user's (:func:`_user_names`), else ``exc`` itself."""
    return _disk_error(path, exc) or _user_names(exc, names) or exc


def _disk_error(path: Path, exc: BaseException) -> MedsrError | None:
    """A one-line error for a full, read-only or failing disk; None for other exceptions."""
    if not isinstance(exc, OSError) or exc.errno not in _DISK_ERRORS:
        return None
    return MedsrError(
        f"cannot write {path}: {_DISK_ERRORS[exc.errno]}; nothing was written: free disk space "
        "or choose another folder"
    )


def _user_names(exc: BaseException, names: dict[str, str]) -> MedsrError | None:
    """The writer's :class:`MedsrError` naming the user's output instead of its temporary (which
    the user never sees and which is gone by then); None when the message names no temporary."""
    if not isinstance(exc, MedsrError):
        return None
    text = original = str(exc)
    template = getattr(exc, "template", None)
    for temporary, wanted in names.items():
        text = text.replace(temporary, wanted)
        if isinstance(template, str):
            template = template.replace(temporary, wanted)
    if text == original:
        return None
    renamed = copy.copy(exc)
    renamed.args = (text,)
    if isinstance(template, str):
        renamed.template = template  # type: ignore[attr-defined]
    return renamed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (another user's) or cannot tell: keep
    return True


def clean_stale(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of ``path`` that an earlier, killed writer left behind.

    A temporary of ``path`` is a file or folder ``.<stem>.tmp...`` beside it. It is stale when the
    writer PID in its name no longer runs (or ran more than a day ago: the PID may have been
    reused), or, for a name without a PID, when it is older than :data:`STALE_AGE_S`. Temporaries
    of a writer that still runs are kept. Errors while removing are ignored.

    Returns:
        The removed paths.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    prefix = f".{_split_name(path)[0]}.tmp"
    removed: list[Path] = []
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        tail = entry.name[len(prefix) :]
        try:
            age = now - entry.lstat().st_mtime
        except OSError:
            continue
        match = _TEMP_TAIL.match(tail)
        if match:
            stale = not _pid_alive(int(match.group(1))) or age > _LIVE_PID_AGE_S
        else:
            stale = bool(_OLD_TEMP_TAIL.match(tail)) and age > STALE_AGE_S
        if not stale:
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def check_targets(paths: Sequence[str | os.PathLike[str]], *, overwrite: bool = False) -> None:
    """Refuse before anything is written: a folder at any target, or an existing file.

    Raises:
        MedsrError: a target is a folder (never replaced); OptionError (naming ``overwrite``): it
            exists and ``overwrite`` is False.
    """
    for path in map(Path, paths):
        check_name(path)
        if path.is_dir():
            raise MedsrError(
                f"{path} is a folder, where medsr must write a file; move it away or choose "
                "another output name"
            )
        if not overwrite and (path.exists() or path.is_symlink()):
            raise OptionError(f"{path} already exists; pass {{overwrite}} or choose another name")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffixes); rename it onto ``path`` on success.

    The temporary name is ``.<stem>.tmp<PID>-XXXXXXXX<suffix>`` (for example
    ``.out.tmp4242-a1b2c3d4.nii.gz``) so that format-sniffing libraries still see the right
    extension. Stale temporaries of ``path`` are removed first (:func:`clean_stale`). On an
    exception inside the ``with`` block the temporary file is deleted and the exception
    propagates (a full or read-only disk as a :class:`MedsrError`); ``path`` is left as it was.

    Raises:
        MedsrError: if the destination folder does not exist, or the disk is full.
    """
    path = Path(path)
    parent = _parent(path)
    clean_stale(path)
    tmp = _reserve(parent, *_split_name(path))
    try:
        yield tmp
        if not tmp.exists():
            raise MedsrError(f"the writer for {path} produced no file; nothing was written")
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        shown = _for_user(path, exc, {str(tmp): str(path), tmp.name: path.name})
        if shown is exc:
            raise
        raise shown from None


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
    parent = _parent(path)
    clean_stale(path)
    tmp_dir = _make_dir(parent, _split_name(path)[0])
    try:
        yield tmp_dir / path.name
        produced = sorted(p for p in tmp_dir.iterdir() if p.is_file())
        if not (tmp_dir / path.name).exists():
            raise MedsrError(f"the writer for {path} produced no file; nothing was written")
        companions = [p for p in produced if p.name != path.name]
        if not overwrite:
            clash = [parent / p.name for p in companions if (parent / p.name).exists()]
            if clash:
                raise OptionError(
                    f"{clash[0]} (the data file of {path.name}) already exists; "
                    "pass {overwrite} or choose another name"
                )
        for item in companions:
            os.replace(item, parent / item.name)
        os.replace(tmp_dir / path.name, path)
    except BaseException as exc:
        shown = _for_user(path, exc, {str(tmp_dir): str(parent), tmp_dir.name: parent.name})
        if shown is exc:
            raise
        raise shown from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


@contextmanager
def atomic_group(
    paths: Sequence[str | os.PathLike[str]], *, overwrite: bool = False
) -> Iterator[list[Path]]:
    """Write several files of one folder as one commit: all appear, or none.

    Yields one staging path per entry of ``paths`` (same file names, inside a fresh hidden folder
    beside them); write each there (with :func:`medsr.io.write`, :func:`medsr.jsonutil.write_json`
    ...). Files a writer adds beside its own (the ``.raw`` of a ``.mhd``) are committed too. On
    success the files are renamed into place, companions first and ``paths[0]`` last; a file that
    is replaced is kept aside until the commit is complete. On any failure (an exception in the
    block, a failed rename, SIGTERM through :func:`unwind_on_signals`) the staging folder is
    removed, every member already renamed is removed again and the files it replaced are restored.

    Args:
        paths: the outputs, all in the same folder (e.g. a scan and its JSON sidecar).
        overwrite: replace existing files (a folder at a target is always refused).

    Raises:
        MedsrError: a target is a folder or exists (without ``overwrite``), the folder is
            missing or not writable, a member was not written, or the disk is full.
    """
    targets = [Path(p) for p in paths]
    if not targets:
        raise ValueError("atomic_group needs at least one path")
    parent = _parent(targets[0])
    if any(t.parent.resolve() != parent.resolve() for t in targets):
        raise ValueError("atomic_group writes files of one folder; got several folders")
    if len({t.name for t in targets}) != len(targets):
        raise ValueError("atomic_group got the same file name twice")
    check_targets(targets, overwrite=overwrite)
    for target in targets:
        clean_stale(target)
    staging = _make_dir(parent, _split_name(targets[0])[0])
    done: list[tuple[Path, Path | None]] = []  # (target now holding the new file, old file aside)
    try:
        yield [staging / t.name for t in targets]
        missing = [t for t in targets if not (staging / t.name).is_file()]
        if missing:
            raise MedsrError(f"the writer for {missing[0]} produced no file; nothing was written")
        names = {t.name for t in targets}
        companions = sorted(p for p in staging.iterdir() if p.is_file() and p.name not in names)
        check_targets([parent / p.name for p in companions], overwrite=overwrite)
        aside = staging / ".replaced"
        aside.mkdir()
        for item in companions + [staging / t.name for t in reversed(targets)]:
            target = parent / item.name
            old = None
            if target.exists() or target.is_symlink():
                old = aside / item.name
                os.replace(target, old)
            done.append((target, old))
            os.replace(item, target)
    except BaseException as exc:
        _roll_back(done)
        shutil.rmtree(staging, ignore_errors=True)
        shown = _for_user(targets[0], exc, {str(staging): str(parent)})
        if shown is exc:
            raise
        raise shown from None
    shutil.rmtree(staging, ignore_errors=True)


def _roll_back(done: list[tuple[Path, Path | None]]) -> None:
    """Undo the renames of :func:`atomic_group`: remove new members, put the old files back."""
    for target, old in reversed(done):
        try:
            if old is None or old.exists():
                target.unlink(missing_ok=True)
            if old is not None and old.exists():
                os.replace(old, target)
        except OSError:
            continue


@contextmanager
def handling_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[bool]:
    """Within the block, ``handler`` receives SIGTERM and SIGINT; the previous handlers are
    restored on exit. Yields whether it was installed: outside the main thread (where handlers
    cannot be set) it is not, and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield True
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


@contextmanager
def unwind_on_signals() -> Iterator[list[int]]:
    """Within the block, SIGTERM and SIGINT raise :class:`Interrupted` in the main thread.

    Yields the list of signals received (empty unless one came), for callers whose framework turns
    the exception into something else (typer turns a KeyboardInterrupt into exit code 130).

    Python's default SIGTERM kills the process at once, leaving temporaries (and, between two
    renames, half a commit); raised as an exception, every ``finally`` and rollback of this module
    runs first. A second signal ends the process at once, as without this handler (what it leaves
    is removed by the next run, :func:`clean_stale`). The previous handlers are restored on exit.
    Outside the main thread (where handlers cannot be set) this does nothing.
    """
    caught: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if caught:  # asked again while unwinding: stop now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        caught.append(signum)
        raise Interrupted(signum)

    with handling_signals(handler):
        yield caught
