"""Mixed-genome operators keep every segment valid and draw only from the seeded generator."""

from __future__ import annotations

import numpy as np
import torch
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from glass_core.generators.base import LatentSpace
from glass_core.generators.classes import bits_to_class_vector
from glass_core.operators import LatentCrossover, LatentMutation, LatentRepair, LatentSampling
from glass_core.presets import Operators

LATENT = LatentSpace(n_real=16, real_bounds=(-2, 2), n_bits=1000, bit_init_prob=5 / 1000, n_int=8, int_bounds=(0, 50256))


def problem() -> Problem:
    lo, hi = LATENT.bounds()
    return Problem(n_var=LATENT.n_var, n_obj=1, xl=lo, xu=hi)


def offspring(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = LatentSampling(LATENT)._do(problem(), 200, random_state=rng)
    parents = Population.new(X=X)
    pairs = rng.permutation(200).reshape(100, 2)
    kids = LatentCrossover(LATENT, Operators()).do(problem(), parents, pairs, random_state=rng)
    kids = LatentMutation(LATENT, Operators()).do(problem(), kids, random_state=rng)
    return LatentRepair(LATENT).do(problem(), kids).get("X")


def test_sampling_respects_bounds_and_class_sparsity():
    X = LatentSampling(LATENT)._do(problem(), 400, random_state=np.random.default_rng(0))
    reals, bits, ints = X[:, LATENT.reals], X[:, LATENT.bits], X[:, LATENT.ints]
    assert reals.min() >= -2 and reals.max() <= 2 and 0.85 < reals.std() < 0.91  # N(0, 1) truncated to ±2: std 0.88
    assert set(np.unique(bits)) <= {0.0, 1.0}
    assert abs(bits.sum(axis=1).mean() - 5) < 0.5  # 5 of 1000 classes on, on average
    assert np.array_equal(ints, np.rint(ints)) and ints.min() >= 0 and ints.max() <= 50256


def test_offspring_stay_valid_in_every_segment():
    X = offspring(1)
    assert X[:, LATENT.reals].min() >= -2 and X[:, LATENT.reals].max() <= 2
    assert set(np.unique(X[:, LATENT.bits])) <= {0.0, 1.0}
    ints = X[:, LATENT.ints]
    assert np.array_equal(ints, np.rint(ints)) and ints.min() >= 0 and ints.max() <= 50256


def test_operators_are_driven_by_the_given_random_state_only():
    np.random.seed(123)
    a = offspring(5)
    np.random.seed(456)  # the global generator must not matter
    b = offspring(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, offspring(6))


def test_selected_classes_dominate_the_class_vector():
    bits = np.zeros((3, 1000))
    bits[0, 7] = 1
    bits[1, [3, 9]] = 1
    vec = bits_to_class_vector(bits)
    assert vec[0, 7] == 1.0 and vec[0].sum() == 1.0
    assert vec[1, 3] == vec[1, 9] == 0.5 and vec[1].sum() == 1.0
    assert not vec[2].any()  # no class on: the mini GAN's "no class"
    uniform = bits_to_class_vector(bits, empty="uniform")  # BigGAN's: the paper's softmax of all-zero genes
    np.testing.assert_array_equal(uniform[:2], vec[:2])
    np.testing.assert_allclose(uniform[2], np.full(1000, 1e-3)) and np.testing.assert_allclose(uniform[2].sum(), 1.0)


def test_biggan_with_no_class_gene_on_is_conditioned_on_the_uniform_class_vector(biggan):
    gen = biggan.generator
    genomes = np.zeros((1, gen.latent.n_var))
    z, classes = gen._inputs(genomes)
    torch.testing.assert_close(classes, torch.full((1, 1000), 1e-3))


def _children(ops: Operators, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Parents and their mutated children under `ops` (mutation only)."""
    rng = np.random.default_rng(seed)
    X = LatentSampling(LATENT)._do(problem(), 400, random_state=rng)
    kids = LatentMutation(LATENT, ops).do(problem(), Population.new(X=X), random_state=rng).get("X")
    return X, kids


def test_gentle_mutation_moves_about_one_class_and_one_token_per_child():
    from glass_core.presets import GENTLE_OPERATORS, PAPER_OPERATORS

    X, kids = _children(GENTLE_OPERATORS)
    flips = (X[:, LATENT.bits] != kids[:, LATENT.bits]).sum(axis=1)
    assert 0.85 < flips.mean() < 1.15  # 1/1000 per bit: one class changes, not ten
    tokens = (X[:, LATENT.ints] != kids[:, LATENT.ints]).sum(axis=1)
    assert 0.4 < tokens.mean() < 0.6  # half the children, 1/8 of their 8 tokens each
    assert np.array_equal(kids[:, LATENT.ints], np.rint(kids[:, LATENT.ints]))
    # A redrawn token is uniform over the vocabulary, not a step from the old id.
    moved = X[:, LATENT.ints] != kids[:, LATENT.ints]
    assert np.median(np.abs(X[:, LATENT.ints] - kids[:, LATENT.ints])[moved]) > 10_000
    X, kids = _children(PAPER_OPERATORS)
    assert 8 < (X[:, LATENT.bits] != kids[:, LATENT.bits]).sum(axis=1).mean() < 12  # the paper's 0.01 per bit


def test_uniform_crossover_takes_every_token_whole_from_a_parent():
    from glass_core.presets import GENTLE_OPERATORS

    rng = np.random.default_rng(1)
    X = LatentSampling(LATENT)._do(problem(), 200, random_state=rng)
    pairs = rng.permutation(200).reshape(100, 2)
    kids = LatentCrossover(LATENT, GENTLE_OPERATORS).do(problem(), Population.new(X=X), pairs, random_state=rng).get("X")
    a, b = X[pairs[:, 0], LATENT.ints], X[pairs[:, 1], LATENT.ints]
    for k in (kids[:100, LATENT.ints], kids[100:, LATENT.ints]):  # first children, then second
        assert ((k == a) | (k == b)).all()
    assert 0.4 < (kids[:100, LATENT.ints] == a).mean() < 0.6  # half the tokens from each parent
