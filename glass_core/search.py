"""The search: pymoo's ask-and-tell loop, yielding one record per generation."""

from __future__ import annotations

import itertools
import time
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from pymoo.core.problem import Problem

from glass_core.generators.base import Generator, second_objective
from glass_core.objective import Evaluator, effective_precision, objectives, release_cuda_cache, shown_member
from glass_core.optimizers import build_optimizer
from glass_core.presets import Preset
from glass_core.records import FrontPoint, GenerationRecord
from glass_core.scorer import ClipScorer


def run_search(generator: Generator, scorer: ClipScorer, target: torch.Tensor, preset: Preset,
               notes: tuple[str, ...] = (), initial: np.ndarray | None = None) -> Iterator[GenerationRecord]:
    """Search `generator`'s latent space for outputs CLIP finds closest to `target` (1, D).

    The generators are deterministic functions of the genome, so pymoo's generator, seeded
    with `preset.seed`, is the only randomness: the same seed gives the same run. `initial`
    genomes, if given, replace the random first population (all of them are scored again).
    The search stops after `preset.generations` generations, or after the first generation
    that brings the evaluations to `preset.evaluations`, whichever comes first.
    """
    preset.validate()
    if preset.use_discriminator and not getattr(generator, "has_discriminator", False):
        raise ValueError(f"Preset {preset.name!r} asks for a discriminator that its generator lacks")
    lo, hi = generator.latent.bounds()
    n_var, n_obj = generator.latent.n_var, 2 if preset.use_discriminator else 1
    problem = Problem(n_var=n_var, n_obj=n_obj, xl=lo, xu=hi)
    if initial is not None and np.atleast_2d(initial).shape[1] != n_var:
        raise ValueError(f"Initial genomes have {np.atleast_2d(initial).shape[1]} genes; the latent has {n_var}")
    precision, note = effective_precision(preset.precision, scorer.device)
    notes = notes + ((note,) if note else ())
    evaluate = Evaluator(generator, scorer, target, preset.use_discriminator, preset.batch_size, precision)
    hinged = second_objective(generator).hinged
    algorithm = build_optimizer(generator, preset, initial, evaluate)  # preset.optimizer: GA unless asked
    # pymoo is told the generation count only for its own bookkeeping; `finished` is the stop rule.
    algorithm.setup(problem, termination=("n_gen", preset.generations), seed=preset.seed)
    shown: tuple[bytes, Image.Image | str] | None = None
    start = time.perf_counter()
    try:
        for gen in itertools.count(1):
            t0 = time.perf_counter()
            pop = algorithm.ask()
            t1 = time.perf_counter()
            sims, realisms = evaluate(pop.get("X"))
            pop.set("F", objectives(sims, realisms, hinged), "sim", sims, "realism", realisms)
            t2 = time.perf_counter()
            algorithm.tell(infills=pop)
            evaluate.timings["operators"] += (t1 - t0) + (time.perf_counter() - t2)
            record, shown = _record(algorithm, evaluate, generator, gen, preset, shown, notes)
            record.elapsed = time.perf_counter() - start
            yield record
            if finished(preset, gen, evaluate.evaluations):
                break
    finally:
        # Runs on normal end, on error and when the caller closes the iterator mid-search.
        del algorithm, evaluate
        release_cuda_cache()


def finished(preset: Preset, generation: int, evaluations: int) -> bool:
    """The stop rule: the generations are done, or the evaluation budget is spent."""
    return generation >= preset.generations or (preset.evaluations is not None and evaluations >= preset.evaluations)


def _record(algorithm, evaluate: Evaluator, generator: Generator, gen: int, preset: Preset,
            shown: tuple[bytes, Image.Image | str] | None, notes: tuple[str, ...]):
    """Summarise the surviving population; re-render the shown individual only if it changed."""
    X, F = algorithm.pop.get("X"), algorithm.pop.get("F")
    sims = algorithm.pop.get("sim").astype(float)
    realisms = algorithm.pop.get("realism").astype(float) if preset.use_discriminator else None
    front = None
    if preset.use_discriminator:
        on_front = np.flatnonzero(algorithm.pop.get("rank") == 0)
        pick = on_front[shown_member(F[on_front], preset.show_within, preset.front_pick)]
        front = [FrontPoint(float(sims[i]), float(realisms[i]), X[i].copy()) for i in on_front]
    else:
        pick = int(np.argmax(sims))
    key = X[pick].tobytes()
    if shown is None or shown[0] != key:
        shown = (key, generator.show(X[pick:pick + 1])[0])
    record = GenerationRecord(
        generation=gen, generations=preset.generations, output=shown[1],
        similarity=float(sims[pick]), realism=None if realisms is None else float(realisms[pick]),
        genome=X[pick].copy(), best_similarity=float(sims.max()), mean_similarity=float(sims.mean()),
        population=X.copy(), similarities=sims, realisms=realisms, front=front,
        evaluations=evaluate.evaluations, elapsed=0.0, timings=dict(evaluate.timings),
        notes=notes + tuple(evaluate.notes),  # the evaluator's (a halved batch) belong to this generation
    )
    evaluate.notes.clear()
    return record, shown
