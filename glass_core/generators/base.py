"""The small protocol every generator speaks, and the latent space it searches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

import numpy as np
import torch
from PIL import Image

Modality = Literal["image", "text"]
RealInit = Literal["truncnorm", "normal", "uniform"]


@dataclass(frozen=True)
class LatentSpace:
    """A flat genome laid out as [reals | bits | integers], stored as one float array.

    Reals live in `real_bounds`; bits are 0/1; integers are whole numbers in
    `[int_bounds[0], int_bounds[1]]` (both inclusive).
    """

    n_real: int = 0
    real_bounds: tuple[float, float] = (-2.0, 2.0)
    real_init: RealInit = "truncnorm"
    n_bits: int = 0
    bit_init_prob: float = 0.005
    n_int: int = 0
    int_bounds: tuple[int, int] = (0, 1)

    @property
    def n_var(self) -> int:
        """Genome length."""
        return self.n_real + self.n_bits + self.n_int

    @property
    def reals(self) -> slice:
        """Where the reals sit in a genome."""
        return slice(0, self.n_real)

    @property
    def bits(self) -> slice:
        """Where the bits sit in a genome."""
        return slice(self.n_real, self.n_real + self.n_bits)

    @property
    def ints(self) -> slice:
        """Where the integers sit in a genome."""
        return slice(self.n_real + self.n_bits, self.n_var)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-gene lower and upper bounds, as pymoo wants them."""
        lo = np.concatenate([
            np.full(self.n_real, self.real_bounds[0], dtype=float),
            np.zeros(self.n_bits),
            np.full(self.n_int, self.int_bounds[0], dtype=float),
        ])
        hi = np.concatenate([
            np.full(self.n_real, self.real_bounds[1], dtype=float),
            np.ones(self.n_bits),
            np.full(self.n_int, self.int_bounds[1], dtype=float),
        ])
        return lo, hi

    def repair(self, genomes: np.ndarray) -> np.ndarray:
        """Clip every segment into range and round the discrete ones."""
        out = np.array(genomes, dtype=float, copy=True)
        lo, hi = self.real_bounds
        out[:, self.reals] = np.clip(out[:, self.reals], lo, hi)
        out[:, self.bits] = (out[:, self.bits] > 0.5).astype(float)
        ilo, ihi = self.int_bounds
        out[:, self.ints] = np.clip(np.rint(out[:, self.ints]), ilo, ihi)
        return out


@dataclass(frozen=True)
class Location:
    """Where a kind's weights are (or would be put), found without loading them."""

    on_disk: bool
    downloadable: bool  # a download source exists (whether or not this machine is offline)
    where: Path


@runtime_checkable
class Generator(Protocol):
    """Turns genomes into outputs that CLIP can embed.

    `generate` returns what is scored: images as a float tensor (N, 3, H, W) in [0, 1]
    on the generator's device, or captions as a list of strings. `show` returns what a
    person sees (PIL images at full resolution, or captions). A generator that also has
    a discriminator sets `has_discriminator = True` and implements `discriminate`. Speed
    options are fixed when it is built: `speed_options` says which, `with_options` builds
    another generator over the same weights (glass_core.options).
    """

    latent: LatentSpace
    modality: Modality
    has_discriminator: bool
    speed_options: dict[str, Any]

    def with_options(self, **options: Any) -> Generator:
        """A generator over the same weights with some speed options changed."""
        ...

    def generate(self, genomes: np.ndarray) -> torch.Tensor | list[str]:
        """Outputs to score, one per genome row."""
        ...

    def show(self, genomes: np.ndarray) -> list[Image.Image] | list[str]:
        """Outputs to display, one per genome row."""
        ...


class Discriminating(Protocol):
    """The optional second half of the protocol."""

    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        """Realism logits (N,), higher means more real, for images from `generate`."""
        ...


@runtime_checkable
class Conditional(Protocol):
    """The optional third part: a generator that takes the caption as its own prompt (diffusion).

    `bind` is called once when a search starts, so that the prompt is encoded once, not per
    generation; the paper's unconditional kinds lack it and `bind` below hands them back as they are.
    """

    def bind(self, condition: str) -> Generator:
        """A generator over the same weights, conditioned on `condition`."""
        ...


def bind(generator: Generator, condition: str | None) -> Generator:
    """`generator` conditioned on `condition` for one search; unconditional generators unchanged."""
    if condition is None or not isinstance(generator, Conditional):
        return generator
    return generator.bind(condition)


@dataclass(frozen=True)
class SecondObjective:
    """What a generator's second score (`discriminate`) means, as data for the search and the app."""

    label: str  # the front's axis and the app's checkbox: "realism", "fluency", "aesthetic score"
    # True: the score is a logit and NSGA-II minimises hinge(1 - score) (the paper's, for D); False:
    # a score to raise as it is (NSGA-II minimises -score).
    hinged: bool = True
    # "outputs": discriminate() reads what `generate` made; "embeddings": the search's unit CLIP
    # image embeddings of them, so a head over CLIP reuses the embedding instead of recomputing it.
    reads: Literal["outputs", "embeddings"] = "outputs"


REALISM = SecondObjective("realism")
FLUENCY = SecondObjective("fluency")
AESTHETIC = SecondObjective("aesthetic score", hinged=False, reads="embeddings")


def second_objective(generator: Generator) -> SecondObjective:
    """The generator's own second objective; the paper's D (realism) or GPT-2's fluency otherwise."""
    own = getattr(generator, "second_objective", None)
    return own if isinstance(own, SecondObjective) else (FLUENCY if generator.modality == "text" else REALISM)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(N, 3, H, W) floats in [0, 1] to a list of RGB PIL images."""
    arr = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    arr = arr.permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a, mode="RGB") for a in arr]


def genome_batches(genomes: np.ndarray, batch_size: int) -> Sequence[np.ndarray]:
    """Split a population into generator-sized chunks."""
    return [genomes[i:i + batch_size] for i in range(0, len(genomes), batch_size)]


def pad_rows(genomes: np.ndarray, size: int) -> np.ndarray:
    """`genomes` with its last row repeated up to `size` rows: one shape for every batch of a run."""
    missing = size - len(genomes)
    return genomes if missing <= 0 else np.concatenate([genomes, np.repeat(genomes[-1:], missing, axis=0)])
