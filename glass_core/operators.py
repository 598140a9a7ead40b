"""pymoo operators for a mixed genome [reals | bits | integers], one operator per segment.

Each segment gets the paper's operator: SBX and polynomial mutation on the reals, HUX and
bit-flip on the class bits, SBX and polynomial mutation followed by rounding on the integer
tokens. How often each runs is the `Operators` setting's (presets.py): the paper's code's, or
glass's. Every random draw comes from the `random_state` pymoo hands in, so one seed drives
the whole search.
"""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.mutation import Mutation
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.hux import HUX
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.crossover.ux import UX
from pymoo.operators.mutation.pm import PM
from scipy.stats import truncnorm

from glass_core.generators.base import LatentSpace
from glass_core.noise_operators import block_crossover, swap_crossover, vp_mutation
from glass_core.presets import Operators


def _segment_problem(lo: np.ndarray, hi: np.ndarray) -> SimpleNamespace:
    """The little of a pymoo Problem that the stock operators read: bounds and size."""
    return SimpleNamespace(xl=lo, xu=hi, n_var=len(lo))


class _Segments:
    """The genome's segments with their own bounds, for handing slices to stock operators."""

    def __init__(self, latent: LatentSpace, int_margin: float = 0.0):
        self.latent = latent
        lo, hi = latent.bounds()
        self.reals = _segment_problem(lo[latent.reals], hi[latent.reals])
        # pymoo 0.4.2 widened by 0.5 - 1e-16, so that rounding never leaves the bounds, and rounded
        # after each operator; with no margin the repair rounds once, after mutation.
        margin = max(int_margin - 1e-16, 0.0)
        self.ints = _segment_problem(lo[latent.ints] - margin, hi[latent.ints] + margin)
        self.round_ints = int_margin > 0


class LatentSampling(Sampling):
    """Initial population: truncated normal / normal / uniform reals, sparse bits, uniform ints."""

    def __init__(self, latent: LatentSpace):
        super().__init__()
        self.latent = latent

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        lat = self.latent
        X = np.zeros((n_samples, lat.n_var))
        lo, hi = lat.real_bounds
        shape = (n_samples, lat.n_real)
        if lat.real_init == "truncnorm":
            X[:, lat.reals] = truncnorm.rvs(lo, hi, size=shape, random_state=random_state)
        elif lat.real_init == "normal":
            X[:, lat.reals] = np.clip(random_state.standard_normal(shape), lo, hi)
        else:
            X[:, lat.reals] = random_state.uniform(lo, hi, size=shape)
        X[:, lat.bits] = random_state.random((n_samples, lat.n_bits)) < lat.bit_init_prob
        ilo, ihi = lat.int_bounds
        X[:, lat.ints] = random_state.integers(ilo, ihi + 1, size=(n_samples, lat.n_int))
        return X


class LatentCrossover(Crossover):
    """SBX on reals and integers, HUX on bits; two parents make two children."""

    def __init__(self, latent: LatentSpace, ops: Operators):
        mixed = ops.mixed_mating_prob is not None and latent.n_bits > 0 and latent.n_real + latent.n_int > 0
        # pymoo draws once per mating against this prob; matings it skips give copies of the parents.
        super().__init__(2, 2, prob=ops.mixed_mating_prob if mixed else ops.sbx_prob)
        self.seg = _Segments(latent, ops.int_margin)
        self.sbx = SBX(eta=ops.sbx_eta, prob=1.0)
        self.cross_reals = {"sbx": self._sbx_reals, "swap": swap_crossover,
                            "blocks": partial(block_crossover, channels=ops.noise_channels)}[ops.real_crossover]
        self.int_cross = self.sbx if ops.int_crossover == "sbx" else UX(prob=1.0)
        self.hux = HUX(prob=1.0)
        self.hux_prob = 1.0 if mixed else ops.hux_prob

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        lat, out = self.seg.latent, X.copy()
        if lat.n_real:
            out[..., lat.reals] = self.cross_reals(X[..., lat.reals], random_state)
        if lat.n_int:
            ints = self.int_cross._do(self.seg.ints, X[..., lat.ints], random_state=random_state)
            out[..., lat.ints] = np.rint(ints) if self.seg.round_ints else ints
        if lat.n_bits:
            bits = X[..., lat.bits].astype(bool)
            mixed = self.hux._do(None, bits, random_state=random_state)
            use = random_state.random(X.shape[1]) < self.hux_prob  # per mating
            out[:, use, lat.bits] = mixed[:, use]
        return out

    def _sbx_reals(self, parents: np.ndarray, random_state: np.random.Generator) -> np.ndarray:
        return self.sbx._do(self.seg.reals, parents, random_state=random_state)


class LatentMutation(Mutation):
    """Polynomial (or variance-preserving) mutation on reals, polynomial on integers, bit-flip on bits."""

    def __init__(self, latent: LatentSpace, ops: Operators):
        super().__init__(prob=1.0)  # each segment decides below how often it mutates
        self.seg = _Segments(latent, ops.int_margin)
        # prob_var None: pymoo 0.6's default, 1/n_var of the segment (at most 0.5).
        self.pm = PM(eta=ops.pm_eta, prob=1.0, prob_var=ops.pm_gene_prob)
        self.pm_prob = ops.pm_prob
        self.reset_rate = ops.pm_gene_prob  # per token, for int_mutation "reset" (None: 1/n_int)
        self.reset_ints = ops.int_mutation == "reset"
        self.bitflip_rate = ops.bitflip_rate if ops.bitflip_rate is not None else 1 / max(latent.n_bits, 1)
        self.vp = (ops.vp_step, ops.vp_prob) if ops.real_mutation == "vp" else None

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        lat, out = self.seg.latent, X.copy()
        reals = () if self.vp else ((lat.reals, self.seg.reals),)
        segments = reals + (() if self.reset_ints else ((lat.ints, self.seg.ints),))
        for sl, sub in segments:
            if sl.stop > sl.start:
                rows = random_state.random(len(X)) < self.pm_prob
                mutated = self.pm._do(sub, X[:, sl], random_state=random_state)
                out[rows, sl] = mutated[rows]
        if self.vp and lat.n_real:
            out[:, lat.reals] = vp_mutation(X[:, lat.reals], random_state, *self.vp)
        if self.reset_ints and lat.n_int:
            out[:, lat.ints] = self._reset(X[:, lat.ints], random_state)
        if self.seg.round_ints:
            out[:, lat.ints] = np.rint(out[:, lat.ints])
        if lat.n_bits:
            flip = random_state.random((len(X), lat.n_bits)) < self.bitflip_rate
            out[:, lat.bits] = np.where(flip, 1.0 - X[:, lat.bits], X[:, lat.bits])
        return out

    def _reset(self, ints: np.ndarray, random_state: np.random.Generator) -> np.ndarray:
        """Random-reset mutation: in `pm_prob` of the children, each token is redrawn at `reset_rate`."""
        n, k = ints.shape
        rate = self.reset_rate if self.reset_rate is not None else 1 / k
        hit = (random_state.random((n, 1)) < self.pm_prob) & (random_state.random((n, k)) < rate)
        lo, hi = self.seg.latent.int_bounds
        return np.where(hit, random_state.integers(lo, hi + 1, size=(n, k)), ints)


class LatentRepair(Repair):
    """Clip into bounds and round bits and integers, so every genome is a valid latent."""

    def __init__(self, latent: LatentSpace):
        super().__init__()
        self.latent = latent

    def _do(self, problem, X, **kwargs):
        return self.latent.repair(X)
