import time, numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from glass_core.generators.base import LatentSpace
from glass_core.operators import LatentCrossover, LatentMutation, LatentRepair, LatentSampling
from glass_core.presets import OPERATOR_SETS
import dataclasses
LAT = LatentSpace(n_real=4*64*64, real_bounds=(-6, 6), real_init="normal")
PROB = Problem(n_var=LAT.n_var, n_obj=1, xl=LAT.bounds()[0], xu=LAT.bounds()[1])
def evolve(ops, n_gen=100, pop=16, seed=0, mutate=True):
    rng = np.random.default_rng(seed)
    X = LatentSampling(LAT).do(PROB, pop, random_state=rng).get("X")
    cx, mu = LatentCrossover(LAT, ops), LatentMutation(LAT, ops)
    for _ in range(n_gen):
        pairs = rng.permutation(pop).reshape(-1, 2)
        kids = cx.do(PROB, Population.new(X=X), pairs, random_state=rng)
        if mutate: kids = mu.do(PROB, kids, random_state=rng)
        X = LatentRepair(LAT).do(PROB, kids).get("X")
    return X
for name in ("noise","paper","glass"):
    t=time.perf_counter(); X = evolve(OPERATOR_SETS[name])
    print(name, time.perf_counter()-t, X.mean(1).round(3)[:4], X.var(1).round(3)[:6], "across members var", X.var(0).mean().round(3))
sw = dataclasses.replace(OPERATOR_SETS["noise"], real_crossover="swap")
X = evolve(sw); print("swap", X.mean(1).round(3)[:4], X.var(1).round(3)[:6], X.var(0).mean().round(3))
X = evolve(OPERATOR_SETS["paper"], mutate=False); print("paper nomut", X.var(1).round(3)[:6])
X = evolve(OPERATOR_SETS["noise"], mutate=False); print("noise nomut", X.var(1).round(3)[:6], X.var(0).mean().round(3))
