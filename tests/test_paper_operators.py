"""The paper's operator set behaves, statistically, as the paper's code ran it on pymoo 0.4.2.1.

Expected values come from reading pymoo 0.4.2.1 (the version clip-glass's requirements.txt pins)
and clip-glass's operators.py / config.py:
- polynomial_mutation.py: `do_mutation = np.random.random(X.shape) < self.prob` — each *gene*
  mutates with prob 0.5, and every child goes through mutation (model/mating.py), so a child
  has 0.5 × n_real genes moved: 64 of BigGAN's 128, 256 of StyleGAN2's 512; 0.5 × 20 = 10
  GPT-2 tokens, less the rare ones that round back (integer_from_float_operator.py widens the
  bounds by 0.5 and rounds: ~1e-4 of uniform tokens).
- bitflip_mutation.py: each class bit flips with prob 10/1000: 10 flips per child of 1000 bits.
- model/crossover.py: a mating is recombined with the operator's prob. clip-glass passes 1.0 to
  SBX for StyleGAN2 and GPT-2; BigGAN's MixedVariableCrossover is built without a prob, so the
  default 0.9 applies, and it calls SBX's and HUX's `_do` directly (mixed_variable_operator.py),
  so their own prob (HUX 0.2) is never read: 90 % of matings recombine both reals and bits.
- simulated_binary_crossover.py: within a recombined mating each variable crosses with prob 0.5.
glass's own set (pymoo 0.6 defaults where the port left things unset) is checked too, so the
difference the paper set makes is visible: 0.5 genes per child, most children untouched.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from glass_core.availability import is_embedded
from glass_core.generators.base import LatentSpace
from glass_core.operators import LatentCrossover, LatentMutation, LatentRepair, LatentSampling
from glass_core.presets import GENTLE_OPERATORS, GLASS_OPERATORS, NOISE_OPERATORS, PAPER_OPERATORS, PRESETS, Operators

BIGGAN = LatentSpace(n_real=128, real_bounds=(-2, 2), n_bits=1000, bit_init_prob=5 / 1000)
STYLEGAN2 = LatentSpace(n_real=512, real_bounds=(-10, 10), real_init="normal")
GPT2 = LatentSpace(n_int=20, int_bounds=(0, 50256))
N = 2000  # children (or matings) per measurement: standard errors well under the tolerances


def _problem(latent: LatentSpace) -> Problem:
    lo, hi = latent.bounds()
    return Problem(n_var=latent.n_var, n_obj=1, xl=lo, xu=hi)


def _parents(latent: LatentSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    return LatentSampling(latent)._do(_problem(latent), n, random_state=rng)


def mutation_stats(latent: LatentSpace, ops: Operators, seed: int = 0) -> dict[str, float]:
    """Per child: genes (reals or integers) that changed, bits flipped; the share of children whose genes changed."""
    rng = np.random.default_rng(seed)
    X = _parents(latent, N, rng)
    Y = LatentMutation(latent, ops).do(_problem(latent), Population.new(X=X), random_state=rng).get("X")
    Y = LatentRepair(latent).do(_problem(latent), Population.new(X=Y)).get("X")
    genes = slice(0, latent.n_real) if latent.n_real else latent.ints
    moved = (Y[:, genes] != X[:, genes]).sum(axis=1)
    flipped = (Y[:, latent.bits] != X[:, latent.bits]).sum(axis=1)
    return {"genes": moved.mean(), "children_changed": (moved > 0).mean(), "bits": flipped.mean()}


def crossover_stats(latent: LatentSpace, ops: Operators, seed: int = 0) -> dict[str, float]:
    """Per mating: the share recombined, and within those the share of genes (and of differing bits) changed."""
    rng = np.random.default_rng(seed)
    X = _parents(latent, 2 * N, rng)
    X[:, latent.bits] = rng.random((2 * N, latent.n_bits)) < 0.02  # ~40 differing bits per pair
    pairs = np.arange(2 * N).reshape(N, 2)
    kids = LatentCrossover(latent, ops).do(_problem(latent), Population.new(X=X), pairs, random_state=rng).get("X")
    kids = LatentRepair(latent).do(_problem(latent), Population.new(X=kids)).get("X")
    first, parent = kids[:N], X[pairs[:, 0]]  # pymoo returns the first children of all matings, then the second
    genes = slice(0, latent.n_real) if latent.n_real else latent.ints
    changed = first[:, genes] != parent[:, genes]
    recombined = changed.any(axis=1)
    out = {"recombined": recombined.mean(), "genes_in_recombined": changed[recombined].mean()}
    if latent.n_bits:
        differ = X[pairs[:, 0], latent.bits] != X[pairs[:, 1], latent.bits]
        swapped = (first[:, latent.bits] != parent[:, latent.bits]).sum(axis=1) / np.maximum(differ.sum(axis=1), 1)
        out["bits_swapped_in_recombined"] = swapped[recombined].mean()
        out["bits_recombined"] = (swapped > 0).mean()
    return out


@pytest.mark.parametrize("latent, genes", [(BIGGAN, 64), (STYLEGAN2, 256), (GPT2, 10)], ids=["biggan", "stylegan2", "gpt2"])
def test_paper_mutation_moves_half_of_the_genes_of_every_child(latent, genes):
    stats = mutation_stats(latent, PAPER_OPERATORS)
    assert stats["genes"] == pytest.approx(genes, rel=0.02)
    assert stats["children_changed"] == 1.0


def test_paper_bitflip_flips_ten_of_a_thousand_class_bits_per_child():
    assert mutation_stats(BIGGAN, PAPER_OPERATORS)["bits"] == pytest.approx(10.0, abs=0.3)


@pytest.mark.parametrize("latent", [BIGGAN, STYLEGAN2, GPT2], ids=["biggan", "stylegan2", "gpt2"])
def test_glass_mutation_moves_one_gene_in_n_of_half_the_children(latent):
    # pymoo 0.6's PM: prob is per child (0.5 here), and each gene moves with prob 1/n_var: 0.5 genes per child.
    stats = mutation_stats(latent, GLASS_OPERATORS)
    assert stats["genes"] == pytest.approx(0.5, abs=0.06)
    assert stats["children_changed"] < 0.75


def test_paper_mixed_crossover_recombines_nine_matings_in_ten_both_reals_and_bits():
    stats = crossover_stats(BIGGAN, PAPER_OPERATORS)
    assert stats["recombined"] == pytest.approx(0.9, abs=0.02)
    assert stats["genes_in_recombined"] == pytest.approx(0.5, abs=0.01)
    assert stats["bits_recombined"] == pytest.approx(0.9, abs=0.02)  # HUX runs with SBX, its 0.2 unread
    assert stats["bits_swapped_in_recombined"] == pytest.approx(0.5, abs=0.03)  # half of the differing bits


def test_glass_crossover_recombines_every_mating_and_a_fifth_of_the_bits():
    stats = crossover_stats(BIGGAN, GLASS_OPERATORS)
    assert stats["recombined"] == pytest.approx(1.0, abs=0.001)
    assert stats["bits_recombined"] == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize("latent", [STYLEGAN2, GPT2], ids=["stylegan2", "gpt2"])
def test_paper_crossover_on_one_gene_type_recombines_every_mating(latent):
    stats = crossover_stats(latent, PAPER_OPERATORS)
    assert stats["recombined"] == pytest.approx(1.0, abs=0.001)
    assert stats["genes_in_recombined"] == pytest.approx(0.5, abs=0.02)


def test_paper_integer_operators_keep_the_end_tokens_as_likely_as_the_others():
    # Widened by 0.5 and rounded (pymoo 0.4.2's IntegerFromFloat): the end tokens each get a
    # full unit of the line, and every result is a valid token id.
    rng = np.random.default_rng(1)
    X = np.full((N, GPT2.n_var), 0.0)
    Y = LatentMutation(GPT2, PAPER_OPERATORS).do(_problem(GPT2), Population.new(X=X), random_state=rng).get("X")
    assert np.array_equal(Y, np.rint(Y)) and Y.min() >= 0 and Y.max() <= 50256
    stayed = (Y == 0).sum() / (Y.size * 0.5)  # of the genes selected for mutation (half)
    assert stayed == pytest.approx(1.5, abs=0.06)  # 1 unselected per selected, plus ~half pushed outward


def test_paper_presets_search_as_measured_best_and_the_paper_ga_stays_selectable():
    # The winner on planted targets of each genome kind (benchmarks/search_quality.md).
    winners = {"biggan": ("ga", GLASS_OPERATORS), "stylegan2": ("polish", GENTLE_OPERATORS),
               "gpt2": ("ga", PAPER_OPERATORS), "sd_turbo": ("ga", NOISE_OPERATORS),
               "sdxl_turbo": ("ga", NOISE_OPERATORS)}
    for name, preset in PRESETS.items():
        if not is_embedded(preset):
            assert (preset.optimizer, preset.operators) == winners[preset.generator], name
        paper = preset.replace(optimizer="ga", operators="paper")
        assert (paper.optimizer, paper.operators) == ("ga", PAPER_OPERATORS)
        assert paper.to_dict()["operators"]["name"] == "paper"  # what the run card records
    assert PRESETS["mini_gan"].replace(operators="paper").operators.name == "paper"
    assert PRESETS["GPT2"].replace(operators={"pm_gene_prob": 0.2}).operators.name == "custom"
