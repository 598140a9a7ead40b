"""The one Ray search worker: the app's live searches and the batch's targets run on it, anywhere in a cluster.

`SearchWorker` is a Ray actor (one per GPU, else one per CPU slot) that loads each preset's Pipeline
once and then either streams a search's records back as they are made (`search`, called with
num_returns="streaming") or searches a batch target to its end (`search_target`). Its code and the
embedded mini weights travel with Ray's runtime_env (`runtime_env()`), so a node needs neither the
checkout nor weights/ at any path; other weights come from $GLASS_WEIGHTS on the node (shared storage)
or are downloaded once into the node's cache. Ray is imported only by the functions here, never at import.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from glass_core.errors import BadInputError, GlassError

if TYPE_CHECKING:
    import numpy as np

    from glass_core.batch.run import Outcome
    from glass_core.batch.targets import BatchTarget
    from glass_core.pipeline import Pipeline
    from glass_core.presets import Preset
    from glass_core.records import GenerationRecord

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
MAX_RESTARTS = 3  # per actor: a worker that keeps dying is a bug to see, not to retry for ever
MAX_TASK_RETRIES = 3  # per batch target, on the restarted actor (a live search is never replayed)
WORKER_LOST = ("The search stopped: the cluster worker running it was lost (its process or machine died)."
               " It is being restarted; please run the search again.")


class WorkerLostError(GlassError):
    """The actor (or its node) died under a search; Ray restarts it."""


def runtime_env() -> dict[str, Any]:
    """What a node needs to run glass: this checkout's glass_core and weights/mini, nothing else.

    Ray packs a working_dir: a fresh folder that links to just those two (a repository working_dir
    would drop weights/mini, which the .gitignore re-includes with a pattern Ray does not follow).
    """
    import tempfile

    stage = Path(tempfile.mkdtemp(prefix="glass-ship-"))
    (stage / "glass_core").symlink_to(REPO / "glass_core", target_is_directory=True)
    mini = REPO / "weights" / "mini"
    if mini.is_dir():
        (stage / "weights").mkdir()
        (stage / "weights" / "mini").symlink_to(mini, target_is_directory=True)
    return {"working_dir": str(stage), "excludes": ["__pycache__", "*.pyc"]}


def node_weights(weights_root: str | None) -> tuple[Path, str]:
    """The weights folder this worker reads, and one line saying where it comes from.

    Given folder (--weights) > $GLASS_WEIGHTS on the node (shared storage) > the checkout's weights/ when
    the code runs from one > a cache on the node into which downloads land once, with the mini set
    shipped in runtime_env linked into it.
    """
    if weights_root:
        return Path(weights_root), f"weights from the given folder {weights_root}"
    if os.environ.get("GLASS_WEIGHTS"):
        return Path(os.environ["GLASS_WEIGHTS"]), f"weights from GLASS_WEIGHTS={os.environ['GLASS_WEIGHTS']}"
    from glass_core.weights import REPO_WEIGHTS, download_cache

    if not _shipped():  # the code runs from a checkout on this node: its weights/ as everywhere else
        return REPO_WEIGHTS, f"weights from the checkout's {REPO_WEIGHTS}"
    cache = download_cache().parent / "weights"
    cache.mkdir(parents=True, exist_ok=True)
    shipped = REPO_WEIGHTS / "mini"
    link = cache / "mini"
    if shipped.is_dir() and (link.is_symlink() or not link.exists()):
        # The shipped copy's folder changes with the code: repoint the link atomically.
        tmp = cache / f".mini-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(shipped, target_is_directory=True)
        os.replace(tmp, link)
    return cache, f"weights from this node's cache {cache} (mini set shipped with the code; others downloaded once)"


def _shipped() -> bool:
    """Whether this worker's code came with the job's runtime_env (no checkout on the node)."""
    import ray

    return bool(ray.is_initialized() and ray.get_runtime_context().runtime_env.get("working_dir"))


class SearchWorker:
    """A Ray actor holding Pipelines (one per preset, loaded once) for the app's searches and the batch's."""

    def __init__(self, device: str, weights_root: str | None = None):
        self.device = device
        self.root, self.weights_line = node_weights(weights_root)
        log.warning("glass worker pid %d on %s: %s", os.getpid(), device, self.weights_line)

    def pipeline(self, preset: Preset) -> Pipeline:
        """The preset's Pipeline (the process cache keeps its models); says so when it downloads."""
        from glass_core.availability import preset_status
        from glass_core.pipeline import Pipeline

        if preset_status(preset, self.root) == "downloadable":
            log.warning("glass worker pid %d: downloading the weights of %s into %s", os.getpid(), preset.name,
                        self.root)
        return Pipeline.from_preset(preset, device=self.device, weights_root=self.root)

    def load(self, preset: Preset) -> str | None:
        """None once the preset's models are loaded, else why they could not be (e.g. missing weights)."""
        try:
            self.pipeline(preset)
        except GlassError as err:  # one line: Ray would wrap the error in a traceback
            return str(err)
        return None

    def where(self) -> dict[str, Any]:
        """Where this worker runs and from where it loaded its code and weights (for logs and tests)."""
        import glass_core
        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
                "code": str(Path(glass_core.__file__).parent), "weights": self.weights_line,
                "weights_root": str(self.root), "cwd": os.getcwd()}

    def search(self, preset: Preset, target: Any, overrides: dict[str, Any],
               initial: np.ndarray | None = None) -> Iterator[GenerationRecord]:
        """Pipeline.search's records, one per generation: call with num_returns="streaming"."""
        import ray

        records = self.pipeline(preset).search(target, initial=initial, **overrides)
        made, asked = 0, overrides.get("generations", preset.generations)
        context = ray.get_runtime_context()
        try:
            for record in records:
                made += 1
                yield record
                if context.is_canceled():  # ray.cancel only flags a running sync actor task: stop here
                    break
        finally:  # cancelled or closed by the caller: the search and its tensors end here
            records.close()
            _free_gpu(self.device)
            log.warning("glass worker pid %d: search ended at generation %d of %d", os.getpid(), made, asked)

    def search_target(self, preset: Preset, target: BatchTarget, overrides: dict[str, Any],
                      timelapse: bool = False) -> Outcome:
        """glass_core.batch.run.search_target, as the plain loop runs it (with the target's timelapse, if asked)."""
        from glass_core.batch import run as batch

        asked = {"timelapse": True} if timelapse else {}  # the plain call unless asked (tests wrap search_target)
        return batch.search_target(self.pipeline(preset), target, overrides, self.device, **asked)


def _free_gpu(device: str) -> None:
    """Give the finished search's cached GPU memory back, so other processes (and nvidia-smi) see it free."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def connect(address: str | None, ship: bool = True) -> None:
    """Join the cluster at `address` ("auto": the one `ray start` runs here), or start a local Ray.

    With `ship`, glass's code and mini weights go to every worker through the job's runtime_env.
    """
    import ray

    if ray.is_initialized():  # the caller set Ray up already (a notebook, a test)
        return
    env = runtime_env() if ship else None
    stage = env["working_dir"] if env else None  # ray.init replaces it in `env` with the uploaded package's URI
    try:
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env=env)
        else:
            ray.init(include_dashboard=False, log_to_driver=False, runtime_env=env)
    except ConnectionError as err:
        raise BadInputError(f"Cannot join the Ray cluster at {address!r}: {err}") from err
    finally:
        if stage is not None:  # uploaded by ray.init: the links are no longer needed
            shutil.rmtree(stage, ignore_errors=True)


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


def start_workers(device: str, n: int, resources: dict[str, float], weights_root: str | None = None) -> list:
    """`n` SearchWorker actors, restarted by Ray when their process or node dies."""
    import ray

    remote = ray.remote(max_restarts=MAX_RESTARTS, max_task_retries=MAX_TASK_RETRIES, **resources)(SearchWorker)
    return [remote.remote(device, weights_root) for _ in range(n)]


def load_on(actors: list, preset: Preset) -> None:
    """Load the preset on every actor; one clear GlassError (actors killed) if any cannot."""
    import ray

    errors = [e for e in ray.get([a.load.remote(preset) for a in actors]) if e]
    if errors:
        stop_workers(actors)
        raise GlassError(errors[0])


def stream(actor, preset: Preset, target: Any, overrides: dict[str, Any],
           initial: np.ndarray | None = None) -> Iterator[GenerationRecord]:
    """A search on `actor`, its records as they are made; closing this cancels the remote search."""
    import ray
    from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

    # Never replayed after a restart (the page would see generation 1 again); at most 2 records ahead.
    refs = actor.search.options(num_returns="streaming", max_task_retries=0,
                                _generator_backpressure_num_objects=2).remote(preset, target, overrides, initial)
    try:
        for ref in refs:
            yield ray.get(ref)
    except RayTaskError as err:
        if isinstance(err.cause, GlassError):  # a refused input: its own message, not Ray's traceback
            raise err.cause from None
        raise
    except (ActorDiedError, ActorUnavailableError, RayActorError) as err:
        log.warning("search worker lost: %s", err)
        raise WorkerLostError(WORKER_LOST) from None
    finally:
        ray.cancel(refs)  # a no-op once the search has ended


def stop_workers(actors: list) -> None:
    """Kill the actors (a batch's end); Ray does not restart a killed actor."""
    import ray

    for actor in actors:
        ray.kill(actor)


def ray_searcher(preset: Preset, overrides: dict[str, Any], device: str | None, weights_root: Path | None,
                 workers: int | None, timelapse: bool = False):
    """A searcher for glass_core.batch.run.run_batch: the targets through a pool of workers, results as they finish.

    Returns (searcher, device, number of workers); the workers are killed when the searcher ends.
    """
    from ray.util import ActorPool

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
