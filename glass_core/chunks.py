"""A search cut into calls of a few generations each, for hosts that lend a GPU one call at a time.

On a ZeroGPU Space a GPU is attached for one decorated call of bounded duration (60 s by
default), so a 500-generation search must be cut into calls. Each call continues from the
population the previous one left (`Pipeline.search(initial=...)`); its first generation only
re-scores that population, so it is not shown again. Records are renumbered so that the caller
sees one search: generation k of N, evaluations and seconds counted from the start.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterator

import numpy as np

from glass_core.records import GenerationRecord

# run(generations, initial, seed) -> the records of one call: the host wraps this (spaces.GPU).
RunChunk = Callable[[int, "np.ndarray | None", int], Iterator[GenerationRecord]]

FIRST_CHUNK = 3  # generations of the first call, which also measures the speed
SAFETY = 0.7  # share of a call's duration that its planned generations may fill


def chunk_size(seconds_per_generation: float, budget_s: float, left: int) -> int:
    """How many generations fit in one call of `budget_s` seconds (at least 1, at most what is left)."""
    fits = math.floor(SAFETY * budget_s / max(seconds_per_generation, 1e-9))
    return max(1, min(left, fits))


def chunked_search(run: RunChunk, generations: int, budget_s: float, seed: int = 0,
                   initial: np.ndarray | None = None) -> Iterator[GenerationRecord]:
    """The records of one `generations`-long search, run as calls that each fit in `budget_s` seconds.

    `initial` genomes start the first call, as in `Pipeline.search`.
    """
    done, evaluations, elapsed = 0, 0, 0.0
    size = min(FIRST_CHUNK, generations)
    while done < generations:
        # A continued call spends its first generation re-scoring the population it was handed.
        extra = 0 if done == 0 else 1
        calls = run(size + extra, initial, seed + done)
        last, spent = None, 0.0
        try:
            for i, rec in enumerate(calls):
                last, spent = rec, rec.elapsed
                if i < extra:
                    continue
                yield _renumber(rec, done + i + 1 - extra, generations, evaluations, elapsed)
        finally:  # stopping the whole search stops the call in flight
            close = getattr(calls, "close", None)
            if close is not None:
                close()
        if last is None:
            return
        done += size
        evaluations += last.evaluations
        elapsed += spent
        initial = last.population
        size = chunk_size(spent / (size + extra), budget_s, generations - done)


def _renumber(rec: GenerationRecord, generation: int, generations: int, evaluations: int,
              elapsed: float) -> GenerationRecord:
    """The record as part of the whole search."""
    return dataclasses.replace(rec, generation=generation, generations=generations,
                               evaluations=rec.evaluations + evaluations, elapsed=rec.elapsed + elapsed)


def plain_runner(search: Callable[..., Iterator[GenerationRecord]], target: Any, **overrides: Any) -> RunChunk:
    """A RunChunk over `Pipeline.search` (bound method) in this process."""
    def run(generations: int, initial: np.ndarray | None, seed: int) -> Iterator[GenerationRecord]:
        return search(target, initial=initial, **{**overrides, "generations": generations, "seed": seed})
    return run
