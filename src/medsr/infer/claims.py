"""One claim file per scan: overlapping cohort runs never up-scale the same scan twice.

A cohort (:mod:`medsr.infer.cohort`) may be run by several processes at once: the workers of one
run, a second run started on the same folder, array tasks of a SLURM job on other nodes that share
the file system. Before a worker up-scales a scan it creates ``.<output name>.claim`` beside the
output, atomically (a hard link of a finished temporary file, which fails if the name exists; or
``O_CREAT | O_EXCL`` where the file system has no hard links). The claim says who holds it
(host, process id, a random token); while the worker runs, a heartbeat thread touches it every
:data:`HEARTBEAT_S` seconds. When the scan is committed (or has failed) the claim is removed.

A claim left behind by a process that died is *stale* and is taken over: on the same host when its
process no longer runs, on any host when its heartbeat is older than ``stale_after`` seconds
(:data:`STALE_AFTER_S`). Taking over renames the stale file aside first, so of two runs that find
the same stale claim only one gets it. The temporaries of both steps are named as
:func:`medsr.io.atomic.temp_sibling` names them, so the next :func:`acquire` removes those of a
process killed in between (:func:`medsr.io.atomic.clean_stale`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from medsr.io.atomic import clean_stale, temp_sibling

__all__ = [
    "HEARTBEAT_S",
    "STALE_AFTER_S",
    "Claim",
    "ClaimInfo",
    "acquire",
    "claim_path",
    "drop_stale",
    "is_stale",
    "read_claim",
]

#: Seconds between two touches of a held claim.
HEARTBEAT_S = 30.0
#: A claim whose heartbeat is older than this (seconds) is stale, whoever holds it.
STALE_AFTER_S = 600.0


def claim_path(output: str | os.PathLike[str]) -> Path:
    """``.<name>.claim`` beside ``output`` (``out/a.nii.gz`` -> ``out/.a.nii.gz.claim``)."""
    output = Path(output)
    return output.with_name(f".{output.name}.claim")


@dataclass(frozen=True)
class ClaimInfo:
    """Who holds a claim: host name, process id, a random token, and when it was taken."""

    host: str
    pid: int
    token: str
    started: float

    @classmethod
    def mine(cls) -> ClaimInfo:
        """A new claim of this process."""
        return cls(socket.gethostname(), os.getpid(), secrets.token_hex(8), time.time())

    def text(self) -> str:
        return json.dumps(
            {"host": self.host, "pid": self.pid, "token": self.token, "started": self.started}
        )

    @property
    def worker(self) -> str:
        """``host:pid``, as the cohort report names workers."""
        return f"{self.host}:{self.pid}"


def read_claim(path: str | os.PathLike[str]) -> ClaimInfo | None:
    """The claim at ``path``; None if there is none, or it cannot be read or parsed."""
    try:
        entry = json.loads(Path(path).read_text())
        return ClaimInfo(
            str(entry["host"]), int(entry["pid"]), str(entry["token"]), float(entry["started"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (owned by someone else), or we cannot tell: assume alive
    return True


def is_stale(path: str | os.PathLike[str], stale_after: float = STALE_AFTER_S) -> bool:
    """Whether the claim at ``path`` may be taken over.

    Stale: its heartbeat (modification time) is older than ``stale_after`` seconds, or it was
    taken on this host by a process that no longer runs, or it is unreadable and older than a few
    seconds (a claim is written whole, so this is damage, not a claim being written).
    """
    path = Path(path)
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False  # gone: nothing to take over (the caller simply tries again)
    if age > stale_after:
        return True
    info = read_claim(path)
    if info is None:
        return age > 5.0
    return info.host == socket.gethostname() and not _pid_alive(info.pid)


def _create(path: Path, info: ClaimInfo) -> bool:
    """Create the claim whole; False if the name exists already."""
    tmp = temp_sibling(path)
    tmp.write_text(info.text())
    try:
        os.link(tmp, path)  # atomic, refuses an existing name, content complete when visible
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system: exclusive create, then write
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(info.text())
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _take_over(path: Path, seen: bytes) -> None:
    """Remove the stale claim ``path`` whose content was ``seen``, unless someone was quicker."""
    aside = temp_sibling(path)
    try:
        os.rename(path, aside)
    except OSError:
        return  # another run removed it first
    try:
        if aside.read_bytes() != seen:  # a fresh claim of a quicker run: put it back
            try:
                os.link(aside, path)
            except OSError:
                pass
    except OSError:
        pass
    finally:
        aside.unlink(missing_ok=True)


class Claim:
    """A held claim: a heartbeat thread keeps it fresh until :meth:`release`."""

    def __init__(self, path: Path, info: ClaimInfo, heartbeat: float = HEARTBEAT_S) -> None:
        self.path = path
        self.info = info
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(heartbeat,), name="medsr-claim-heartbeat", daemon=True
        )
        self._thread.start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            if not self.held():
                return
            try:
                os.utime(self.path)
            except OSError:
                return

    def held(self) -> bool:
        """Whether the claim file is still this one (not taken over after a stall)."""
        current = read_claim(self.path)
        return current is not None and current.token == self.info.token

    def release(self) -> None:
        """Stop the heartbeat and remove the claim (if it is still ours)."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        if self.held():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def drop_stale(output: str | os.PathLike[str], stale_after: float = STALE_AFTER_S) -> bool:
    """Remove the claim of ``output`` if it is stale (a run died after committing the scan);
    True if one was removed."""
    path = claim_path(output)
    try:
        seen = path.read_bytes()
    except OSError:
        return False
    if not is_stale(path, stale_after):
        return False
    _take_over(path, seen)
    return not path.exists()


def acquire(
    output: str | os.PathLike[str],
    *,
    stale_after: float = STALE_AFTER_S,
    heartbeat: float = HEARTBEAT_S,
) -> Claim | None:
    """Claim the scan written to ``output``; None if another live process holds it.

    A stale claim (:func:`is_stale`) is taken over. The caller must :meth:`Claim.release` it
    (or use it as a context manager).
    """
    path = claim_path(output)
    clean_stale(path)  # what a process killed while creating or taking over a claim left
    for _ in range(3):
        info = ClaimInfo.mine()
        if _create(path, info):
            return Claim(path, info, heartbeat)
        try:
            seen = path.read_bytes()
        except FileNotFoundError:
            continue  # released meanwhile: try again
        if not is_stale(path, stale_after):
            return None
        _take_over(path, seen)
    return None
