"""One process owns a batch folder: `.lock`, created atomically, holding pid, host and start time.

The lock file is made with O_CREAT | O_EXCL, so of two processes exactly one creates it. It is
removed when its holder ends (normally, by an error or Ctrl-C). A holder killed with kill -9
leaves it behind: a lock whose pid is no longer alive on this host (or now names a process that
started after the lock was written: the pid was reused) is stale and taken over. The
check and the take-over happen under an flock on `.lock.guard`, so two processes that find the
same stale lock cannot both take it. A lock held from another host is never taken over (its pid
cannot be checked from here): the message says how to remove it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from glass_core.errors import BadInputError

LOCK = ".lock"
GUARD = ".lock.guard"
# A holder writes its lock after it started; a process with its pid that started this much later
# (clock ticks against the wall clock) is another one that was given the same pid.
REUSE_MARGIN_S = 2.0
_held: dict[Path, list] = {}  # folders this process holds: [what its lock says, how many holders nest]


class FolderBusyError(BadInputError):
    """Another process is writing this batch folder."""


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _started(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), from Linux's /proc; None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start time in ticks
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _reused(holder: dict[str, Any]) -> bool:
    """Whether the lock's pid now belongs to a process that started after the lock was written."""
    started = _started(holder["pid"])
    try:
        written = datetime.fromisoformat(str(holder.get("started"))).timestamp()
    except ValueError:
        return False
    return started is not None and started > written + REUSE_MARGIN_S


def _holder(path: Path) -> dict[str, Any] | None:
    """What a lock file says (pid, host, started), or None if it is unreadable or half written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def _stale(holder: dict[str, Any] | None) -> bool:
    """A lock whose process is gone from this host (or that no process finished writing) is stale."""
    if holder is None:
        return True  # created and killed before its first write: nobody can hold it
    return holder.get("host") == socket.gethostname() and (not _alive(holder["pid"]) or _reused(holder))


def _create(path: Path, me: dict[str, Any]) -> bool:
    """Create the lock file atomically with our details; False if it exists already."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(me))
        f.flush()
        os.fsync(f.fileno())
    return True


def acquire(out_dir: Path) -> dict[str, Any]:
    """Take the folder's lock (a stale one is taken over) and return what it holds; else FolderBusyError."""
    out_dir = Path(out_dir)
    path = out_dir / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        with open(out_dir / GUARD, "a") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes, or its process dies
            if _create(path, me):
                return me
            holder = _holder(path)
            if _stale(holder):
                path.unlink(missing_ok=True)
                if _create(path, me):
                    return me
                holder = _holder(path)
    except OSError as err:
        raise BadInputError(f"{out_dir}: cannot write into this folder ({err.strerror or err}).") from None
    who = f"pid {holder['pid']} on {holder.get('host')}, since {holder.get('started')}" if holder else "another process"
    raise FolderBusyError(f"{out_dir} is in use by another batch ({who}): wait for it to end, or, if that"
                          f" process is gone, delete {path}.")


def release(out_dir: Path, me: dict[str, Any]) -> None:
    """Remove the lock if it is still ours."""
    path = Path(out_dir) / LOCK
    if _holder(path) == me:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold out_dir's lock for the duration of the block; nested blocks of one process share it.

    The batch command takes it before loading any model (a second process is refused at once), and
    run_batch and compute_metrics take it again inside, for callers that use them directly.
    """
    folder = Path(out_dir).resolve()
    if folder in _held:
        _held[folder][1] += 1
    else:
        _held[folder] = [acquire(out_dir), 1]
    try:
        yield
    finally:
        _held[folder][1] -= 1
        if not _held[folder][1]:
            release(out_dir, _held.pop(folder)[0])
