"""Gradient steps on genomes' reals through a differentiable generator and CLIP (the hybrid's half).

A generator opts in by implementing `generate_differentiable(reals, genomes)`: the same images as
`generate`, but as a differentiable function of `reals` (an (N, n_real) tensor), the discrete
genes being read from `genomes`. Each forward + backward pass through generator and CLIP is
counted as one evaluation per genome, the same as scoring it: the comparison is honest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import torch

from glass_core.generators.base import Generator

if TYPE_CHECKING:
    from glass_core.objective import Evaluator


@runtime_checkable
class Differentiable(Protocol):
    """The optional part of the generator protocol that gradient steps need."""

    def generate_differentiable(self, reals: torch.Tensor, genomes: np.ndarray) -> torch.Tensor:
        """Images (N, 3, H, W) in [0, 1], differentiable in `reals` (N, n_real)."""
        ...


def is_differentiable(generator: Generator) -> bool:
    """True if the generator offers gradients with respect to its reals (and has reals)."""
    return isinstance(generator, Differentiable) and generator.latent.n_real > 0


@dataclass(frozen=True)
class GradientSettings:
    """How hard the hybrid pushes its elites each generation."""

    elites: int = 2  # how many of the best genomes take steps
    steps: int = 2  # forward + backward passes per elite per generation
    step_size: float = 0.3  # length of one step in latent units (Euclidean, over the reals)


class Refiner:
    """Normalised gradient ascent of CLIP similarity; the step halves whenever a step lost, also across calls."""

    def __init__(self, generator: Generator, evaluate: Evaluator, settings: GradientSettings):
        self.generator, self.evaluate, self.settings = generator, evaluate, settings
        self.lo, self.hi = generator.latent.real_bounds
        self.memory: dict[bytes, float] = {}  # genome bytes -> the step length it should try next

    def similarity(self, reals: torch.Tensor, genomes: np.ndarray) -> torch.Tensor:
        """CLIP similarity (N,) to the target, differentiable in `reals`."""
        images = self.generator.generate_differentiable(reals, genomes)
        # The target was embedded under inference mode; autograd needs an ordinary copy.
        return self.evaluate.scorer.encode_images(images) @ self.evaluate.target.clone()

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """The genomes with their reals moved `steps` times up the similarity gradient."""
        start = time.perf_counter()
        first = [[self.memory.get(g.tobytes(), self.settings.step_size)] for g in genomes]
        with torch.inference_mode(False), torch.enable_grad():
            reals, step = self._ascend(genomes, torch.tensor(first, device=self.evaluate.scorer.device))
        out = np.array(genomes, dtype=float, copy=True)
        out[:, self.generator.latent.reals] = reals.cpu().numpy()
        self._remember(genomes, out, step[:, 0].tolist())
        spent = time.perf_counter() - start
        timings = self.evaluate.timings
        timings["gradient"] = timings.get("gradient", 0.0) + spent
        # run_search books the whole of ask/tell as operator time; this part was not.
        timings["operators"] = timings.get("operators", 0.0) - spent
        return out

    def _remember(self, genomes: np.ndarray, moved: np.ndarray, steps: list[float]) -> None:
        """Step lengths for next time: finer for an elite whose moved copy lost, on for one that won."""
        self.memory = {}
        for genome, child, step in zip(genomes, moved, steps):
            # Still the elite next generation means the move lost: look closer.
            self.memory[genome.tobytes()] = step / 2
            self.memory[child.tobytes()] = min(1.5 * step, self.settings.step_size)

    def _ascend(self, genomes: np.ndarray, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`steps` normalised gradient steps from each genome's reals; the final points and step lengths."""
        device = self.evaluate.scorer.device
        x = torch.as_tensor(genomes[:, self.generator.latent.reals], dtype=torch.float32, device=device)
        prev = None
        for _ in range(self.settings.steps):
            x = x.detach().requires_grad_(True)
            sim = self.similarity(x, genomes)
            (grad,) = torch.autograd.grad(sim.sum(), x)
            self.evaluate.evaluations += len(genomes)
            x, sim = x.detach(), sim.detach()
            if prev is not None:
                # A step that lowered similarity is undone and retried at half the length.
                worse = (sim < prev[1])[:, None]
                x, grad = torch.where(worse, prev[0], x), torch.where(worse, prev[2], grad)
                sim, step = torch.where(worse[:, 0], prev[1], sim), torch.where(worse, step / 2, step)
            prev = (x, sim, grad)
            unit = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
            x = (x + step * unit).clamp(self.lo, self.hi)
        return x, step
