"""What a search hands back after every generation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image


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
