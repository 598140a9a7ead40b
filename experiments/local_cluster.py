"""A Ray cluster of several nodes on this machine, for the tests and the benchmarks of glass on Ray.

Each node is a `ray start --block` in a process group of its own, started from an empty folder with
an environment whose PYTHONPATH lacks the repository, so `import glass_core` fails there: glass must
reach the workers through runtime_env (glass_core.remote). `kill` and `close` end exactly the process
groups started here, never `ray stop` (other Ray clusters may run on the same machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")
# The head notices a dead node within a few seconds (Ray's default takes about 30 s).
HEALTH = {"RAY_health_check_initial_delay_ms": "0", "RAY_health_check_period_ms": "500",
          "RAY_health_check_timeout_ms": "500", "RAY_health_check_failure_threshold": "3"}


class LocalCluster:
    """A head (no CPU: nothing is scheduled there) and worker nodes of 1 CPU each."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="g26", dir="/tmp"))  # short: Ray's socket paths must fit
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GLASS_WEIGHTS", "VIRTUAL_ENV")}
        # No token authentication: ~/.ray/auth_token is shared by every cluster started on this machine.
        self.env.update(HEALTH, RAY_AUTH_MODE="disabled", OMP_NUM_THREADS="1", GLASS_CACHE=str(self.folder / "cache"))
        self.head = self._start("--head", f"--port={self.port}", "--num-cpus=0", "--include-dashboard=false",
                                f"--temp-dir={self.folder / 'ray'}", "--disable-usage-stats")
        self.workers: list[subprocess.Popen] = []

    def _start(self, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"node-{time.monotonic_ns()}.log", "w")
        return subprocess.Popen([RAY, "start", "--block", *args], cwd=self.folder, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def add_worker(self) -> subprocess.Popen:
        """A worker node with 1 CPU."""
        node = self._start(f"--address={self.address}", "--num-cpus=1")
        self.workers.append(node)
        return node

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Return once the head's GCS accepts connections (ray.init gives up sooner than a busy machine starts)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"the Ray head at {self.address} did not start in {timeout:.0f} s")

    def glass_importable(self) -> bool:
        """Whether `import glass_core` works where the nodes run (it must not)."""
        probe = [sys.executable, "-c", "import glass_core"]
        return subprocess.run(probe, cwd=self.folder, env=self.env, capture_output=True).returncode == 0

    def kill(self, node: subprocess.Popen) -> None:
        """SIGKILL the node's process group (its raylet and workers): as when its machine dies."""
        try:
            os.killpg(node.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.wait(30)

    def worker_logs(self) -> str:
        """Everything the Ray workers of this cluster wrote to their logs."""
        files = sorted({p.resolve() for p in (self.folder / "ray").glob("session_*/logs/worker-*")})  # less session_latest
        return "".join(p.read_text(errors="replace") for p in files)

    def close(self) -> None:
        """Kill every node started here, then delete its folder (sessions, logs, caches)."""
        for node in [*self.workers, self.head]:
            self.kill(node)
        shutil.rmtree(self.folder, ignore_errors=True)
