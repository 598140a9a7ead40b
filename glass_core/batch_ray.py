"""A batch over Ray: one actor per GPU (or per CPU slot), each loading the Pipeline once; the driver writes.

Targets go out through Ray's ActorPool and come back as they finish; glass_core.batch.run_batch writes
each one (index, report, resume are the plain loop's). An actor whose process dies is restarted by Ray
and its target retried (max_restarts / max_task_retries). Ray is imported only here.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterable, Iterator

from glass_core.batch import Outcome
from glass_core.batch_targets import BatchTarget
from glass_core.errors import BadInputError, GlassError
from glass_core.presets import Preset

MAX_RESTARTS = 3  # per actor: a worker that keeps dying is a bug to see, not to retry for ever
MAX_TASK_RETRIES = 3  # per target, on the restarted actor


class BatchWorker:
    """Holds one Pipeline for the life of the actor and searches targets with it."""

    def __init__(self, preset: Preset, device: str, weights_root: str | None):
        from glass_core.errors import GlassError
        from glass_core.pipeline import Pipeline

        self.device, self.pipe, self.error = device, None, None
        try:
            self.pipe = Pipeline.from_preset(preset, device=device, weights_root=weights_root)
        except GlassError as err:  # kept for ready(): Ray would report it inside a traceback
            self.error = str(err)

    def ready(self) -> str | None:
        """None once the models are loaded, else why they could not be (e.g. missing weights)."""
        return self.error

    def search(self, target: BatchTarget, overrides: dict[str, Any], timelapse: bool = False) -> Outcome:
        """glass_core.batch.search_target, as the plain loop runs it."""
        from glass_core import batch

        asked = {"timelapse": True} if timelapse else {}
        return batch.search_target(self.pipe, target, overrides, self.device, **asked)


def connect(address: str | None) -> None:
    """Join the cluster at `address` ("auto": the one `ray start` runs here), or start a local Ray."""
    import ray

    if ray.is_initialized():  # the caller set Ray up already (a notebook, a test)
        return
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, log_to_driver=False)
    except ConnectionError as err:
        raise BadInputError(f"Cannot join the Ray cluster at {address!r}: {err}") from err


def plan_workers(device: str | None, workers: int | None) -> tuple[str, int, dict[str, float]]:
    """(device, how many actors, resources each): one per GPU when there are GPUs, else one per CPU."""
    import ray

    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if device is None:
        device = "cuda" if gpus else "cpu"
    if device.startswith("cuda"):
        if not gpus:
            raise BadInputError(f"--device {device}: the Ray cluster has no GPU.")
        return "cuda", workers or gpus, {"num_gpus": 1, "num_cpus": 1}  # Ray picks each actor's GPU
    if workers is not None and workers < 1:
        raise BadInputError(f"--workers must be at least 1, got {workers}")
    return device, workers or max(cpus, 1), {"num_cpus": 1}


def ray_searcher(preset: Preset, overrides: dict[str, Any], device: str | None, weights_root: Path | None,
                 workers: int | None, timelapse: bool = False):
    """A searcher for run_batch: the targets through a pool of BatchWorker actors, results as they finish."""
    import ray
    from ray.util import ActorPool

    device, n, resources = plan_workers(device, workers)
    remote = ray.remote(max_restarts=MAX_RESTARTS, max_task_retries=MAX_TASK_RETRIES, **resources)(BatchWorker)
    root = str(weights_root) if weights_root is not None else None
    actors = [remote.remote(preset, device, root) for _ in range(n)]
    errors = [e for e in ray.get([a.ready.remote() for a in actors]) if e]
    if errors:
        for actor in actors:
            ray.kill(actor)
        raise GlassError(errors[0])

    def search(todo: Iterable[BatchTarget]) -> Iterator[Outcome]:
        pool = ActorPool(actors)
        targets = iter(todo)

        def submit(count: int) -> None:
            # Pictures travel by value: a worker on another machine need not see the driver's files.
            for target in itertools.islice(targets, count):
                pool.submit(lambda actor, t: actor.search.remote(t.with_data(), overrides, timelapse), target)

        try:
            # One target per worker, the next as one finishes (not map_unordered, which takes every
            # target at once): each picture is read when its turn comes.
            submit(len(actors))
            while pool.has_next():
                outcome = pool.get_next_unordered()
                submit(1)
                yield outcome
        finally:
            for actor in actors:
                ray.kill(actor)

    return search, device, n
