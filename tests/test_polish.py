"""The polishing optimizer: its local moves are what they say, it costs no extra evaluations, it reproduces."""

from __future__ import annotations

import numpy as np

from glass_core.generators.base import LatentSpace
from glass_core.polish import bit_neighbours, int_neighbours

LATENT = LatentSpace(n_real=4, n_bits=50, n_int=6, int_bounds=(0, 50256))


def _genome(rng: np.random.Generator) -> np.ndarray:
    g = np.zeros(LATENT.n_var)
    g[LATENT.reals] = rng.normal(size=4)
    g[LATENT.bits.start + 3], g[LATENT.bits.start + 17] = 1.0, 1.0
    g[LATENT.ints] = rng.integers(0, 50257, 6)
    return g


def test_bit_neighbours_change_one_class_or_swap_one():
    rng = np.random.default_rng(0)
    g = _genome(rng)
    moves = bit_neighbours(g, LATENT, 400, rng)
    changed = (moves != g).sum(axis=1)
    assert set(changed) == {1, 2} and 0.3 < (changed == 2).mean() < 0.7
    swaps = moves[changed == 2][:, LATENT.bits]
    assert (swaps.sum(axis=1) == 2).all()  # a swap keeps the number of classes
    assert np.array_equal(moves[:, LATENT.reals], np.repeat(g[None, LATENT.reals], 400, axis=0))


def test_int_neighbours_redraw_exactly_one_token():
    rng = np.random.default_rng(1)
    g = _genome(rng)
    moves = int_neighbours(g, LATENT, 300, rng)
    assert ((moves != g).sum(axis=1) == 1).all()
    assert set(np.flatnonzero((moves != g).any(axis=0))) == set(range(LATENT.ints.start, LATENT.n_var))


def test_polish_spends_the_gas_evaluations_and_its_moves_are_scored(biggan):
    records = list(biggan.search("a red dog", generations=3, pop_size=16, optimizer="polish", seed=2))
    # Gradient passes count like evaluations: 2 elites × 2 steps on top of each later generation's 16.
    assert [r.evaluations for r in records] == [16, 16 + 16 + 4, 16 + 2 * (16 + 4)]
    assert records[-1].best_similarity >= records[0].best_similarity
