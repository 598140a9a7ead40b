"""Run in every Ray worker of tests/test_batch_ray.py at start-up (Ray's worker_process_setup_hook)."""

from __future__ import annotations

import os
from pathlib import Path

CRASH_CAPTION = "a green four on a black background"


def crash_once() -> None:
    """The first worker to search CRASH_CAPTION dies on the spot (os._exit), leaving its pid in the marker file."""
    from glass_core.batch import run as batch

    marker = Path(os.environ["GLASS_TEST_CRASH_MARKER"])
    real = batch.search_target

    def search_target(pipe, target, overrides, device, **options):  # options: e.g. timelapse=True
        if target.caption == CRASH_CAPTION and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # as a killed or crashed worker: no exception, no clean-up
        return real(pipe, target, overrides, device, **options)

    batch.search_target = search_target
