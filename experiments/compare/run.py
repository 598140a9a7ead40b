"""Running the optimizers against each other at equal evaluations, and judging what they found."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from experiments.common import heldout_captions, last_record
from glass_core.generators.base import Generator
from glass_core.pipeline import Pipeline
from glass_core.presets import Preset
from glass_core.records import GenerationRecord
from glass_core.scorer import ClipScorer
from glass_core.search import run_search

CHECKPOINTS = (400, 800, 1600, 3200, 6400, 12800, 16000)  # evaluations at which outputs are judged


PAPER_GA = {"optimizer": "ga", "operators": "paper"}
CALIBRATION = "paper GA, other seeds, full 500 generations"


@dataclass(frozen=True)
class Method:
    """One contender: the optimizer and operators it selects, and where it runs."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    preset: str = "mini_gan"  # on the digits benchmark
    planted: bool = True  # also on the planted benchmarks (False: digits only, to save time)
    # A calibration, not a contender: it runs with the reference's whole budget, to show how often
    # the reference's own method reaches that score from other seeds.
    full_budget: bool = False


METHODS: tuple[Method, ...] = (
    Method("paper GA", PAPER_GA),
    Method("glass GA (operators before the paper's)", {"optimizer": "ga", "operators": "glass"}),
    Method("GA, gentle operators", {"optimizer": "ga", "operators": "gentle"}),
    Method("CMA-ES (reals; bits of the best first sample)", {"optimizer": "cmaes"}),
    # The floor: how much of a benchmark any search structure explains.
    Method("random search", {"optimizer": "random", "operators": "paper"}),
    Method("hybrid (GA + gradient on elites)", {"optimizer": "hybrid", "operators": "paper"}),
    Method("polish, paper operators", {"optimizer": "polish", "operators": "paper"}),
    Method("polish, gentle operators", {"optimizer": "polish", "operators": "gentle"}),
    Method("NSGA-II (discriminator)", PAPER_GA, preset="mini_gan_d", planted=False),
    Method(CALIBRATION, PAPER_GA, full_budget=True),
)


@dataclass
class Trace:
    """One run: after each generation, evaluations spent, the best similarity so far, the shown genome."""

    evaluations: list[int] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    shown: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, rec: GenerationRecord) -> None:
        """Note one generation's record."""
        self.evaluations.append(rec.evaluations)
        self.best.append(max(rec.best_similarity, self.best[-1] if self.best else -np.inf))
        self.shown.append(rec.genome)

    def reach(self, score: float) -> int | None:
        """Evaluations spent when the best similarity first reached `score` (None: never)."""
        hit = np.flatnonzero(np.asarray(self.best) >= score - 1e-6)
        return int(self.evaluations[hit[0]]) if len(hit) else None

    def at(self, evaluations: int) -> int | None:
        """Index of the last generation that ended within `evaluations` (None: none did)."""
        done = np.flatnonzero(np.asarray(self.evaluations) <= evaluations)
        return int(done[-1]) if len(done) else None


def run(pipe: Pipeline, caption: str, budget: int, **overrides: Any) -> Trace:
    """Search until `budget` evaluations are spent (the preset's evaluation budget: the search stops
    after the generation that reaches it, so the last one may overshoot a little)."""
    trace = Trace()
    start = time.perf_counter()
    last_record(pipe.search(caption, generations=min(budget, 100_000), evaluations=budget, **overrides),
                each=trace.add)
    trace.seconds = time.perf_counter() - start
    return trace


def run_target(generator: Generator, scorer: ClipScorer, target: torch.Tensor, preset: Preset, budget: int,
               stop_at: float | None = None, **overrides: Any) -> Trace:
    """As `run`, for a target embedding; with `stop_at`, the run also ends once its best reaches that score."""
    trace = Trace()
    preset = preset.replace(generations=min(budget, 100_000), evaluations=budget, **overrides)
    start = time.perf_counter()
    search = run_search(generator, scorer, target, preset)
    try:
        for rec in search:
            trace.add(rec)
            if stop_at is not None and trace.best[-1] >= stop_at - 1e-6:
                break
    finally:
        search.close()
    trace.seconds = time.perf_counter() - start
    return trace


def prompts(n: int, seed: int = 0) -> list[str]:
    """n captions of held-out (digit, colours) combinations in a held-out phrasing: new to every model."""
    return [text for text, _ in heldout_captions(n, seed)]  # more prompts keep the first ones


class Referee:
    """The independent judge: does the shown picture have the caption's digit and colours?"""

    def __init__(self) -> None:
        from training.mini.judge import Judge

        self.judge = Judge()

    def successes(self, pipe: Pipeline, caption: str, genomes: list[np.ndarray]) -> list[bool]:
        """For each genome: does the judge read exactly the caption's digit, foreground and background?"""
        from training.mini.judge import parse_caption

        if not genomes:
            return []
        truth = parse_caption(caption)
        with torch.inference_mode():
            images = pipe.generator.generate(np.stack(genomes))
        return [v == truth for v in self.judge.judge_images(images)]


def judged(referee: Referee, pipe: Pipeline, caption: str, trace: Trace,
           checkpoints: tuple[int, ...]) -> dict[int, bool | None]:
    """Success of the output shown after `c` evaluations, per checkpoint (None: the run stopped earlier)."""
    picks = {c: trace.at(c) for c in checkpoints if trace.evaluations[-1] >= c}
    picks = {c: i for c, i in picks.items() if i is not None}
    verdicts = referee.successes(pipe, caption, [trace.shown[i] for i in picks.values()])
    return {c: None for c in checkpoints} | dict(zip(picks, verdicts))
