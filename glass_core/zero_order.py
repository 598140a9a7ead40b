"""Zero-order search around a pivot (Ma et al. 2025, inference-time scaling of diffusion models).

The first generation is random samples; the best becomes the pivot. Every later generation is
the pivot's neighbours, each sqrt(1 - s²)·pivot + s·ε on the reals (ε ~ N(0, I), so a standard
normal pivot's neighbours are standard normal too), and the pivot moves to the best genome found
so far. The discrete genes, if any, stay the pivot's. `pop` is an archive of the best `pop_size`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from glass_core.generators.base import Generator
from glass_core.noise_operators import vp_mutation
from glass_core.operators import LatentSampling


class PivotSearch:
    """Ask-and-tell (optimizers.AskTell): neighbours of the best genome so far, at VP step `step`."""

    def __init__(self, generator: Generator, pop_size: int, initial: np.ndarray | None, step: float):
        self.latent, self.pop_size, self.initial, self.step = generator.latent, pop_size, initial, step
        self.pop = Population.empty()

    def setup(self, problem: Problem, termination: Any = None, seed: int | None = None) -> PivotSearch:
        """Remember the problem; every draw comes from one generator seeded with `seed`."""
        self.problem, self.rng = problem, np.random.default_rng(seed)
        return self

    def ask(self) -> Population:
        """Random samples (or `initial`) first; then the pivot's neighbours."""
        if not len(self.pop):
            if self.initial is not None:
                return Population.new("X", self.latent.repair(np.atleast_2d(self.initial)))
            return LatentSampling(self.latent).do(self.problem, self.pop_size, random_state=self.rng)
        X = np.repeat(self.pop[0].X[None], self.pop_size, axis=0)
        reals = self.latent.reals
        X[:, reals] = vp_mutation(X[:, reals], self.rng, self.step, 1.0)
        return Population.new("X", self.latent.repair(X))

    def tell(self, infills: Population) -> None:
        """Keep the best genomes ever scored, best first: the first is the next pivot."""
        pop = Population.merge(self.pop, infills)
        self.pop = pop[np.argsort(pop.get("F")[:, 0], kind="stable")[:self.pop_size]]
