"""A search cut into calls (for hosts that lend a GPU one call at a time) reads as one search."""

from __future__ import annotations

import numpy as np
import pytest

from glass_core.chunks import FIRST_CHUNK, chunk_size, chunked_search, plain_runner
from glass_core.pipeline import Pipeline
from glass_core.weights import REPO_WEIGHTS

CAPTION = "a red seven on a blue background"


@pytest.fixture(scope="module")
def mini_gan() -> Pipeline:
    return Pipeline.from_preset("mini_gan", weights_root=REPO_WEIGHTS)


def counting(run, calls: list, closed: list):
    """A runner that notes each call's size and whether the caller closed the call's records."""
    def wrapped(generations, initial, seed):
        calls.append((generations, initial is None, seed))
        records = run(generations, initial, seed)
        try:
            yield from records
        finally:
            closed.append(True)
    return wrapped


def test_calls_fit_their_budget_from_the_measured_speed():
    assert chunk_size(1.0, 60, 500) == 42  # 70 % of a 60 s call at 1 s a generation
    assert chunk_size(100.0, 60, 500) == 1  # a generation longer than a call still runs, alone
    assert chunk_size(0.001, 60, 7) == 7  # never more than what is left


def test_a_chunked_search_streams_as_one_search_continuing_from_each_population(mini_gan):
    calls, closed = [], []
    run = counting(plain_runner(mini_gan.search, CAPTION, pop_size=16), calls, closed)
    records = list(chunked_search(run, generations=12, budget_s=0.05, seed=4))
    assert [r.generation for r in records] == list(range(1, 13)) and {r.generations for r in records} == {12}
    assert len(calls) > 2 and calls[0] == (FIRST_CHUNK, True, 4)  # the first call starts from random genomes
    assert all(not fresh for _, fresh, _ in calls[1:])  # later ones from the population handed back
    # Each later call re-scores the population it was given first; that generation is not shown.
    assert sum(g for g, _, _ in calls) == 12 + len(calls) - 1
    evaluations = [r.evaluations for r in records]
    assert evaluations == sorted(evaluations) and evaluations[-1] == 16 * (12 + len(calls) - 1)
    assert all(b.elapsed >= a.elapsed for a, b in zip(records, records[1:]))
    # The elites survive from call to call: the best similarity never falls.
    best = [r.best_similarity for r in records]
    assert all(b >= a - 1e-6 for a, b in zip(best, best[1:])) and best[-1] > best[0]


def test_stopping_a_chunked_search_closes_the_call_in_flight(mini_gan):
    calls, closed = [], []
    run = counting(plain_runner(mini_gan.search, CAPTION, pop_size=8), calls, closed)
    stream = chunked_search(run, generations=50, budget_s=60)
    first = next(stream)
    stream.close()
    assert first.generation == 1 and len(calls) == 1 and closed == [True]


def test_initial_genomes_start_the_first_call(mini_gan):
    start = np.zeros((8, mini_gan.generator.latent.n_var))
    calls, closed = [], []
    run = counting(plain_runner(mini_gan.search, CAPTION, pop_size=8), calls, closed)
    first = next(chunked_search(run, generations=5, budget_s=60, initial=start))
    assert calls[0][1] is False and first.generation == 1
