"""The planted noise benchmark: SD-Turbo's genome, a reachable target, and searches that climb toward it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from experiments.compare.noise import noise_preset
from experiments.compare.planted import mini_clip, planted_targets
from experiments.compare.planted_noise import NOISE_LATENT, PlantedNoise
from experiments.compare.run import run_target
from glass_core.objective import Evaluator
from glass_core.operators import LatentSampling
from glass_core.weights import REPO_WEIGHTS
from glass_core.zero_order import PivotSearch

PROBLEM = Problem(n_var=NOISE_LATENT.n_var, n_obj=1, xl=-6.0, xu=6.0)


@pytest.fixture(scope="module")
def planted():
    torch.set_num_threads(1)
    gen, clip = PlantedNoise(), mini_clip(REPO_WEIGHTS)
    return gen, clip, planted_targets(gen, clip, 1, seed=100)[0]


def test_the_noise_problem_has_sd_turbos_genome_and_a_reachable_target(planted):
    gen, clip, target = planted
    assert (gen.latent.n_real, gen.latent.n_bits, gen.latent.n_int, gen.latent.real_init) == (16384, 0, 0, "normal")
    evaluate = Evaluator(gen, clip, target, False, 64)
    hidden = LatentSampling(gen.latent).do(None, 1, random_state=np.random.default_rng(100)).get("X")
    others = LatentSampling(gen.latent).do(None, 32, random_state=np.random.default_rng(5)).get("X")
    assert evaluate(hidden)[0][0] == pytest.approx(1.0, abs=1e-5)
    assert np.median(evaluate(others)[0]) < 0.95  # a real gap to close
    images = gen.generate(others)
    assert images.shape == (32, 3, 32, 32) and images.std() > 0.05  # pictures, not one grey


@pytest.mark.parametrize("optimizer", ["ga", "pivot", "polish"])
def test_searches_with_noise_operators_climb_and_reproduce(planted, optimizer):
    gen, clip, target = planted
    preset = noise_preset()
    first = run_target(gen, clip, target, preset, 160, seed=1, optimizer=optimizer)
    again = run_target(gen, clip, target, preset, 160, seed=1, optimizer=optimizer)
    assert first.best[-1] > first.best[0] + 0.005 and first.best == again.best
    assert np.abs(first.shown[-1].var() - 1) < 0.1  # the shown noise is still standard normal


def test_pivot_neighbours_are_standard_normal_and_around_the_best():
    rng = np.random.default_rng(0)
    search = PivotSearch(PlantedNoise(), 8, None, step=0.3).setup(PROBLEM, seed=0)
    pop = search.ask()
    pop.set("F", rng.random((8, 1)))
    search.tell(pop)
    best = pop.get("X")[np.argmin(pop.get("F")[:, 0])]
    kids = search.ask().get("X")
    assert np.all(np.abs(kids.var(axis=1) - 1) < 0.06)
    assert np.all(np.abs([np.corrcoef(best, k)[0, 1] - 0.91 ** 0.5 for k in kids]) < 0.01)
    assert isinstance(search.pop, Population) and len(search.pop) == 8
