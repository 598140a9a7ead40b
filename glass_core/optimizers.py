"""The search's optimizers as registry data: the paper's GA, random search, CMA-ES, and the GA with local moves.

Every optimizer speaks one ask-and-tell protocol, `AskTell`, so that `run_search` drives them
all the same way; pymoo's own algorithms already do. With `use_discriminator` the GA is NSGA-II,
as in the paper; random search, the hybrid and polish then use NSGA-II's survival too. The hybrid
is polish with gradient steps only (glass_core.polish).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.cmaes import SimpleCMAES
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.duplicate import DefaultDuplicateElimination
from pymoo.core.infill import InfillCriterion
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from glass_core.generators.base import Generator
from glass_core.gradient import GradientSettings, Refiner, is_differentiable
from glass_core.operators import LatentCrossover, LatentMutation, LatentRepair, LatentSampling
from glass_core.polish import ElitePolish, PolishSettings
from glass_core.presets import Preset
from glass_core.zero_order import PivotSearch

if TYPE_CHECKING:
    from glass_core.objective import Evaluator


@runtime_checkable
class AskTell(Protocol):
    """What `run_search` drives: pymoo's ask-and-tell, as its GA and NSGA-II speak it.

    `ask` returns the genomes to score ("X"); the search sets "F" (pymoo minimises: -similarity,
    and hinge(1 - realism) with two objectives), "sim" and "realism" on them and hands them to
    `tell`. `pop` is then the survivors with the same keys (best first for one objective; with
    two, "rank" 0 marks the Pareto front). The stop rule is the search's, not the optimizer's.
    """

    pop: Population

    def setup(self, problem: Problem, termination: Any = None, seed: int | None = None) -> Any:
        """Prepare for `problem`; `seed` drives every random draw."""
        ...

    def ask(self) -> Population:
        """The next genomes to score."""
        ...

    def tell(self, infills: Population) -> None:
        """Their scores; survival happens here."""
        ...


class FreshSamples(InfillCriterion):
    """'Mating' that ignores the parents: new random genomes, for random search."""

    def __init__(self, sampling: LatentSampling, **kwargs: Any):
        super().__init__(**kwargs)
        self.sampling = sampling

    def _do(self, problem, pop, n_offsprings, random_state=None, **kwargs):
        return self.sampling.do(problem, n_offsprings, random_state=random_state)


def _first_population(generator: Generator, initial: np.ndarray | None):
    """pymoo's sampling argument: the latent's own sampler, or the given genomes repaired."""
    latent = generator.latent
    return LatentSampling(latent) if initial is None else latent.repair(np.atleast_2d(initial))


def genetic(generator: Generator, preset: Preset, initial: np.ndarray | None, mating: Any = None):
    """The paper's algorithm: GA, or NSGA-II when the discriminator is a second objective."""
    latent, ops = generator.latent, preset.operators
    cls = NSGA2 if preset.use_discriminator else GA
    return cls(
        pop_size=preset.pop_size,
        sampling=_first_population(generator, initial),
        crossover=LatentCrossover(latent, ops),
        mutation=LatentMutation(latent, ops),
        repair=LatentRepair(latent),
        eliminate_duplicates=True,
        mating=mating,
    )


def _ga(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator, spec: Spec):
    return genetic(generator, preset, initial)


def _random(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator, spec: Spec):
    # The GA's elitist survival over (survivors + fresh samples) is exactly "keep the best".
    latent = generator.latent
    fresh = FreshSamples(LatentSampling(latent), repair=LatentRepair(latent),
                         eliminate_duplicates=DefaultDuplicateElimination())
    return genetic(generator, preset, initial, mating=fresh)


class RealsCMAES(AskTell):
    """pymoo's CMA-ES on the real genes; the discrete genes are those of the best first sample.

    CMA-ES has no notion of bits or tokens, so the first generation is the GA's random first
    population (or `initial`); the best of it fixes the class bits and integers, and CMA-ES then
    searches the reals around that genome. When CMA-ES stops (converged), it restarts around the
    best genome found so far. `pop` is an archive of the best `pop_size` genomes ever scored.
    """

    def __init__(self, generator: Generator, preset: Preset, initial: np.ndarray | None, sigma: float,
                 popsize: int | None):
        self.latent, self.pop_size = generator.latent, preset.pop_size
        self.initial, self.sigma, self.popsize = initial, sigma, popsize
        self.inner: SimpleCMAES | None = None
        self.pop = Population.empty()

    def setup(self, problem: Problem, termination: Any = None, seed: int | None = None) -> RealsCMAES:
        """Remember the problem; every random draw below comes from this one seeded generator."""
        self.problem, self.rng = problem, np.random.default_rng(seed)
        lo, hi = self.latent.real_bounds
        self.reals_problem = Problem(n_var=self.latent.n_real, n_obj=1, xl=lo, xu=hi)
        return self

    def ask(self) -> Population:
        """The first population, then CMA-ES's samples completed with the base genome's discrete genes."""
        if self.inner is None:
            return Population.new("X", _first_population_array(self))
        reals = self.inner.ask().get("X")
        X = np.repeat(self.base[None], len(reals), axis=0)
        X[:, self.latent.reals] = reals
        return Population.new("X", X)

    def tell(self, infills: Population) -> None:
        """Keep the best genomes; hand CMA-ES the scores of its own samples."""
        self.pop = _best(Population.merge(self.pop, infills), self.pop_size)
        if self.inner is not None:
            sub = Population.new("X", infills.get("X")[:, self.latent.reals], "F", infills.get("F"))
            self.inner.tell(infills=sub)
        if self.inner is None or self.inner.termination.has_terminated():
            self._start()

    def _start(self) -> None:
        """A fresh CMA-ES centred on the best genome so far (whose score it is told, not re-scored)."""
        best = self.pop[0]
        self.base = best.X.copy()
        opts = {"randn": lambda *shape: self.rng.standard_normal(shape), "verbose": -9,
                "popsize": self.popsize or self.pop_size}
        self.inner = SimpleCMAES(x0=self.base[self.latent.reals][None], sigma=self.sigma, opts=opts)
        self.inner.setup(self.reals_problem, seed=int(self.rng.integers(2**31)))
        # cma would reseed numpy's global generator from `seed`; NaN tells it not to (randn is ours).
        self.inner.opts["seed"] = float("nan")
        start = self.inner.ask()
        start.set("F", best.F[None])
        self.inner.tell(infills=start)


def _first_population_array(opt: RealsCMAES) -> np.ndarray:
    if opt.initial is not None:
        return opt.latent.repair(np.atleast_2d(opt.initial))
    return LatentSampling(opt.latent).do(opt.problem, opt.pop_size, random_state=opt.rng).get("X")


def _best(pop: Population, n: int) -> Population:
    """The n best distinct genomes of a single-objective population, best first."""
    _, first = np.unique(pop.get("X"), axis=0, return_index=True)
    pop = pop[np.sort(first)]
    return pop[np.argsort(pop.get("F")[:, 0], kind="stable")[:n]]


def _cmaes(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator, spec: Spec):
    return RealsCMAES(generator, preset, initial, **spec.settings)


def _hybrid(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator, spec: Spec):
    if not is_differentiable(generator):
        raise ValueError(f"Optimizer 'hybrid' needs a generator that is differentiable in its reals;"
                         f" {type(generator).__name__} is not")
    return _polish(generator, preset, initial, evaluate, spec)


def _polish(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator, spec: Spec):
    settings = PolishSettings(**spec.settings)
    grad = GradientSettings(settings.elites, settings.steps, settings.step_size)
    refiner = Refiner(generator, evaluate, grad) if is_differentiable(generator) else None
    return ElitePolish(genetic(generator, preset, initial), generator.latent, settings, refiner)


def _pivot(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator, spec: Spec):
    return PivotSearch(generator, preset.pop_size, initial, **spec.settings)


Builder = Callable[[Generator, Preset, "np.ndarray | None", "Evaluator", "Spec"], Any]


@dataclass(frozen=True)
class Spec:
    """One optimizer: how to build it, what it can do, and its tuned settings."""

    build: Builder
    description: str
    multi_objective: bool = True  # can it run NSGA-II-style with the discriminator?
    needs_reals: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


OPTIMIZERS: dict[str, Spec] = {
    "ga": Spec(_ga, "the paper's genetic algorithm (NSGA-II with the discriminator)"),
    "random": Spec(_random, "random search: fresh samples every generation, the best kept"),
    "cmaes": Spec(_cmaes, "CMA-ES on the real genes; discrete genes from the best first sample",
                  multi_objective=False, needs_reals=True, settings={"sigma": 0.1, "popsize": None}),
    "hybrid": Spec(_hybrid, "the GA plus gradient steps through generator and CLIP on its elites",
                   needs_reals=True, settings={"elites": 2, "steps": 2, "step_size": 0.3, "bit_moves": 0,
                                               "int_moves": 0}),
    "polish": Spec(_polish, "the GA plus local moves around its best genomes: gradient steps on the reals"
                   " (where the generator allows), one class or one token changed",
                   settings={"elites": 2, "steps": 2, "step_size": 0.3, "bit_moves": 4, "int_moves": 4}),
    "pivot": Spec(_pivot, "zero-order search (Ma et al. 2025): variance-preserving neighbours of the best genome"
                  " so far", multi_objective=False, needs_reals=True, settings={"step": 0.1}),
}


def build_optimizer(generator: Generator, preset: Preset, initial: np.ndarray | None, evaluate: Evaluator) -> AskTell:
    """The ask-and-tell optimizer `preset.optimizer` names, checked against the generator."""
    spec = OPTIMIZERS[preset.optimizer]  # pipeline.check_names has checked the name
    if spec.needs_reals and generator.latent.n_real == 0:
        raise ValueError(f"Optimizer {preset.optimizer!r} searches real genes; this generator has none")
    return spec.build(generator, preset, initial, evaluate, spec)
