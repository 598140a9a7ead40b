"""The GA plus local moves around its best genomes each generation: StyleGAN2's default optimizer.

A GA finds the right region quickly and then wanders: in the paper's runs most of the 500
generations went into small gains. Here, each generation, the last few offspring are swapped for
neighbours of the best survivors, so that the polishing costs no extra evaluations:

- *reals*: gradient steps through a differentiable generator and CLIP (glass_core.gradient);
- *class bits*: the best genome with one class switched on or off, or one class swapped for
  another: the gap a GA leaves is often one class, which gradients cannot reach;
- *tokens*: the best genome with one context token redrawn.

Moved genomes are scored like any offspring and survive only if they are better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from glass_core.generators.base import LatentSpace
from glass_core.gradient import Refiner


@dataclass(frozen=True)
class PolishSettings:
    """How many local moves replace offspring each generation."""

    elites: int = 2  # the best survivors that take gradient steps (differentiable generators)
    steps: int = 2  # forward + backward passes per elite per generation
    step_size: float = 0.3  # length of one gradient step in latent units
    bit_moves: int = 4  # neighbours of the best genome in its class bits, per generation
    int_moves: int = 4  # neighbours of the best genome in its tokens, per generation


def bit_neighbours(genome: np.ndarray, latent: LatentSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    """n copies of `genome`, each with one class turned on or off, or (half of them) one class swapped."""
    out = np.repeat(genome[None], n, axis=0)
    bits = out[:, latent.bits]  # a copy: written back below
    for row in bits:
        on, off = np.flatnonzero(row > 0.5), np.flatnonzero(row <= 0.5)
        if len(on) and len(off) and rng.random() < 0.5:
            row[rng.choice(on)], row[rng.choice(off)] = 0.0, 1.0
        else:
            i = rng.integers(len(row))
            row[i] = 1.0 - row[i]
    out[:, latent.bits] = bits
    return out


def int_neighbours(genome: np.ndarray, latent: LatentSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    """n copies of `genome`, each with one integer gene redrawn uniformly."""
    out = np.repeat(genome[None], n, axis=0)
    lo, hi = latent.int_bounds
    where = latent.ints.start + rng.integers(latent.n_int, size=n)
    out[np.arange(n), where] = rng.integers(lo, hi + 1, size=n)
    return out


class ElitePolish:
    """A GA (or NSGA-II) whose last offspring each generation are local moves around its best survivors."""

    def __init__(self, inner: Any, latent: LatentSpace, settings: PolishSettings, refiner: Refiner | None):
        self.inner, self.latent, self.settings, self.refiner = inner, latent, settings, refiner
        self.rng = np.random.default_rng()

    @property
    def pop(self) -> Population:
        """The GA's survivors."""
        return self.inner.pop

    def setup(self, problem: Problem, seed: int | None = None, **kwargs: Any) -> ElitePolish:
        """Set the GA up as the plain GA would be; the moves draw from their own stream of the same seed."""
        self.inner.setup(problem, seed=seed, **kwargs)
        self.rng = np.random.default_rng([0 if seed is None else seed, 1])
        return self

    def ask(self) -> Population:
        """The GA's offspring, the last of them swapped for neighbours of the best survivors."""
        survivors, pop = self.inner.pop, self.inner.ask()
        if survivors is None or not len(survivors):
            return pop  # the first generation: nothing to polish yet
        moves = self._moves(survivors)
        if 0 < len(moves) < len(pop):
            X = pop.get("X")
            X[len(X) - len(moves):] = moves
            pop.set("X", X)
        return pop

    def tell(self, infills: Population) -> None:
        """Survival exactly as in the GA."""
        self.inner.tell(infills=infills)

    def _moves(self, survivors: Population) -> np.ndarray:
        """Gradient-moved elites, then bit and token neighbours of the best, as genome rows."""
        # By similarity, not survival order: NSGA-II's survivors are not sorted by it.
        order = np.argsort(-survivors.get("sim").astype(float), kind="stable")
        X, s, lat = survivors.get("X"), self.settings, self.latent
        parts = []
        if self.refiner is not None and s.elites:
            parts.append(self.refiner(X[order[:s.elites]]))
        if lat.n_bits and s.bit_moves:
            parts.append(bit_neighbours(X[order[0]], lat, s.bit_moves, self.rng))
        if lat.n_int and s.int_moves:
            parts.append(int_neighbours(X[order[0]], lat, s.int_moves, self.rng))
        return np.concatenate(parts) if parts else np.empty((0, lat.n_var))
