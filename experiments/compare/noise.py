"""The noise benchmark: which search beats best-of-N random sampling on a diffusion-sized noise genome.

Best-of-N random sampling is the field's baseline for searching a diffusion model's initial
noise (Ma et al. 2025), so it sets the reference here, not the paper's GA: per target, the
median final similarity of several seeds of best-of-N at the full budget N (one seed's score
would be a lottery ticket). Every contender then runs from other seeds with a quarter of N
and we record when, if ever, it first reaches that reference. Two rows frame them: best-of-N
with a quarter of N, and best-of-N from the contenders' seeds with all of N (about half of
those reach a median by construction). The generator is the planted 4×64×64 decoder
(experiments/compare/planted_noise.py) scored by the embedded mini CLIP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from experiments.compare.benchmarks import Plan, _merged, _method_entry, _run_entry, _reused, references
from experiments.compare.planted import mini_clip, planted_targets, TARGET_SEED
from experiments.compare.planted_noise import PlantedNoise
from experiments.compare.run import Method, run_target
from glass_core.presets import DEFAULT_SEARCH, NOISE_OPERATORS, Preset

Log = Callable[[str], None]
POP = 16  # the diffusion presets': 16 pictures a generation
REFERENCE_SEEDS = (101, 102, 103, 104, 105)  # best-of-N at the full budget, per target; the median is the reference
BEST_OF_N = "best-of-N random sampling"
BEST_OF_N_ALL = "best-of-N random sampling, other seeds, all N"
NOISE = {k: v for k, v in vars(NOISE_OPERATORS).items() if k != "name"}
SWAP = {"name": "noise-swap", **NOISE, "real_crossover": "swap"}
COARSE = {"name": "noise-coarse", **NOISE, "vp_step": 0.3}

NOISE_METHODS: tuple[Method, ...] = (
    Method(BEST_OF_N, {"optimizer": "random", "operators": "noise"}),
    Method("paper GA", {"optimizer": "ga", "operators": "paper"}),
    Method("GA, noise operators (blocks + VP step 0.1)", {"optimizer": "ga", "operators": "noise"}),
    Method("GA, noise operators with per-gene swap", {"optimizer": "ga", "operators": SWAP}),
    Method("GA, noise operators with VP step 0.3", {"optimizer": "ga", "operators": COARSE}),
    Method("polish, noise operators", {"optimizer": "polish", "operators": "noise"}),
    Method("zero-order search around a pivot (Ma et al.)", {"optimizer": "pivot", "operators": "noise"}),
    Method(BEST_OF_N_ALL, {"optimizer": "random", "operators": "noise"}, full_budget=True),
)


def noise_preset() -> Preset:
    """The diffusion presets' search on the planted decoder: population 16, the mini CLIP."""
    return Preset(name="planted_noise", task="text2image", generator="planted_noise", clip="mini", pop_size=POP,
                  batch_size=POP, **DEFAULT_SEARCH["diffusion"])


def noise(methods: list[Method], plan: Plan, weights: Path, log: Log,
          previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """References (median of best-of-N seeds), then every contender with a quarter of N."""
    generator, scorer, preset = PlantedNoise(), mini_clip(weights), noise_preset()
    full = POP * plan.generations
    budget = full // 4
    targets = planted_targets(generator, scorer, plan.targets, TARGET_SEED)
    reference = _reused(previous) or references(
        [f"hidden noise {i}" for i in range(len(targets))], plan.reference_seeds,
        lambda i, seed: run_target(generator, scorer, targets[i], preset, full, seed=seed, optimizer="random"), log)
    results = []
    for method in methods:
        evals, runs = full if method.full_budget else budget, []
        for ref, target in zip(reference, targets):
            for seed in plan.seeds:
                trace = run_target(generator, scorer, target, preset, evals, stop_at=ref["score"], seed=seed,
                                   **method.overrides)
                runs.append(_run_entry(ref["target"], seed, trace, ref["score"]))
        results.append(_method_entry(method, runs, budget, evals))
        log(f"  noise {method.name}: {results[-1]['summary']}")
    return {"name": "noise", "about": "diffusion noise: 16,384 N(0, 1) reals (4×64×64) through a random conv"
            " decoder", "preset": preset.name, "search": "diffusion", "pop_size": POP, "plan": plan.as_json(),
            "reference_evaluations": full, "target_evaluations": budget, "share": "a quarter",
            "reference_about": f"the median final similarity of best-of-N random sampling (N = {full} evaluations,"
            f" population {POP}) over seeds {list(plan.reference_seeds)}, per target",
            "floor": BEST_OF_N, "calibration": BEST_OF_N_ALL, "reference": reference,
            "methods": _merged(previous, results)}
