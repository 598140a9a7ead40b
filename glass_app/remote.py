"""The app's searches on a Ray cluster: with $GLASS_RAY_ADDRESS (or app.py --ray-address) set, every search runs
on a glass_core.remote.SearchWorker somewhere in the cluster and its records stream back to the page.

One actor per GPU (else per CPU slot) is started on the first search; each search borrows a free one for
its whole run and gives it back when the search ends, is stopped or its tab closes (the remote search is
cancelled then). The app lets as many searches run at once as there are workers (`concurrency`); the
rest wait in gradio's queue as they do without Ray. Without the variable nothing here runs and Ray is
never imported.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, Iterator

from glass_core.presets import Preset
from glass_core.records import GenerationRecord

ADDRESS = "GLASS_RAY_ADDRESS"  # a Ray address: "auto", "ray://head:10001", "head:6379"
WORKERS = "GLASS_RAY_WORKERS"  # how many search workers (default: one per GPU, else per CPU of the cluster)


def address() -> str | None:
    """The cluster the app searches on, or None: search in this process."""
    return os.environ.get(ADDRESS) or None


class Workers:
    """The app's search workers, each lent to one search at a time."""

    def __init__(self, addr: str):
        from glass_core import remote

        remote.connect(addr)
        count = os.environ.get(WORKERS)
        device, n, resources = remote.plan_workers(os.environ.get("GLASS_DEVICE"), int(count) if count else None)
        self.device, self.actors = device, remote.start_workers(device, n, resources)
        self.free: queue.Queue = queue.Queue()
        for actor in self.actors:
            self.free.put(actor)

    def records(self, preset: Preset, target: Any, overrides: dict[str, Any],
                initial: Any = None) -> Iterator[GenerationRecord]:
        """The search's records from a free worker (waiting for one if none is); closing this cancels it."""
        from glass_core import remote

        actor = self.free.get()
        try:
            yield from remote.stream(actor, preset, target, overrides, initial)
        finally:  # a restarting actor is lent again: its next search waits for the restart
            self.free.put(actor)


_workers: Workers | None = None
_lock = threading.Lock()


def workers() -> Workers:
    """The app's workers, started (and the cluster joined) on first use."""
    global _workers
    with _lock:
        if _workers is None:
            _workers = Workers(address())
        return _workers


def concurrency() -> int:
    """How many searches the app runs at once on the cluster: one per worker."""
    return len(workers().actors)


def records(preset: Preset, target: Any, overrides: dict[str, Any],
            initial: Any = None) -> Iterator[GenerationRecord]:
    """A search's records from the cluster, as Pipeline.search gives them in-process."""
    return workers().records(preset, target, overrides, initial)
