"""The app's searches on a Ray cluster: the remote path's cost per generation, and what a second node gives.

`python -m experiments.ray_overhead` starts a local cluster (experiments.local_cluster: a head with no
CPU and worker nodes of 1 CPU each, started where glass_core is not importable) and measures, on the
mini preset:

1. ms per generation of the same search in this process (one torch thread, as a Ray CPU worker has)
   and streamed from a SearchWorker on a worker node (glass_core.remote.stream), alternating, medians
   over --repeats; the difference is the remote path's overhead per generation;
2. searches per minute when 4 and 8 visitors search at once through the app's /text_to_image endpoint
   (gradio_client, GLASS_RAY_ADDRESS set), on 1 and then 2 worker nodes (median over --repeats).

Writes benchmarks/ray_overhead.{md,json} (see --out) with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from experiments.common import command, describe_machine, new_record, table, write_record
from experiments.local_cluster import LocalCluster

OUT = Path("benchmarks") / "ray_overhead"
PRESET = "mini_gan"
CAPTION = "a red seven on a blue background"


def _per_generation(args: argparse.Namespace) -> dict:
    """ms per generation, here and streamed from a worker node, alternating; medians over the repeats."""
    import torch

    from glass_app import remote as app_remote
    from glass_core import remote
    from glass_core.pipeline import Pipeline
    from glass_core.presets import get_preset

    torch.set_num_threads(1)
    preset, settings = get_preset(PRESET), {"generations": args.generations, "pop_size": args.pop_size}
    pipe = Pipeline.from_preset(preset, device="cpu")
    actor = app_remote.workers().actors[0]
    remote.load_on([actor], preset)

    def here(seed: int) -> float:
        start = time.perf_counter()
        n = sum(1 for _ in pipe.search(CAPTION, **settings, seed=seed))
        return (time.perf_counter() - start) * 1000 / n

    def there(seed: int) -> float:
        start = time.perf_counter()
        n = sum(1 for _ in remote.stream(actor, preset, CAPTION, {**settings, "seed": seed}))
        return (time.perf_counter() - start) * 1000 / n

    here(0), there(0)  # warm-up: first calls, caches
    local, remote_ms = [], []
    for r in range(args.repeats):
        local.append(here(r + 1))
        remote_ms.append(there(r + 1))
    return {"local_ms": local, "remote_ms": remote_ms, "local_median": statistics.median(local),
            "remote_median": statistics.median(remote_ms),
            "overhead_ms": statistics.median(remote_ms) - statistics.median(local)}


def _app_throughput(url: str, visitors: int, args: argparse.Namespace) -> float:
    """Searches per minute when `visitors` clients each run one search at once through the app."""
    from gradio_client import Client

    def one(_: int) -> None:
        client = Client(url, verbose=False, analytics_enabled=False)
        client.predict(CAPTION, PRESET, args.app_generations, args.pop_size, 0, False, api_name="/text_to_image")

    start = time.perf_counter()
    with ThreadPoolExecutor(visitors) as pool:
        list(pool.map(one, range(visitors)))
    return visitors * 60 / (time.perf_counter() - start)


def _serve_app(cluster: LocalCluster):
    """The app on the cluster, with one worker per worker node (its workers started and loaded)."""
    import ray

    import app
    from glass_app import remote as app_remote
    from glass_core import remote
    from glass_core.presets import get_preset

    if app_remote._workers is not None:  # a fresh pool for the new node count
        for actor in app_remote._workers.actors:
            ray.kill(actor)
        app_remote._workers = None
    remote.connect(cluster.address)  # with glass shipped in the job's runtime_env
    while ray.cluster_resources().get("CPU", 0) < len(cluster.workers):
        time.sleep(0.5)
    os.environ[app_remote.ADDRESS] = cluster.address
    from glass_app.remote import workers

    remote.load_on(workers().actors, get_preset(PRESET))
    return app.serve("127.0.0.1", _free_port(), prevent_thread_lock=True, quiet=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    """Measure, then write the record and its markdown."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--generations", type=int, default=40, help="per search of the overhead measurement")
    p.add_argument("--app-generations", type=int, default=20, help="per search of the throughput measurement")
    p.add_argument("--pop-size", type=int, default=16)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    import ray

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    cluster, started = LocalCluster(), time.perf_counter()
    throughput: dict[str, dict[str, list[float]]] = {}
    try:
        cluster.wait_ready()
        cluster.add_worker()
        assert not cluster.glass_importable()
        demo = _serve_app(cluster)
        per_gen = _per_generation(args)
        for nodes in (1, 2):
            if nodes == 2:
                demo.close()
                cluster.add_worker()
                demo = _serve_app(cluster)
            for visitors in (4, 8):
                if visitors == 4:  # warm-up: the new pool's first search
                    _app_throughput(demo.local_url, 1, args)
                runs = [_app_throughput(demo.local_url, visitors, args) for _ in range(args.repeats)]
                throughput.setdefault(str(nodes), {})[str(visitors)] = runs
        demo.close()
    finally:
        ray.shutdown()
        cluster.close()
    wall = time.perf_counter() - started
    med = {n: {v: statistics.median(r) for v, r in d.items()} for n, d in throughput.items()}
    record = new_record(command("experiments.ray_overhead", argv), preset=PRESET, settings=vars(args) | {
        "out": str(args.out)}, per_generation=per_gen, throughput_per_minute=throughput,
        throughput_median=med, wall_seconds=round(wall, 1))
    write_record(record, args.out, _markdown(record))
    print(_markdown(record))


def _markdown(r: dict) -> str:
    """The record for a person."""
    g, med, s = r["per_generation"], r["throughput_median"], r["settings"]
    lines = [f"# glass on a Ray cluster: overhead and throughput ({r['date']})", "",
             f"Machine: {describe_machine(r['machine'])}; load average {r['machine']['load_average_1m']} when it"
             " ended. **This machine has 2 cores shared with other agents' work**: the head, the worker nodes,"
             " the app and the gradio clients all run on them, so the figures are a lower bound and noisy.",
             f"Command: `{r['command']}` ({r['wall_seconds']} s of wall clock). Preset `{r['preset']}`,"
             f" population {s['pop_size']}; medians over {s['repeats']} repeats.", "",
             f"## Per generation ({s['generations']} generations a search)", "",
             *table(["path", "ms / generation (median)", "runs"],
                    [["in this process (1 torch thread)", f"{g['local_median']:.1f}",
                      ", ".join(f"{x:.1f}" for x in g["local_ms"])],
                     ["streamed from a worker node", f"{g['remote_median']:.1f}",
                      ", ".join(f"{x:.1f}" for x in g["remote_ms"])]]),
             "", f"Overhead of the remote path: **{g['overhead_ms']:.1f} ms per generation**.", "",
             f"## Concurrent app searches ({s['app_generations']} generations each, through /text_to_image)", "",
             *table(["visitors at once", "1 worker node (searches/min)", "2 worker nodes (searches/min)",
                     "2 nodes / 1 node"],
                    [[v, f"{med['1'][v]:.1f}", f"{med['2'][v]:.1f}", f"{med['2'][v] / med['1'][v]:.2f}×"]
                     for v in ("4", "8")]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
