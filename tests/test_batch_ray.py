"""`batch --ray`: two local CPU workers, the same index and results as the plain loop, a dying worker retried."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glass_core.cli import main
from ray_hooks import CRASH_CAPTION
from test_batch import CAPTIONS, captions_file, index, run

TESTS = Path(__file__).resolve().parent

@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local Ray of 2 CPUs whose workers run tests/ray_hooks.crash_once when they start."""
    import ray

    marker = tmp_path_factory.mktemp("ray") / "crashed"
    env = {"GLASS_TEST_CRASH_MARKER": str(marker), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": env, "worker_process_setup_hook": "ray_hooks.crash_once"})
    print(f"ray.init: {time.perf_counter() - start:.1f} s")
    yield marker
    ray.shutdown()


def test_two_workers_finish_a_batch_although_one_dies_mid_target(tmp_path, local_ray):
    out, plain = tmp_path / "ray", tmp_path / "plain"
    targets = captions_file(tmp_path, CAPTIONS)
    assert CRASH_CAPTION in CAPTIONS
    start = time.perf_counter()
    assert run(targets, out, "--ray", "--workers", "2") == 0
    print(f"4 targets on 2 Ray workers, one killed: {time.perf_counter() - start:.1f} s")
    crashed_pid = int(local_ray.read_text())  # the worker that took CRASH_CAPTION died ...
    with pytest.raises(ProcessLookupError):
        os.kill(crashed_pid, 0)
    rows = {r["target"]["caption"]: r for r in index(out)}  # ... and its target was searched again
    assert sorted(rows) == sorted(CAPTIONS) and {r["status"] for r in rows.values()} == {"ok"}
    assert len(index(out)) == 4 and all((out / f).is_file() for r in rows.values() for f in r["files"])
    assert all(r["files"][0] in (out / "report.html").read_text() for r in rows.values())
    # The workers ran glass_core.batch.run.search_target as the plain loop does: the same results.
    assert run(targets, plain) == 0
    for r in index(plain):
        assert rows[r["target"]["caption"]]["similarity"] == pytest.approx(r["similarity"], abs=1e-5)
        assert rows[r["target"]["caption"]]["files"] == r["files"] and rows[r["target"]["caption"]]["seed"] == r["seed"]


def test_a_ray_batch_resumes_like_the_plain_one(tmp_path, local_ray):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:2]), out) == 0  # plain first
    assert run(captions_file(tmp_path, CAPTIONS[:3]), out, "--ray", "--workers", "2") == 0
    assert [r["target"]["caption"] for r in index(out)] == CAPTIONS[:3]  # only the new one searched


def test_missing_weights_on_the_workers_are_one_line(tmp_path, local_ray, capsys):
    status = main(["batch", str(captions_file(tmp_path, CAPTIONS[:1])), "--preset", "DeepMindBigGAN256",
                   "--out", str(tmp_path / "out"), "--weights", str(tmp_path), "--ray", "--workers", "1"])
    err = capsys.readouterr().err
    assert status == 2 and "error: Missing weights: BigGAN biggan-deep-256" in err and "Traceback" not in err


def test_one_worker_per_gpu_else_per_cpu(monkeypatch):
    import ray

    from glass_core.remote import plan_workers
    from glass_core.errors import BadInputError

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 16.0, "GPU": 2.0})
    assert plan_workers(None, None) == ("cuda", 2, {"num_gpus": 1, "num_cpus": 1})
    assert plan_workers("cpu", 3) == ("cpu", 3, {"num_cpus": 1})
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 4.0})
    assert plan_workers(None, None) == ("cpu", 4, {"num_cpus": 1})
    with pytest.raises(BadInputError, match="no GPU"):
        plan_workers("cuda", None)


def test_ray_is_imported_only_for_ray_batches():
    code = ("import sys, glass_core.cli, glass_core.batch.cli, glass_core.batch.run, glass_core.batch.report;"
            "sys.exit('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=TESTS.parent).returncode == 0


def test_ray_workers_take_targets_as_they_free_up_so_pictures_are_read_in_turn(local_ray):
    """Each picture is read (BatchTarget.with_data) when its turn comes, not all before the first search."""
    from glass_core.remote import ray_searcher
    from glass_core.batch.targets import BatchTarget
    from glass_core.presets import get_preset

    taken: list[int] = []

    def targets():
        for i, caption in enumerate(CAPTIONS[:3]):
            taken.append(i)
            yield BatchTarget(i, caption=caption, seed=i)

    overrides = {"generations": 1, "pop_size": 4}
    searcher, _, n = ray_searcher(get_preset("mini_gan", **overrides), overrides, "cpu", None, 1)
    outcomes = searcher(targets())
    first = next(outcomes)
    assert n == 1 and first.error is None and taken == [0, 1]  # the one in flight, and the one sent after it
    assert sorted(o.target.index for o in [first, *outcomes]) == [0, 1, 2] and taken == [0, 1, 2]


def test_ray_workers_send_back_the_timelapses(tmp_path, local_ray):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:2]), out, "--ray", "--workers", "2", "--timelapse") == 0
    rows = index(out)
    assert len(rows) == 2 and all((out / r["timelapse"]).stat().st_size > 0 for r in rows)
    assert all("timelapse" in r["timelapse"] for r in rows)
