"""A batch over Ray: the targets through a pool of glass_core.remote.SearchWorker actors; the driver writes.

Targets go out through Ray's ActorPool and come back as they finish; glass_core.batch.run_batch writes
each one (index, report, resume are the plain loop's). The workers are the app's (glass_core.remote):
one per GPU (or CPU slot), restarted by Ray when their process dies, the target then retried.
Ray is imported only inside functions.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterable, Iterator

from glass_core.batch import Outcome
from glass_core.batch_targets import BatchTarget
from glass_core.presets import Preset
from glass_core.remote import connect, plan_workers  # noqa: F401 (batch_cli and tests import them from here)


def ray_searcher(preset: Preset, overrides: dict[str, Any], device: str | None, weights_root: Path | None,
                 workers: int | None, timelapse: bool = False):
    """A searcher for run_batch: the targets through a pool of SearchWorker actors, results as they finish."""
    from ray.util import ActorPool

    from glass_core.remote import load_on, start_workers, stop_workers

    device, n, resources = plan_workers(device, workers)
    actors = start_workers(device, n, resources, str(weights_root) if weights_root is not None else None)
    load_on(actors, preset)

    def search(todo: Iterable[BatchTarget]) -> Iterator[Outcome]:
        pool = ActorPool(actors)
        targets = iter(todo)

        def submit(count: int) -> None:
            # Pictures travel by value: a worker on another machine need not see the driver's files.
            for target in itertools.islice(targets, count):
                pool.submit(lambda actor, t: actor.search_target.remote(preset, t.with_data(), overrides, timelapse),
                            target)

        try:
            # One target per worker, the next as one finishes (not map_unordered, which takes every
            # target at once): each picture is read when its turn comes.
            submit(len(actors))
            while pool.has_next():
                outcome = pool.get_next_unordered()
                submit(1)
                yield outcome
        finally:
            stop_workers(actors)

    return search, device, n
