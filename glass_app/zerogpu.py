"""ZeroGPU Spaces: a GPU is lent for one `spaces.GPU` call at a time, so a search runs as calls that fit.

On a ZeroGPU Space (`SPACES_ZERO_GPU=true`, set by Hugging Face) each call runs a few generations
in a GPU worker and hands back their records; glass_core.chunks sizes the calls from the speed
measured so far and continues each from the last population, so the page streams as it does
everywhere else. The worker is a fork of the app's process and gets the models the app loaded
before the call. Off ZeroGPU nothing here is used and `spaces` is never imported.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from glass_core.chunks import RunChunk
from glass_core.pipeline import Pipeline
from glass_core.presets import get_preset
from glass_core.records import GenerationRecord

# The duration each call asks for: ZeroGPU's default is 60 s; a Space may allow longer calls.
CALL_SECONDS = float(os.environ.get("GLASS_GPU_SECONDS", "60"))


def on_zerogpu() -> bool:
    """Whether this process runs on a ZeroGPU Space (the variable the `spaces` package reads)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def _call_seconds(*args: Any, **kwargs: Any) -> float:
    """The duration `spaces.GPU` reserves for a call."""
    return CALL_SECONDS


def search_chunk(preset: str, device: str, target: Any, overrides: dict[str, Any], generations: int,
                 initial: np.ndarray | None, seed: int) -> Iterator[GenerationRecord]:
    """One GPU call: `generations` generations of a preset's search, from `initial` genomes if given."""
    pipe = Pipeline.from_preset(get_preset(preset), device=device)  # the process cache, filled before the fork
    yield from pipe.search(target, initial=initial, **{**overrides, "generations": generations, "seed": seed})


# spaces.GPU must wrap the function when the app starts, before any call.
_on_gpu = None
if on_zerogpu():
    import spaces

    _on_gpu = spaces.GPU(duration=_call_seconds)(search_chunk)


def runner(preset: str, device: str, target: Any, overrides: dict[str, Any]) -> RunChunk | None:
    """A chunk runner through spaces.GPU on a ZeroGPU Space; None elsewhere (search in-process)."""
    if _on_gpu is None:
        return None
    return lambda generations, initial, seed: _on_gpu(preset, device, target, overrides, generations, initial, seed)
