"""The files each session is offered for download: one folder per event, cleaned when nothing can still read it.

Why not one folder per session, replaced by each new one: gradio copies an event's files into
its own cache only after the handler has handed them over, so a Save racing a search's last
update deleted the other event's folder while gradio was still copying it, and every output
of the page showed "Error". Here each event writes its own folder; a session's older folders
go once they are KEEP_S old (gradio copied them long before), and all of them when the
session ends (the tab closes: `end_session`, wired as the page's unload event). Folders left
by an earlier run of the app (killed, crashed) are removed at start-up (`clean_earlier_runs`).

Layout: <tempdir>/glass-run-<pid>/<session>/<one folder per event>/files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

KEEP_S = 120.0  # an event's folder is read by gradio within moments of the event handing it over
_OWN = re.compile(r"glass-(?:run|app)-(\d+)")  # this app's folders in the temp folder, named by process id
_SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ended: dict[str, float] = {}  # session -> when it ended: a late event's folder is swept after KEEP_S
_lock = threading.Lock()
log = logging.getLogger(__name__)


def process_root() -> Path:
    """This process's folder of download folders (tempfile's folder is read at call time: tests move it)."""
    return Path(tempfile.gettempdir()) / f"glass-run-{os.getpid()}"


def session_root(session: str | None) -> Path:
    """The folder of one session's download folders; `None` (a direct call, no browser session) is 'local'."""
    name = session if session is not None and _SESSION.fullmatch(session) else "local"
    return process_root() / name


def new_folder(session: str | None) -> Path:
    """A fresh folder for one event's files; the session's folders older than KEEP_S, and those of
    sessions that ended KEEP_S ago, are deleted."""
    root = session_root(session)
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    limit = time.time() - KEEP_S
    for old in root.iterdir():
        try:
            if old != folder and old.stat().st_mtime < limit:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another event of this session removed it first
            pass
    _sweep_ended()
    return folder


def _sweep_ended() -> None:
    """Delete what events of ended sessions wrote after their end (a search that finished after the tab closed)."""
    now = time.time()
    with _lock:
        due = [s for s, at in _ended.items() if now - at > KEEP_S]
        for session in due:
            del _ended[session]
    for session in due:
        shutil.rmtree(session_root(session), ignore_errors=True)


def end_session(request: gr.Request) -> None:
    """The session's tab closed: delete all its download folders (gradio's unload event calls this)."""
    session = getattr(request, "session_hash", None)
    if session is None or not _SESSION.fullmatch(session):
        return
    shutil.rmtree(session_root(session), ignore_errors=True)
    with _lock:
        _ended[session] = time.time()


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_earlier_runs(folder: str | Path | None = None) -> list[Path]:
    """Delete the temporary folders that earlier, ended runs of the app left; returns those deleted.

    Only glass's own are touched: folders (not links) named glass-run-<pid> or glass-app-<pid>,
    owned by this user, whose process no longer runs.
    """
    base = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _OWN.fullmatch(entry.name)
        if match is None or int(match[1]) == os.getpid():
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or _alive(int(match[1])):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
        log.info("removed %s, left by an earlier run of the app", entry)
    return removed
