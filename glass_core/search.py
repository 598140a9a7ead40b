"""The search: pymoo's ask-and-tell loop, yielding one record per generation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from pymoo.core.problem import Problem

from glass_core.generators.base import Generator, genome_batches
from glass_core.optimizers import build_optimizer
from glass_core.presets import Preset
from glass_core.scorer import ClipScorer


@dataclass
class FrontPoint:
    """One member of the Pareto front of a two-objective search."""

    similarity: float
    realism: float  # the discriminator's logit: higher looks more real
    genome: np.ndarray


@dataclass
class GenerationRecord:
    """What one generation found: the individual to show and how the population is doing."""

    generation: int
    generations: int
    output: Image.Image | str  # the individual shown: best, or the front's compromise
    similarity: float
    realism: float | None
    genome: np.ndarray
    best_similarity: float  # over the whole population
    mean_similarity: float
    population: np.ndarray
    similarities: np.ndarray
    realisms: np.ndarray | None
    front: list[FrontPoint] | None
    evaluations: int
    elapsed: float
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


CAPTION_CACHE_SIZE = 20_000  # embeddings kept per search: 40 MB at CLIP ViT-B/32's 512 floats


class Evaluator:
    """Scores genomes: CLIP similarity to the target, and the discriminator when asked."""

    def __init__(self, generator: Generator, scorer: ClipScorer, target: torch.Tensor,
                 use_discriminator: bool, batch_size: int, precision: str = "fp32"):
        self.generator, self.scorer = generator, scorer
        self.target = target.reshape(-1).to(scorer.device)
        self.use_d, self.batch_size = use_discriminator, batch_size
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.autocast = dict(device_type=scorer.device.type, dtype=dtype, enabled=dtype is not None)
        self.timings = {"generator": 0.0, "discriminator": 0.0, "clip": 0.0, "operators": 0.0}
        self.evaluations = 0
        # Different genomes often give the same caption: CLIP embeds each caption once per search.
        self._captions: dict[str, torch.Tensor] = {}

    @torch.inference_mode()
    def __call__(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Similarities (N,) and realism logits (N,) or None."""
        sims, reals = [], []
        with torch.autocast(**self.autocast):
            for batch in genome_batches(genomes, self.batch_size):
                self._batch(batch, sims, reals)
        self.evaluations += len(genomes)
        return np.concatenate(sims), (np.concatenate(reals) if self.use_d else None)

    def _batch(self, batch: np.ndarray, sims: list, reals: list) -> None:
        """Generate, embed and (maybe) discriminate one batch, timing each part."""
        t0 = time.perf_counter()
        out = self.generator.generate(batch)
        t1 = time.perf_counter()
        emb = self.scorer.encode_images(out) if self.generator.modality == "image" else self._embed_captions(out)
        with torch.autocast(self.autocast["device_type"], enabled=False):  # the cosine in float32
            sim = emb.float() @ self.target
        # A broken output (NaN) must lose, not poison the sorting.
        sims.append(np.nan_to_num(sim.cpu().numpy(), nan=-1.0))
        t2 = time.perf_counter()
        if self.use_d:
            reals.append(self.generator.discriminate(out).float().cpu().numpy().reshape(-1))
        self.timings["generator"] += t1 - t0
        self.timings["clip"] += t2 - t1
        self.timings["discriminator"] += time.perf_counter() - t2

    def _embed_captions(self, captions: list[str]) -> torch.Tensor:
        """CLIP embeddings of captions (N, D), computing only those not seen before in this search."""
        if not self.scorer.fast_text:
            return self.scorer.encode_texts(captions)
        if len(self._captions) + len(captions) > CAPTION_CACHE_SIZE:
            self._captions.clear()
        new = [c for c in dict.fromkeys(captions) if c not in self._captions]
        if new:
            self._captions.update(zip(new, self.scorer.encode_texts(new)))
        return torch.stack([self._captions[c] for c in captions])


def objectives(sim: np.ndarray, realism: np.ndarray | None) -> np.ndarray:
    """pymoo minimises: -similarity, and hinge(1 - D(x)) when the discriminator is used."""
    if realism is None:
        return -sim[:, None]
    return np.stack([-sim, np.maximum(0.0, 1.0 - realism)], axis=1)


def compromise(F: np.ndarray) -> int:
    """The front member closest to the ideal point once both objectives are scaled to [0, 1]."""
    span = F.max(axis=0) - F.min(axis=0)
    scaled = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    return int(np.argmin(np.linalg.norm(scaled, axis=1)))


def run_search(generator: Generator, scorer: ClipScorer, target: torch.Tensor, preset: Preset,
               notes: tuple[str, ...] = (), initial: np.ndarray | None = None) -> Iterator[GenerationRecord]:
    """Search `generator`'s latent space for outputs CLIP finds closest to `target` (1, D).

    The generators are deterministic functions of the genome, so pymoo's generator, seeded
    with `preset.seed`, is the only randomness: the same seed gives the same run. `initial`
    genomes, if given, replace the random first population (all of them are scored again).
    """
    preset.validate()
    if preset.use_discriminator and not getattr(generator, "has_discriminator", False):
        raise ValueError(f"Preset {preset.name!r} asks for a discriminator that its generator lacks")
    lo, hi = generator.latent.bounds()
    n_var, n_obj = generator.latent.n_var, 2 if preset.use_discriminator else 1
    problem = Problem(n_var=n_var, n_obj=n_obj, xl=lo, xu=hi)
    if initial is not None and np.atleast_2d(initial).shape[1] != n_var:
        raise ValueError(f"Initial genomes have {np.atleast_2d(initial).shape[1]} genes; the latent has {n_var}")
    evaluate = Evaluator(generator, scorer, target, preset.use_discriminator, preset.batch_size, preset.precision)
    algorithm = build_optimizer(generator, preset, initial, evaluate)  # preset.optimizer: GA unless asked
    algorithm.setup(problem, termination=("n_gen", preset.generations), seed=preset.seed)
    shown: tuple[bytes, Image.Image | str] | None = None
    start = time.perf_counter()
    try:
        for gen in range(1, preset.generations + 1):
            t0 = time.perf_counter()
            pop = algorithm.ask()
            t1 = time.perf_counter()
            sims, realisms = evaluate(pop.get("X"))
            pop.set("F", objectives(sims, realisms), "sim", sims, "realism", realisms)
            t2 = time.perf_counter()
            algorithm.tell(infills=pop)
            evaluate.timings["operators"] += (t1 - t0) + (time.perf_counter() - t2)
            record, shown = _record(algorithm, evaluate, generator, gen, preset, shown, notes)
            record.elapsed = time.perf_counter() - start
            yield record
    finally:
        # Runs on normal end, on error and when the caller closes the iterator mid-search.
        del algorithm, evaluate
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def shown_member(F: np.ndarray, within: float | None) -> int:
    """Which front member to show: the compromise, or the most realistic near the top similarity."""
    if within is None:
        return compromise(F)
    sims = -F[:, 0]
    near = np.flatnonzero(sims >= sims.max() - within * (sims.max() - sims.min()))
    return int(near[np.argmin(F[near, 1])])


def _record(algorithm, evaluate: Evaluator, generator: Generator, gen: int, preset: Preset,
            shown: tuple[bytes, Image.Image | str] | None, notes: tuple[str, ...]):
    """Summarise the surviving population; re-render the shown individual only if it changed."""
    X, F = algorithm.pop.get("X"), algorithm.pop.get("F")
    sims = algorithm.pop.get("sim").astype(float)
    realisms = algorithm.pop.get("realism").astype(float) if preset.use_discriminator else None
    front = None
    if preset.use_discriminator:
        on_front = np.flatnonzero(algorithm.pop.get("rank") == 0)
        pick = on_front[shown_member(F[on_front], preset.show_within)]
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
        evaluations=evaluate.evaluations, elapsed=0.0, timings=dict(evaluate.timings), notes=notes,
    )
    return record, shown
