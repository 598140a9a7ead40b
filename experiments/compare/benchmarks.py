"""The benchmarks: the embedded digits set (judged independently) and the planted paper-size problems.

Each runs the paper's GA per target for the paper's 500 generations from several seeds (the
plan's reference seeds, default 3): the median of their final similarities is the reference
(one seed's score would be a lottery ticket). Every contender then runs from other seeds with a
fifth of those evaluations, and we record when (if ever) it first reaches the reference, and by
how much it fell short where it did not. Two rows frame the contenders: random search (how much
any search structure explains) and the paper GA from the contenders' seeds with the reference's
whole budget (how often one more seed of the reference's own method reaches the median of its
peers: about half, by construction, when the method is what sets the bar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import count, islice
from pathlib import Path
from typing import Any, Callable

import numpy as np

from experiments.compare.planted import PLANTED, mini_clip
from experiments.compare.report import summarise
from experiments.compare.run import (CHECKPOINTS, METHODS, PAPER_GA, Method, Referee, Trace, judged, prompts, run,
                                     run_target)
from glass_core.gradient import is_differentiable
from glass_core.optimizers import OPTIMIZERS
from glass_core.pipeline import Pipeline

Log = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """How many targets and seeds a benchmark runs (targets × seeds = runs per contender)."""

    targets: int = 8
    seeds: tuple[int, ...] = (1, 2)
    generations: int = 500  # the paper GA's, for the reference
    # The reference's seeds: per target, the median of their final similarities is the bar.
    reference_seeds: tuple[int, ...] = (0, 3, 4)

    def __post_init__(self) -> None:
        shared = sorted(set(self.seeds) & set(self.reference_seeds))
        if shared or not self.reference_seeds:
            # A contender from a reference seed would replay a run that set the bar.
            raise ValueError(f"The reference needs seeds of its own, apart from the contenders'"
                             f" {list(self.seeds)}; got {list(self.reference_seeds)}")

    def as_json(self) -> dict[str, Any]:
        """The plan as a record stores it (lists, not tuples)."""
        return {**vars(self), "seeds": list(self.seeds), "reference_seeds": list(self.reference_seeds)}


def reference_seeds(n: int, contenders: tuple[int, ...], start: int = 0) -> tuple[int, ...]:
    """The first n seeds from `start` on that no contender uses."""
    return tuple(islice((s for s in count(start) if s not in contenders), n))


def median_reference(label: str, seeds: tuple[int, ...], traces: list[Trace]) -> dict[str, Any]:
    """One target's reference: the median final similarity of the runs from `seeds`, each seed's final
    kept; the curve is the median run's. The exact score, not rounded: a run that finds the median
    run's own output ties it, and a rounded-up reference would count that tie as a miss."""
    finals = [float(t.best[-1]) for t in traces]
    middle = traces[int(np.argsort(finals, kind="stable")[len(finals) // 2])]
    return {"target": label, "score": float(np.median(finals)), "seeds": list(seeds), "finals": finals,
            "evaluations": max(t.evaluations[-1] for t in traces),
            "seconds": round(sum(t.seconds for t in traces), 1), "curve": curve(middle)}


def references(labels: list[str], seeds: tuple[int, ...], run_seed: Callable[[int, int], Trace], log: Log,
               extra: Callable[[int, list[Trace]], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every target's median reference; `run_seed(i, seed)` runs target i's reference method from `seed`."""
    out = []
    for i, label in enumerate(labels):
        traces = [run_seed(i, seed) for seed in seeds]
        out.append(median_reference(label, seeds, traces) | (extra(i, traces) if extra else {}))
        finals = " ".join(f"{f:.4f}" for f in out[-1]["finals"])
        log(f"reference {label!r}: {out[-1]['score']:.4f} (seeds {finals}; {out[-1]['seconds']:.0f} s)")
    return out


def paper_reference_about(preset: str, pop: int, plan: Plan, evaluations: int) -> str:
    """The Markdown's words for a paper-GA reference."""
    return (f"the median of {len(plan.reference_seeds)} seeds {list(plan.reference_seeds)} of the paper's GA"
            f" (preset `{preset}`'s population {pop}, faithful operators), per target, each {plan.generations}"
            f" generations = {evaluations} evaluations")


def curve(trace: Trace, checkpoints: tuple[int, ...] = CHECKPOINTS) -> list[list[float]]:
    """(evaluations, best similarity so far) at each checkpoint the run reached, and at its end."""
    points = [trace.at(c) for c in checkpoints if trace.evaluations[-1] >= c]
    points = sorted({i for i in points if i is not None} | {len(trace.evaluations) - 1})
    return [[trace.evaluations[i], round(trace.best[i], 5)] for i in points]


def _run_entry(label: str, seed: int, trace: Trace, score: float) -> dict[str, Any]:
    """One contender run as JSON: when it reached the reference, its best, and the shortfall."""
    return {"target": label, "seed": seed, "reach": trace.reach(score), "final_best": round(trace.best[-1], 5),
            "short_by": round(max(score - trace.best[-1], 0.0), 5), "evaluations": trace.evaluations[-1],
            "seconds": round(trace.seconds, 1), "curve": curve(trace)}


def _contenders(methods: list[Method], reals: bool, planted: bool, gradients: bool = True) -> list[Method]:
    """The methods that apply: planted problems skip the digits-only ones; no reals, no real-only optimizers;
    no gradients, no hybrid."""
    keep = [m for m in methods if (m.planted or not planted) and (gradients or m.overrides.get("optimizer") != "hybrid")]
    return [m for m in keep if reals or not OPTIMIZERS[m.overrides.get("optimizer", "ga")].needs_reals]


def _reused(previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The previous record's references (the reference runs are seeded, so they would come out the
    same): re-measuring one contender then skips the costliest runs."""
    return previous["reference"] if previous else []


def _merged(previous: dict[str, Any] | None, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The methods measured now, with the previous record's other methods kept, in METHODS order."""
    new = {r["name"] for r in results}
    kept = [r for r in (previous or {}).get("methods", []) if r["name"] not in new]
    order = {m.name: i for i, m in enumerate(METHODS)}
    return sorted(kept + results, key=lambda r: order.get(r["name"], len(order)))


def digits(methods: list[Method], plan: Plan, weights: Path, log: Log,
           previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mini GAN on held-out captions; the judge reads each shown picture at the checkpoints."""
    pipes = {name: Pipeline.from_preset(name, weights_root=weights) for name in {"mini_gan"} | {m.preset for m in methods}}
    referee, pop = Referee(), pipes["mini_gan"].preset.pop_size
    ref_evals = pop * plan.generations
    budget = ref_evals // 5
    captions = prompts(plan.targets)
    reference = _reused(previous) or references(
        captions, plan.reference_seeds, lambda i, seed: run(pipes["mini_gan"], captions[i], ref_evals, seed=seed,
                                                             **PAPER_GA), log,
        # Each reference seed's final picture, judged: how often the bar itself is right.
        lambda i, traces: {"judged": referee.successes(pipes["mini_gan"], captions[i], [t.shown[-1] for t in traces])})
    results = []
    for method in _contenders(methods, True, False):
        evals, runs = ref_evals if method.full_budget else budget, []
        for ref in reference:
            for seed in plan.seeds:
                trace = run(pipes[method.preset], ref["target"], evals, seed=seed, **method.overrides)
                verdicts = judged(referee, pipes[method.preset], ref["target"], trace, CHECKPOINTS)
                runs.append(_run_entry(ref["target"], seed, trace, ref["score"])
                            | {"judged": {str(c): v for c, v in verdicts.items()}})
        results.append(_method_entry(method, runs, budget, evals))
        log(f"  digits {method.name}: {results[-1]['summary']}")
    return {"name": "digits", "about": "embedded mini GAN (32 reals + 10 class bits) and mini CLIP; held-out"
            " captions, judged independently", "preset": "mini_gan", "pop_size": pop, "plan": plan.as_json(),
            "reference_about": paper_reference_about("mini_gan", pop, plan, ref_evals),
            "reference_evaluations": ref_evals, "target_evaluations": budget, "reference": reference,
            "methods": _merged(previous, results)}


def _method_entry(method: Method, runs: list[dict[str, Any]], target: int, budget: int) -> dict[str, Any]:
    return {"name": method.name, "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "preset": method.preset, "overrides": method.overrides, "budget": budget,
            "settings": OPTIMIZERS[method.overrides.get("optimizer", "ga")].settings,
            "summary": summarise(runs, target, CHECKPOINTS), "runs": runs}


def planted(name: str, methods: list[Method], plan: Plan, weights: Path, log: Log,
            previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """One planted problem: references, then every contender stopped at a fifth of the evaluations or on reaching it."""
    problem = PLANTED[name]
    generator, scorer, preset = problem.build(), mini_clip(weights), problem.preset()
    ref_evals = preset.pop_size * plan.generations
    budget = ref_evals // 5
    targets = problem.make_targets(generator, scorer, plan.targets)
    reference = _reused(previous) or references(
        [f"{problem.target_name} {i}" for i in range(len(targets))], plan.reference_seeds,
        lambda i, seed: run_target(generator, scorer, targets[i], preset, ref_evals, seed=seed, **PAPER_GA), log)
    results = []
    for method in _contenders(methods, generator.latent.n_real > 0, True, is_differentiable(generator)):
        evals, runs = ref_evals if method.full_budget else budget, []
        for ref, target in zip(reference, targets):
            for seed in plan.seeds:
                # Stopped on reaching the reference: the evaluations it took are what is compared.
                trace = run_target(generator, scorer, target, preset, evals, stop_at=ref["score"], seed=seed,
                                   **method.overrides)
                runs.append(_run_entry(ref["target"], seed, trace, ref["score"]))
        results.append(_method_entry(method, runs, budget, evals))
        log(f"  {name} {method.name}: {results[-1]['summary']}")
    return {"name": name, "about": problem.about, "preset": problem.paper_preset, "pop_size": preset.pop_size,
            "plan": plan.as_json(), "reference_about": paper_reference_about(problem.paper_preset, preset.pop_size,
                                                                             plan, ref_evals),
            "reference_evaluations": ref_evals, "target_evaluations": budget,
            "reference": reference, "methods": _merged(previous, results)}
