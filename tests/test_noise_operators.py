"""The noise operators keep a diffusion latent a sample of N(0, I); averaging operators do not.

Statistics are per genome over its 16,384 genes, which stay independent N(0, 1) under these
operators (genes at different positions never mix): a genome's mean then has a standard error
of 1/128 = 0.0078 and its variance one of sqrt(2/16384) = 0.011. The checks allow 5 standard
errors, so a correct operator fails them about once in 10^6 genomes, while the averaging
crossover below ends with a variance under 0.1, some 80 standard errors below 1.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pytest
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from glass_core.errors import BadInputError
from glass_core.generators.base import LatentSpace
from glass_core.noise_operators import block_masks, noise_grid, vp_mutation
from glass_core.operators import LatentCrossover, LatentMutation, LatentRepair, LatentSampling
from glass_core.presets import DEFAULT_SEARCH, NOISE_OPERATORS, OPERATOR_SETS, Operators, get_preset

LATENT = LatentSpace(n_real=4 * 64 * 64, real_bounds=(-6.0, 6.0), real_init="normal")  # SD-Turbo's genome
PROBLEM = Problem(n_var=LATENT.n_var, n_obj=1, xl=LATENT.bounds()[0], xu=LATENT.bounds()[1])
N = LATENT.n_real
MEAN_TOL, VAR_TOL = 5 / N ** 0.5, 5 * (2 / N) ** 0.5
SWAP = dataclasses.replace(NOISE_OPERATORS, name="noise-swap", real_crossover="swap")

Cross = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def first_population(rng: np.random.Generator, pop: int = 16) -> np.ndarray:
    return LatentSampling(LATENT).do(PROBLEM, pop, random_state=rng).get("X")


def evolve(ops: Operators, generations: int, seed: int = 0, cross: Cross | None = None) -> np.ndarray:
    """Random pairs, crossover, mutation and repair, with no selection: what the operators alone do."""
    rng = np.random.default_rng(seed)
    X = first_population(rng)
    crossover, mutation = LatentCrossover(LATENT, ops), LatentMutation(LATENT, ops)
    for _ in range(generations):
        pairs = rng.permutation(len(X)).reshape(-1, 2)
        if cross is None:
            kids = crossover.do(PROBLEM, Population.new(X=X), pairs, random_state=rng)
        else:
            kids = Population.new(X=cross(X[pairs.T], rng).reshape(-1, N))
        kids = mutation.do(PROBLEM, kids, random_state=rng)
        X = LatentRepair(LATENT).do(PROBLEM, kids).get("X")
    return X


def mean_crossover(parents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The averaging crossover: both children are the parents' mean (as SBX is at its centre)."""
    return np.stack([parents.mean(axis=0)] * 2)


def test_sampling_draws_standard_normal_noise():
    X = first_population(np.random.default_rng(0), 8)
    assert np.all(np.abs(X.mean(axis=1)) < MEAN_TOL) and np.all(np.abs(X.var(axis=1) - 1) < VAR_TOL)


@pytest.mark.parametrize("ops", [NOISE_OPERATORS, SWAP], ids=["blocks", "swap"])
def test_noise_operators_keep_mean_0_and_variance_1_over_100_generations(ops):
    X = evolve(ops, 100)
    assert np.all(np.abs(X.mean(axis=1)) < MEAN_TOL)
    assert np.all(np.abs(X.var(axis=1) - 1) < VAR_TOL)  # no shrinkage toward the mean, no spreading
    assert X.var(axis=0).mean() > 0.5  # and the population has not collapsed onto one genome


def test_an_averaging_crossover_shrinks_the_noise_so_the_check_can_fail():
    X = evolve(NOISE_OPERATORS, 100, cross=mean_crossover)
    # Each generation averages pairs (halving the variance) while VP mutation adds back s² = 0.01.
    assert np.all(X.var(axis=1) < 0.3)


def test_the_papers_sbx_and_polynomial_mutation_do_not_keep_it_either():
    X = evolve(OPERATOR_SETS["paper"], 5)
    assert np.all(X.var(axis=1) > 1.5)  # polynomial mutation over ±6 spreads the genes toward uniform


def test_vp_mutation_keeps_a_mutated_child_correlated_by_sqrt_1_minus_s2():
    rng = np.random.default_rng(0)
    X = first_population(rng, 64)
    out = vp_mutation(X, rng, step=0.6, prob=0.5)
    moved = np.flatnonzero(np.any(out != X, axis=1))
    assert 20 <= len(moved) <= 44  # half of 64, within 3 standard deviations
    corr = np.array([np.corrcoef(X[i], out[i])[0, 1] for i in moved])
    assert np.all(np.abs(corr - 0.8) < 0.01)
    assert np.all(np.abs(out[moved].var(axis=1) - 1) < VAR_TOL)


def test_block_crossover_swaps_one_rectangle_in_every_channel():
    rng = np.random.default_rng(3)
    a, b = first_population(rng, 2)
    pair = np.stack([a, b])[:, None]
    kids = LatentCrossover(LATENT, NOISE_OPERATORS).do(PROBLEM, Population.new(X=pair[:, 0]), np.array([[0, 1]]),
                                                       random_state=rng).get("X")
    for kid, own, other in ((kids[0], a, b), (kids[1], b, a)):
        assert np.all((kid == own) | (kid == other))
        from_other = (kid == other).reshape(4, 64, 64)
        assert np.all(from_other == from_other[0])  # the same region in every channel
        rows, cols = np.flatnonzero(from_other[0].any(axis=1)), np.flatnonzero(from_other[0].any(axis=0))
        assert len(rows) and from_other[0][rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
        assert from_other[0].sum() == len(rows) * len(cols)  # contiguous: its bounding box, filled
    assert np.array_equal(kids[0] == b, kids[1] == a)  # the two children swap the same rectangle


def test_block_masks_are_rectangles_of_every_size():
    masks = block_masks(500, (4, 64, 64), np.random.default_rng(0)).reshape(500, 4, 64, 64)[:, 0]
    areas = masks.sum(axis=(1, 2)) / 64 ** 2
    assert areas.min() < 0.01 and areas.max() > 0.8 and 0.2 < areas.mean() < 0.3  # E[h]E[w]/HW ≈ 1/4
    assert noise_grid(4 * 64 * 64, 4) == (4, 64, 64) and noise_grid(4 * 96 * 64, 4) == (1, 1, 4 * 96 * 64)


def test_one_seed_reproduces_the_offspring():
    np.random.seed(1)
    a = evolve(NOISE_OPERATORS, 3, seed=7)
    np.random.seed(2)  # numpy's global generator plays no part
    assert np.array_equal(a, evolve(NOISE_OPERATORS, 3, seed=7))
    assert not np.array_equal(a, evolve(NOISE_OPERATORS, 3, seed=8))


@pytest.mark.parametrize("bad", [{"vp_step": 0.0}, {"vp_step": 1.5}, {"vp_prob": -0.1}, {"real_crossover": "mean"},
                                 {"real_mutation": "gauss"}, {"noise_channels": 0}])
def test_out_of_range_noise_settings_are_refused(bad):
    with pytest.raises(BadInputError, match="Operator setting"):
        get_preset("mini_gan").replace(operators={"name": "noise", **{**vars(NOISE_OPERATORS), **bad}})


def test_the_diffusion_default_search_uses_the_noise_set():
    assert OPERATOR_SETS["noise"] is NOISE_OPERATORS and DEFAULT_SEARCH["diffusion"]["operators"] is NOISE_OPERATORS
    assert get_preset("mini_gan").replace(operators="noise").operators.real_mutation == "vp"
