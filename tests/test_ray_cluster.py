"""The app and the batch on a real two-node Ray cluster (tests/ray_cluster_cases.py), in a process of their own.

A process that has run one Ray session (tests/test_batch_ray.py's local Ray) cannot start actors in a
second cluster it joins afterwards (Ray 2.60: the actor is cancelled before it starts, "all references
to the actor were removed"), while a fresh process can. The app and the batch each join one cluster for
their whole life, as this separate pytest run does; its cases and their output are reported here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_the_cluster_cases_pass_in_a_process_that_joins_one_cluster():
    cases = TESTS / "ray_cluster_cases.py"
    # Without what an earlier Ray session of this process left in its environment (RAY_AUTH_MODE=token,
    # PYTHONBREAKPOINT): the child must join the test cluster as a fresh process would.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != "PYTHONBREAKPOINT"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(cases)],
                         cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=900)
    print(run.stdout[-6000:], run.stderr[-3000:], sep="\n")
    assert run.returncode == 0, "the cluster cases failed (their output is above)"
    summary = re.search(r"^(\d+) passed in ", run.stdout, re.M)  # every case ran and passed: none skipped
    assert summary and int(summary.group(1)) >= 6, run.stdout[-2000:]
