"""The app and the batch on a real two-node Ray cluster whose worker node cannot import glass_core.

A head node (no CPU: nothing runs there) and a worker node (1 CPU), each a `ray start --block` of its own
process group, started from an empty folder with a PYTHONPATH that lacks the repository: glass reaches the
worker through runtime_env. Each test ends only what it started (its node's process group), never `ray stop`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client.exceptions import AppError

from app_support import CAPTION, app_presets, named, served, wait_for  # noqa: F401  (fixtures)
from experiments.local_cluster import LocalCluster
from glass_app.handlers import ImageUpdate
from test_batch import CAPTIONS, captions_file, index

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    """The module's cluster: a head and one worker node; every node it started is killed at the end."""
    import ray

    start = time.perf_counter()
    c = LocalCluster()
    try:
        c.wait_ready()
        c.add_worker()
        assert not c.glass_importable()
        print(f"cluster up: {time.perf_counter() - start:.1f} s")
        yield c
    finally:
        from glass_app import remote

        remote._workers = None
        ray.shutdown()
        c.close()


@pytest.fixture
def on_cluster(cluster, monkeypatch):
    """The app's searches go to the cluster."""
    import ray

    monkeypatch.setenv("GLASS_RAY_ADDRESS", cluster.address)
    yield cluster
    assert ray.is_initialized()


def test_the_app_streams_each_generation_from_a_worker_that_got_glass_through_runtime_env(on_cluster, served):
    import ray

    from glass_app import remote

    job = served.client().submit(CAPTION, served.presets["text2image"], 5, 8, 0, False, api_name="/text_to_image")
    job.result(timeout=180)
    outputs = [named(out, ImageUpdate) for out in job.outputs()]
    assert [o["progress"].split(" · ")[0] for o in outputs] == [f"Generation {k} of 5" for k in range(1, 6)]
    assert outputs[-1]["files"] and not served.spy.iterators  # searched remotely: no Pipeline.search here
    where = ray.get(remote.workers().actors[0].where.remote())
    assert where["node"] != ray.get_runtime_context().get_node_id()  # not the head, where this process is
    assert "runtime_resources" in where["code"] and not where["code"].startswith(str(REPO))
    assert "cache" in where["weights"] and where["weights_root"].startswith(str(on_cluster.folder))
    assert where["weights"] in on_cluster.worker_logs()  # the worker says where its weights come from
    assert remote.concurrency() == 1  # the app's concurrency: one search per worker


def _ended(cluster: LocalCluster) -> list[int]:
    """The generation at which each remote search ended, in order, from the workers' logs."""
    return [int(n) for n in re.findall(r"search ended at generation (\d+) of", cluster.worker_logs())]


def test_cancel_and_stop_end_the_remote_search(on_cluster, served):
    from glass_app import handlers
    from glass_app.state import Control

    before = len(_ended(on_cluster))
    job = served.client().submit(CAPTION, served.presets["text2image"], 1000, 8, 0, False, api_name="/text_to_image")
    assert wait_for(lambda: len(job.outputs()) >= 3, timeout=120)
    job.cancel()
    assert wait_for(lambda: len(_ended(on_cluster)) == before + 1, timeout=60)
    print(f"cancelled after {len(job.outputs())} updates; the worker's search ended at generation {_ended(on_cluster)}")
    assert _ended(on_cluster)[-1] < 1000
    # Stop: the handler's generator ends after the next record; the worker's search with it.
    control = Control()
    updates = handlers.text_to_image(CAPTION, served.presets["text2image"], 1000, 8, 1, False, control)
    for k, update in enumerate(updates, 1):
        if k == 2:
            control.stop = True
    assert k == 3 and "Generation 3 of 1000" in update.progress
    assert wait_for(lambda: len(_ended(on_cluster)) == before + 2, timeout=60)
    # The worker runs at most 2 records ahead of the page (backpressure), then sees the cancel after one more.
    assert _ended(on_cluster)[-1] <= 3 + 3, _ended(on_cluster)


def test_a_dead_worker_node_gives_one_message_and_the_next_search_runs(on_cluster, served):
    from glass_app import remote

    assert remote.concurrency() == 1
    job = served.client().submit(CAPTION, served.presets["text2image"], 1000, 8, 0, False, api_name="/text_to_image")
    assert wait_for(lambda: len(job.outputs()) >= 2, timeout=120)
    on_cluster.kill(on_cluster.workers.pop())
    with pytest.raises(AppError, match="cluster worker running it was lost"):
        job.result(timeout=120)
    on_cluster.add_worker()  # a replacement node (as KubeRay or the autoscaler would start): the actor restarts there
    result = named(served.client().predict(CAPTION, served.presets["text2image"], 3, 8, 0, False,
                                           api_name="/text_to_image"), ImageUpdate)
    assert "Generation 3 of 3" in result["progress"]


def _batch(targets: Path, out: Path, address: str) -> subprocess.Popen:
    """`python -m glass_core batch ... --address` as a driver process of its own."""
    return subprocess.Popen([sys.executable, "-m", "glass_core", "batch", str(targets), "--preset", "mini_gan",
                             "--out", str(out), "--device", "cpu", "--generations", "40", "--pop-size", "8",
                             "--address", address], cwd=REPO, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_a_batch_with_address_completes_and_resumes_after_its_driver_is_killed(tmp_path, cluster):
    import ray

    from glass_app import remote

    if remote._workers is not None:  # the app's worker holds the node's only CPU
        for actor in remote._workers.actors:
            ray.kill(actor)
        remote._workers = None
    if not cluster.workers:
        cluster.add_worker()
    targets, out = captions_file(tmp_path, CAPTIONS), tmp_path / "out"
    driver = _batch(targets, out, cluster.address)
    assert wait_for(lambda: (out / "index.jsonl").is_file() and len(index(out)) >= 1, timeout=180)
    driver.kill()
    driver.wait(30)
    assert len(index(out)) < len(CAPTIONS)
    done_before = len(index(out))
    again = _batch(targets, out, cluster.address)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    rows = index(out)
    assert sorted(r["target"]["caption"] for r in rows) == sorted(CAPTIONS) and {r["status"] for r in rows} == {"ok"}
    assert f"{done_before} already done" in err


def test_without_the_variable_the_app_searches_here_and_never_imports_ray():
    code = ("import sys, app; from glass_app import handlers;"
            "ups = list(handlers.text_to_image('a red seven', 'mini_gan', 2, 8, 0, False));"
            "assert 'Generation 2 of 2' in ups[-1].progress, ups[-1].progress;"
            "assert app.parse_args(['--ray-address', 'auto']).ray_address == 'auto';"
            "sys.exit('ray' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "GLASS_RAY_ADDRESS"}
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**env, "OMP_NUM_THREADS": "1"}).returncode == 0


def test_the_cluster_manifest_and_image_use_the_ray_of_the_requirements():
    import yaml

    pin = next(line.split("==")[1] for line in (REPO / "requirements.txt").read_text().splitlines()
               if line.startswith("ray=="))
    manifest = yaml.safe_load((REPO / "deploy" / "ray-cluster.yaml").read_text())
    assert manifest["kind"] == "RayCluster" and manifest["spec"]["rayVersion"] == pin
    assert manifest["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # searches run on workers only
    worker = manifest["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert {"name": "GLASS_WEIGHTS", "value": "/weights"} in worker["env"]
    assert f"FROM rayproject/ray:{pin}-" in (REPO / "deploy" / "Dockerfile.ray").read_text()
