"""A preset's first search downloads its weights: the page shows each file's bytes, speed and time left.

The models load in a thread of their own, inside glass_core.downloads.watching, while the search's
generator yields one progress line every half second; Stop makes the download end (DownloadStopped)
with its partial file kept, so the next search resumes it.
"""

from __future__ import annotations

import threading
from typing import Callable, Generator, TypeVar

from glass_core.downloads import DownloadStopped, Progress, watching

T = TypeVar("T")
EVERY_S = 0.5  # how often the page's progress line changes while the weights arrive


def size(n: float) -> str:
    """Bytes as people read them: 512 B, 3.4 MB, 1.2 GB."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def duration(seconds: float | None) -> str:
    """Time left as '42 s', '3 min 5 s', or '?' when it cannot be told yet."""
    if seconds is None:
        return "?"
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


def file_line(p: Progress) -> str:
    """One file's line: name, bytes of the total, speed, time left."""
    if p.finished:
        return f"- `{p.file}`: {size(p.done)}, done"
    share = f" of {size(p.total)} ({100 * p.done / p.total:.0f} %)" if p.total else ""
    return f"- `{p.file}`: {size(p.done)}{share} · {size(p.speed)}/s · {duration(p.seconds_left)} left"


def progress_text(preset: str, files: dict[str, Progress]) -> str:
    """The page's progress box while a preset's weights download (one line per file)."""
    head = f"Downloading the weights of {preset} (first search only; **Stop** pauses it, the next search resumes):"
    if not files:
        return head + "\n- starting… (CLIP and GPT-2 come through the Hugging Face hub: their progress is in the log)"
    return "\n".join([head, *(file_line(p) for p in files.values())])


def stopped_text(preset: str, files: dict[str, Progress]) -> str:
    """What the page says once Stop has ended a download."""
    got = ", ".join(f"`{p.file}` {size(p.done)}" + (f" of {size(p.total)}" if p.total else "")
                    for p in files.values())
    return (f"Download of {preset}'s weights stopped ({got or 'nothing yet'}); the next search resumes it"
            " where it stopped.")


def load_watched(preset: str, load: Callable[[], T], stop: Callable[[], bool],
                 every: float = EVERY_S) -> Generator[str, None, T | None]:
    """Run `load` in a thread, yielding progress lines until it ends; its result, or None when stopped.

    `load`'s errors are raised here, in the caller's thread. Closing this generator (the tab closed)
    stops the download too.
    """
    files: dict[str, Progress] = {}
    lock, closed, done = threading.Lock(), threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def report(progress: Progress) -> None:
        with lock:
            files[progress.file] = progress

    def work() -> None:
        try:
            with watching(report, cancelled=lambda: closed.is_set() or stop()):
                outcome["value"] = load()
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread below
            outcome["error"] = err
        finally:
            done.set()

    threading.Thread(target=work, name=f"glass-download-{preset}", daemon=True).start()
    try:
        while not done.wait(every):
            with lock:
                yield progress_text(preset, files)
    finally:
        closed.set()  # the generator closed early: end the download; the .part file stays
    error = outcome.get("error")
    if isinstance(error, DownloadStopped):
        with lock:
            yield stopped_text(preset, files)
        return None
    if error is not None:
        raise error
    return outcome["value"]  # type: ignore[return-value]
