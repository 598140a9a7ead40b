"""One process owns a batch folder: a second is refused in one line, and kill -9 leaves a lock that is taken over."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from glass_core.batch.index import read_index
from glass_core.batch.lock import LOCK, FolderBusyError, acquire, folder_lock
from glass_core.weights import REPO_WEIGHTS
from test_batch import captions_file, index, run, searches  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[1]
MANY = [f"a {colour} {digit} on a {ground} background" for colour, digit, ground in
        [("red", 3, "blue"), ("green", 4, "black"), ("white", 7, "magenta"), ("yellow", 2, "black"),
         ("blue", 5, "white"), ("cyan", 1, "red"), ("magenta", 8, "green"), ("black", 0, "yellow")]]
SLOW = ["--generations", "12", "--pop-size", "8"]  # long enough to be caught mid-run


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def write_lock(out: Path, **fields) -> None:
    out.mkdir(exist_ok=True)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (out / LOCK).write_text(json.dumps({"host": socket.gethostname(), "started": now, **fields}))


def test_a_second_holder_is_refused_naming_the_first_and_the_lock_goes_when_it_ends(tmp_path):
    with folder_lock(tmp_path):
        held = json.loads((tmp_path / LOCK).read_text())
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname() and held["started"]
        with folder_lock(tmp_path):  # the same process, nested (the batch command, then run_batch)
            pass
        assert (tmp_path / LOCK).exists()
        with pytest.raises(FolderBusyError, match=f"in use by another batch \\(pid {os.getpid()} on"):
            acquire(tmp_path)  # what another process would get
    assert not (tmp_path / LOCK).exists()
    with pytest.raises(RuntimeError), folder_lock(tmp_path):
        raise RuntimeError("the batch failed")
    assert not (tmp_path / LOCK).exists()


@pytest.mark.parametrize("lock, stale", [
    ({"pid": "dead"}, True),  # killed -9: its pid is no longer alive here
    (None, True),  # killed between creating the file and writing it
    ({"pid": "dead", "host": "elsewhere.example"}, False),  # another host: its pid cannot be checked
    ({"pid": 1}, False),  # alive
    ({"pid": "me", "started": "2000-01-01T00:00:00+00:00"}, True),  # its pid now names a later process
])
def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, lock, stale):
    if lock is None:
        (tmp_path / LOCK).write_text("")
    else:
        pid = {"dead": dead_pid(), "me": os.getpid()}.get(lock["pid"], lock["pid"])
        write_lock(tmp_path, **{**lock, "pid": pid})
    if stale:
        assert acquire(tmp_path)["pid"] == os.getpid()
    else:
        with pytest.raises(FolderBusyError, match=f"delete {tmp_path / LOCK}"):
            acquire(tmp_path)


def batch_process(targets: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "glass_core", "batch", str(targets), "--preset", "mini_gan",
                             "--out", str(out), "--device", "cpu", "--weights", str(REPO_WEIGHTS), *SLOW],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, process: subprocess.Popen, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def lines(out: Path) -> int:
    path = out / "index.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_two_batches_on_one_folder_search_and_record_each_target_once(tmp_path, capsys, searches):
    targets, out = captions_file(tmp_path, MANY[:4]), tmp_path / "out"
    first = batch_process(targets, out)
    wait_for(lambda: (out / LOCK).exists(), first)
    assert run(targets, out, *SLOW) == 2  # the second, while the first runs (it refuses at once)
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert f"in use by another batch (pid {first.pid} on {socket.gethostname()}" in err
    assert first.wait(timeout=300) == 0 and searches == []
    rows = index(out)
    assert sorted(r["target"]["caption"] for r in rows) == sorted(MANY[:4]) and len({r["key"] for r in rows}) == 4
    assert run(targets, out, *SLOW) == 0 and searches == []  # all done: nothing searched again
    assert not (out / LOCK).exists()


def test_kill_9_mid_run_again_and_again_loses_and_duplicates_nothing(tmp_path):
    targets, out = captions_file(tmp_path, MANY), tmp_path / "out"
    rng = random.Random(0)
    for _ in range(3):
        before = lines(out)
        process = batch_process(targets, out)
        wait_for(lambda: lines(out) > before, process)  # at least one more target finished ...
        time.sleep(rng.uniform(0, 0.4))  # ... then killed anywhere in the next one
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert (out / LOCK).exists()  # left behind, and taken over by the next run
    assert lines(out) < len(MANY)
    assert run(targets, out, *SLOW) == 0
    rows = read_index(out)
    assert sorted(r["target"]["caption"] for r in rows) == sorted(MANY)  # each recorded once
    assert len({r["key"] for r in rows}) == len(MANY) and {r["status"] for r in rows} == {"ok"}
    named = set()
    for r in rows:  # every result file is the one its row describes
        picture, card_file = (out / name for name in r["files"])
        card = json.loads(card_file.read_text())
        assert card["result"]["image"] == picture.name and card["result"]["similarity"] == r["similarity"]
        assert card["seed"] == r["seed"] and card["target"]["caption"] == r["target"]["caption"]
        named |= set(r["files"])
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == named | {"index.jsonl", "report.html"}
    assert not (out / LOCK).exists()
