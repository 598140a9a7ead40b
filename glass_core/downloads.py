"""Downloads from plain URLs (BigGAN, StyleGAN2): resumable, checked, atomic, from the first source that works.

Downloads (`fetch_files`) try each source in order. A file is streamed into a `.part` file in
the download cache (`$GLASS_CACHE`, default ~/.cache/glass/downloads), outside `weights/`, so an
interrupted download resumes there with an HTTP Range request and a failed one leaves `weights/`
exactly as it was. Only once every file of a model is complete, its size matches Content-Length
and its SHA-256 is computed are the files moved into `weights/` (a temporary file in the target
folder, then os.replace), each with `<file>.sha256.json` beside it; later loads check the file
against that record (`verify`).

A caller can watch the transfers and stop them: inside `with watching(report, cancelled):` every
download of this thread hands `report` a `Progress` (file, bytes, speed, time left) as bytes arrive,
and ends with DownloadStopped as soon as `cancelled()` is true; its `.part` file stays, so the next
try resumes it.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from glass_core.errors import GlassError, MissingWeightsError

from glass_core.weights import RECORD_SUFFIX, TIMEOUT_S, DamagedWeightsError, download_cache, is_offline

_CHUNK = 1 << 20
_REPORT_EVERY_S = 0.25  # progress reports a watcher gets, at most this often per file (and at its end)


@dataclass(frozen=True)
class Progress:
    """How one file's download is going."""

    file: str
    done: int  # bytes in the partial file, an earlier try's included
    total: int | None  # None when the server does not say
    speed: float  # bytes per second in this try
    finished: bool = False

    @property
    def seconds_left(self) -> float | None:
        """The time left at the current speed, when it can be told."""
        if self.finished:
            return 0.0
        if self.total is None or self.speed <= 0:
            return None
        return max(self.total - self.done, 0) / self.speed


class DownloadStopped(GlassError):
    """The person stopped a download; its partial file is kept and resumed by the next try."""


@dataclass(frozen=True)
class _Watch:
    report: Callable[[Progress], None]
    cancelled: Callable[[], bool]


_WATCH: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar("glass_download_watch", default=None)


@contextlib.contextmanager
def watching(report: Callable[[Progress], None], cancelled: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Within the block, this thread's downloads report their progress and stop when `cancelled()`."""
    token = _WATCH.set(_Watch(report, cancelled))
    try:
        yield
    finally:
        _WATCH.reset(token)


@dataclass(frozen=True)
class Source:
    """One place that serves every file of a model: a name for messages and a URL per file."""

    name: str
    urls: tuple[str, ...]  # in the order of the destinations given to fetch_files
    names: tuple[str, ...] | None = None  # save under these file names instead of the destinations' own


def _open(url: str, start: int = 0):
    """An open response for `url`, asking for bytes from `start` on (tests replace this)."""
    headers = {"User-Agent": "glass"}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)


def _part_path(url: str) -> Path:
    """The resumable partial file for `url` in the download cache."""
    name = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1] or "file"
    return download_cache() / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}.part"


def _content_range_total(resp) -> tuple[int | None, int | None]:
    """(first byte, total size) from a 206 response's Content-Range, when it has one."""
    value = resp.headers.get("Content-Range") or ""
    try:
        span, total = value.split(" ", 1)[1].split("/")
        return int(span.split("-")[0]), (int(total) if total != "*" else None)
    except (IndexError, ValueError):
        return None, None


def _hash_file(path: Path, digest=None):
    digest = digest or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest


def download_to_part(url: str, label: str) -> tuple[Path, str, int]:
    """Download `url` into its `.part` file (resuming one left by an earlier try).

    Returns (part file, SHA-256, size). Raises OSError when the transfer fails or ends short of
    Content-Length; the `.part` file stays in the download cache for the next try.
    """
    from tqdm import tqdm

    watch = _WATCH.get()
    if watch is not None and watch.cancelled():
        raise DownloadStopped(f"The download of {label} was stopped before it started.")
    part = _part_path(url)
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.is_file() else 0
    with contextlib.closing(_open(url, have)) as resp:
        status = getattr(resp, "status", None) or resp.getcode()
        first, total = _content_range_total(resp) if status == 206 else (None, None)
        if have and (status != 206 or first != have):  # the server sent the whole file again
            have = 0
        length = resp.headers.get("Content-Length")
        expected = total if total is not None else (have + int(length) if length else None)
        digest = _hash_file(part) if have else hashlib.sha256()
        # read1 hands over what has arrived (a slow server still reports, and Stop is heard, at once).
        read = getattr(resp, "read1", resp.read)
        meter = _Meter(watch, label, have, expected)
        with open(part, "ab" if have else "wb") as out, \
                tqdm(total=expected, initial=have, unit="B", unit_scale=True, desc=label, leave=False) as bar:
            while chunk := read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
                meter.add(len(chunk), out)
    size = part.stat().st_size
    meter.end(size)
    if expected is not None and size != expected:
        if size > expected:  # cannot be resumed into anything sensible
            part.unlink()
        raise OSError(f"got {size} of {expected} bytes")
    if size == 0:
        part.unlink()
        raise OSError("the server sent an empty file")
    return part, digest.hexdigest(), size


class _Meter:
    """One transfer's reports to the watcher (if any): bytes, speed; stops it when the watcher says so."""

    def __init__(self, watch: _Watch | None, label: str, have: int, expected: int | None):
        self.watch, self.label, self.done, self.expected = watch, label, have, expected
        self.start = self.last = time.monotonic()
        self.first = have
        self._report(False)

    def _report(self, finished: bool) -> None:
        if self.watch is not None:
            speed = (self.done - self.first) / max(time.monotonic() - self.start, 1e-6)
            self.watch.report(Progress(self.label, self.done, self.expected, speed, finished))

    def add(self, n: int, out) -> None:
        """`n` more bytes written to `out`; report now and then; stop (the bytes on disk) when cancelled."""
        self.done += n
        if self.watch is None:
            return
        if self.watch.cancelled():
            out.flush()  # what arrived stays in the .part file: the next try resumes after it
            raise DownloadStopped(f"The download of {self.label} was stopped at {self.done:,} bytes;"
                                  " it resumes from there next time.")
        if time.monotonic() - self.last >= _REPORT_EVERY_S:
            self.last = time.monotonic()
            self._report(False)

    def end(self, size: int) -> None:
        """The transfer is over: the last report."""
        self.done = size
        self._report(self.expected is None or size == self.expected)


def record_path(file: Path) -> Path:
    """Where the SHA-256 of a downloaded file is recorded: `<file>.sha256.json` beside it."""
    return file.with_name(file.name + RECORD_SUFFIX)


def _write_atomically(dest: Path, write) -> None:
    """Write through a temporary file in dest's folder, then os.replace it into place."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _make_dirs(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created (deepest last), so that they can be removed."""
    missing = []
    for p in [folder, *folder.parents]:
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        p.mkdir(exist_ok=True)
    return list(reversed(missing))


def _commit(parts: Sequence[tuple[Path, str, int]], dests: Sequence[Path], source: str, urls: Sequence[str]) -> None:
    """Move complete downloads into weights/: all of them, with their records, or none."""
    created: list[Path] = []
    placed: list[Path] = []
    try:
        for (part, sha, size), dest, url in zip(parts, dests, urls):
            created += _make_dirs(dest.parent)
            with open(part, "rb") as src:
                _write_atomically(dest, lambda f, src=src: shutil.copyfileobj(src, f, _CHUNK))
            placed.append(dest)
            record = {"sha256": sha, "size": size, "source": source, "url": url}
            _write_atomically(record_path(dest), lambda f, r=record: f.write(json.dumps(r, indent=1).encode()))
            placed.append(record_path(dest))
    except BaseException:
        for p in placed:
            with contextlib.suppress(OSError):
                p.unlink()
        for d in reversed(created):
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    for part, _, _ in parts:
        with contextlib.suppress(OSError):
            part.unlink()


def fetch_files(sources: Sequence[Source], dests: Sequence[Path], what: str) -> list[Path]:
    """`dests` if all present (checked against their records), else downloaded from the first source that works.

    Each source serves every file; a source that fails for any file is passed over for the next.
    Nothing reaches `weights/` until every file of one source is complete and checked; when all
    sources fail, MissingWeightsError names each one tried and why it failed.
    """
    dests = [Path(d) for d in dests]
    if all(d.is_file() for d in dests):
        for d in dests:
            verify(d, what)
        return dests
    where = " and ".join(str(d) for d in dests)
    if is_offline():
        urls = "; ".join(f"{s.name}: {', '.join(s.urls)}" for s in sources)
        raise MissingWeightsError(what, f"Download it ({urls}) and save it as {where}."
                                        " (offline mode is on, so glass did not try)")
    with _lock(dests[0]):  # two searches loading one model: one downloads, the other waits and reuses it
        if all(d.is_file() for d in dests):
            return dests
        return _fetch_from_sources(sources, dests, what, where)


def _fetch_from_sources(sources: Sequence[Source], dests: list[Path], what: str, where: str) -> list[Path]:
    tried = []
    for source in sources:
        targets = [d.with_name(n) for d, n in zip(dests, source.names)] if source.names else dests
        try:
            parts = [download_to_part(url, dest.name) for url, dest in zip(source.urls, targets)]
        # URLError, HTTPError and timeouts are OSErrors; a connection cut mid-body can be IncompleteRead.
        except (OSError, ValueError, http.client.HTTPException) as err:
            tried.append(f"{source.name} ({err})")
            continue
        _commit(parts, targets, source.name, source.urls)
        return targets
    raise MissingWeightsError(what, f"Tried {len(tried)} source{'s' * (len(tried) != 1)}: {'; '.join(tried)}."
                                    f" Download it by hand and save it as {where}.")


@contextlib.contextmanager
def _lock(dest: Path):
    """An exclusive lock, in the download cache, on downloading into `dest` (POSIX; none elsewhere)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    folder = download_cache()
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(Path(dest).resolve()).encode()).hexdigest()[:16]
    with open(folder / f"{key}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def url_file(url: str | Sequence[str], dest: Path, what: str) -> Path:
    """`dest` if present, else downloaded from the first of the URLs that works (see fetch_files).

    A mirror whose file has another name is saved under that name, beside `dest`.
    """
    urls = [url] if isinstance(url, str) else list(url)
    found = [Source(urllib.parse.urlsplit(u).hostname or u, (u,), (u.rsplit("/", 1)[-1],)) for u in urls]
    return fetch_files(found, [dest], what)[0]


def verify(file: Path, what: str) -> None:
    """Check a file against the size and SHA-256 recorded when it was downloaded (if it was)."""
    record_file = record_path(file)
    if not record_file.is_file():
        return  # put there by hand: nothing to compare with
    try:
        record = json.loads(record_file.read_text())
        expected, size = str(record["sha256"]), int(record["size"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DamagedWeightsError(what, f"{record_file} cannot be read ({err}); delete it to accept {file} as it is.")
    fix = f" Delete {file} and {record_file} to download it again."
    actual_size = file.stat().st_size
    if actual_size != size:
        raise DamagedWeightsError(what, f"{file} is {actual_size} bytes, but {size} were downloaded:"
                                        f" it was changed or cut short.{fix}")
    actual = _hash_file(file).hexdigest()
    if actual != expected:
        raise DamagedWeightsError(what, f"{file} does not match the SHA-256 recorded when it was downloaded"
                                        f" ({expected[:12]}…, now {actual[:12]}…): it was changed or damaged.{fix}")

