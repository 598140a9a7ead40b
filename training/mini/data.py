"""Coloured digit pictures and their captions, built from scikit-learn's bundled 8×8 digits.

Every picture is one of sklearn's 1,797 handwritten digits, upscaled to a random size, shifted a
little, and drawn in a foreground colour on a background colour from `PALETTE`. The digits are
split 80/20 (stratified, seeded) into training and held-out images, and a fixed 50 of the 560
(digit, foreground, background) combinations plus two caption templates are never used for
training any mini model, so that evaluation sees new handwriting, new combinations and new
phrasings.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from glass_core.nets.mini.draw import COLOURS, PALETTE, SIZE, draw, pose_from_unit  # noqa: F401 (re-exported)

SEED = 0

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# Every template names the foreground before the background, so a caption is read unambiguously.
TRAIN_TEMPLATES = [
    "a {fg} {d} on a {bg} background",
    "the number {d} in {fg} on {bg}",
    "a {fg} digit {d} on {bg}",
    "{d} written in {fg} on a {bg} background",
    "a {fg} {d} over {bg}",
]
# Held out: only words the training templates use, in new arrangements.
HELDOUT_TEMPLATES = [
    "the digit {d} in {fg} on a {bg} background",
    "a {fg} number {d} on a {bg} background",
]
PREFIXES = ["", "", "the picture of ", "a picture of "]  # GPT-2's captions start "the picture of"
HELDOUT_PER_DIGIT = 5


def digit_text(digit: int, numeral: bool) -> str:
    """A digit as a numeral ("7") or a word ("seven")."""
    return str(digit) if numeral else DIGIT_WORDS[digit]


def caption(digit: int, fg: str, bg: str, template: str, numeral: bool = False) -> str:
    """Fill a template with a digit and two colour names."""
    return template.format(d=digit_text(digit, numeral), fg=fg, bg=bg)


@lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits as (1797, 8, 8) floats in [0, 1] and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


@lru_cache(maxsize=1)
def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Seeded, per-digit 80/20 split of sklearn's digits: (train, held-out) indices."""
    _, labels = digits()
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(labels == d))
        cut = int(round(0.8 * len(idx)))
        train.append(idx[:cut])
        test.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def all_combos() -> list[tuple[int, str, str]]:
    """Every (digit, foreground, background) with two different colours: 560 of them."""
    return [(d, f, b) for d in range(10) for f in COLOURS for b in COLOURS if f != b]


@lru_cache(maxsize=1)
def heldout_combos() -> frozenset[tuple[int, str, str]]:
    """A seeded 5 colour pairs per digit (50 combinations) that no model trains on."""
    rng = np.random.default_rng(SEED + 1)
    pairs = [(f, b) for f in COLOURS for b in COLOURS if f != b]
    out = set()
    for d in range(10):
        for k in rng.choice(len(pairs), HELDOUT_PER_DIGIT, replace=False):
            out.add((d, *pairs[k]))
    return frozenset(out)


@lru_cache(maxsize=1)
def train_combos() -> tuple[tuple[int, str, str], ...]:
    """The 510 combinations the models train on."""
    held = heldout_combos()
    return tuple(c for c in all_combos() if c not in held)


def colour_tensor(names: list[str]) -> torch.Tensor:
    """Colour names to an (N, 3) float tensor in [0, 1]."""
    return torch.tensor([PALETTE[n] for n in names], dtype=torch.float32)


def random_pose(n: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """(n, 5) poses [box side px, shift x px, shift y px, angle rad, aspect]: the data's jitter."""
    u = torch.rand(n, 5, generator=gen) * 2 - 1
    return pose_from_unit(u)



def render(glyphs: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor,
           gen: torch.Generator | None = None, jitter: bool = True) -> torch.Tensor:
    """(N, 8, 8) glyphs in [0, 1] and (N, 3) colours -> (N, 3, 32, 32) pictures in [0, 1]."""
    n = glyphs.shape[0]
    pose = random_pose(n, gen) if jitter else pose_from_unit(torch.zeros(n, 5))
    return draw(glyphs, fg, bg, pose)


def render_combos(combos: list[tuple[int, str, str]], rng: np.random.Generator, split: str = "train",
                  index: np.ndarray | None = None, loose: float = 0.0) -> dict:
    """One jittered picture per (digit, fg, bg), in order, from one split's handwriting.

    `index` picks the handwritten glyphs (sklearn indices); by default a random one per digit.
    A `loose` share of the pictures is drawn loosely instead (training.mini.augment).
    """
    images, labels = digits()
    train, test = split_indices()
    pool = train if split == "train" else test
    if index is None:
        by_digit = {d: pool[labels[pool] == d] for d in range(10)}
        index = np.array([rng.choice(by_digit[d]) for d, _, _ in combos])
    fg = [f for _, f, _ in combos]
    bg = [b for _, _, b in combos]
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    pics = render(torch.from_numpy(images[index]), colour_tensor(fg), colour_tensor(bg), gen)
    if loose:
        from training.mini.augment import loose_render

        rows = np.flatnonzero(rng.random(len(combos)) < loose)
        if len(rows):
            pics[rows] = loose_render(torch.from_numpy(images[index[rows]]), colour_tensor([fg[i] for i in rows]),
                                      colour_tensor([bg[i] for i in rows]), rng)
    return {"images": pics, "digit": [d for d, _, _ in combos], "fg": fg, "bg": bg, "index": index}


def sample_pictures(n: int, rng: np.random.Generator, split: str = "train",
                    combos: list[tuple[int, str, str]] | tuple | None = None) -> dict:
    """n random pictures with their (digit, fg, bg) labels, combinations drawn from `combos`."""
    combos = combos if combos is not None else train_combos()
    picks = [combos[i] for i in rng.integers(0, len(combos), n)]
    return render_combos(picks, rng, split)


def random_caption(digit: int, fg: str, bg: str, rng: np.random.Generator,
                   templates: list[str] = TRAIN_TEMPLATES, prefix: bool = True) -> str:
    """One caption for a picture: a random template, digit form and (optionally) prefix."""
    text = caption(digit, fg, bg, templates[rng.integers(len(templates))], bool(rng.integers(2)))
    return (PREFIXES[rng.integers(len(PREFIXES))] + text) if prefix else text
