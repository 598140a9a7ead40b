"""Operators on reals that keep a diffusion model's initial noise a sample of N(0, I).

A one-step diffusion model was trained on standard-normal noise; a genome that drifts off that
distribution (shrinks toward the mean, as averaging crossovers such as SBX or a blend make it)
decodes to washed-out, off-distribution pictures. These operators keep every gene's marginal:

- `vp_mutation`: x' = sqrt(1 - s²)·x + s·ε with ε ~ N(0, I), variance-preserving for any s;
- `swap_crossover`: each gene from one parent or the other (per-gene uniform crossover);
- `block_crossover`: the genome read as a C×H×W latent; a child is one parent with a random
  rectangle (all channels) taken from the other, so regions of the picture are inherited.

Every draw comes from the generator passed in (pymoo's `random_state`), so one seed drives all.
"""

from __future__ import annotations

import math

import numpy as np


def noise_grid(n: int, channels: int) -> tuple[int, int, int]:
    """(C, H, W) of a flat noise of n reals: `channels` square planes, else one row of n."""
    side = math.isqrt(n // channels) if channels > 0 and n % channels == 0 else 0
    return (channels, side, side) if side > 0 and channels * side * side == n else (1, 1, n)


def swap_crossover(parents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(2, M, n) parents -> (2, M, n) children, each gene taken from either parent with chance 1/2."""
    a, b = parents
    take = rng.random(a.shape) < 0.5
    return np.stack([np.where(take, b, a), np.where(take, a, b)])


def block_masks(m: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """(m, C·H·W) masks, each one random rectangle of the H×W plane in every channel."""
    c, h, w = shape
    # Side lengths uniform in 1..H and 1..W (a quarter of the plane on average), anywhere they fit.
    dh, dw = rng.integers(1, h + 1, size=m), rng.integers(1, w + 1, size=m)
    top, left = rng.integers(0, h - dh + 1), rng.integers(0, w - dw + 1)
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < (top + dh)[:, None, None])
              & (cols >= left[:, None, None]) & (cols < (left + dw)[:, None, None]))
    return np.broadcast_to(inside[:, None], (m, c, h, w)).reshape(m, -1)


def block_crossover(parents: np.ndarray, rng: np.random.Generator, channels: int = 4) -> np.ndarray:
    """(2, M, n) parents -> (2, M, n) children: each parent with a rectangle of the other's latent."""
    a, b = parents
    mask = block_masks(a.shape[0], noise_grid(a.shape[1], channels), rng)
    return np.stack([np.where(mask, b, a), np.where(mask, a, b)])


def vp_mutation(x: np.ndarray, rng: np.random.Generator, step: float, prob: float) -> np.ndarray:
    """(N, n) -> (N, n): in `prob` of the rows, sqrt(1 - step²)·x + step·ε; the others unchanged."""
    out = np.array(x, dtype=float, copy=True)
    rows = np.flatnonzero(rng.random(len(x)) < prob)
    eps = rng.standard_normal((len(rows), x.shape[1]))
    out[rows] = math.sqrt(1.0 - step * step) * out[rows] + step * eps
    return out
