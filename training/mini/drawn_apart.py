"""Held-out pictures drawn apart from the training renderer: with PIL, large, and saved as JPEG.

No mini model trains on these. A glyph of the held-out handwriting is scaled with PIL's
bicubic filter to a random size, turned, pasted at a random place on a canvas of 48 to 160
pixels, coloured in shades mixed towards grey (not the palette's corners), and stored as a
JPEG of middling quality: what a person's screenshot or photo of a digit is like, and what
`experiments.evaluate` reports as "drawn differently".
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from training.mini import data

CANVASES = (48, 96, 128, 160)


def _shade(colour: str, rng: np.random.Generator) -> tuple[int, int, int]:
    """A palette colour mixed up to 30 % towards mid grey, as 8-bit RGB."""
    rgb = np.array(data.PALETTE[colour])
    mixed = rgb + rng.uniform(0.0, 0.3) * (0.5 - rgb)
    return tuple(int(v) for v in np.round(mixed * 255))


def _ink(glyph: np.ndarray, side: int, rng: np.random.Generator) -> Image.Image:
    """The 8×8 glyph as a stroke mask `side` pixels high, turned by up to 15 degrees."""
    small = Image.fromarray((glyph * 255).astype(np.uint8), "L")
    width = max(4, int(side * rng.uniform(0.7, 1.0)))
    big = small.resize((width, side), Image.BICUBIC)
    # A steeper ramp than the training renderer's: crisp strokes of PIL's own thickness.
    mask = big.point(lambda v: int(np.clip((v - 40) * 2.2, 0, 255)))
    return mask.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR, expand=True)


def draw_apart(glyph: np.ndarray, fg: str, bg: str, rng: np.random.Generator) -> Image.Image:
    """One picture of a glyph in two colours, drawn and stored the held-out way."""
    canvas = int(rng.choice(CANVASES))
    mask = _ink(glyph, int(canvas * rng.uniform(0.5, 0.75)), rng)
    picture = Image.new("RGB", (canvas, canvas), _shade(bg, rng))
    room_x, room_y = max(canvas - mask.width, 0), max(canvas - mask.height, 0)
    at = (int(rng.integers(0, room_x + 1)), int(rng.integers(0, room_y + 1)))
    picture.paste(Image.new("RGB", mask.size, _shade(fg, rng)), at, mask)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=int(rng.integers(30, 80)))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def pictures_apart(combos: list[tuple[int, str, str]], rng: np.random.Generator) -> list[Image.Image]:
    """One picture per (digit, fg, bg) in held-out handwriting, drawn the held-out way."""
    images, labels = data.digits()
    _, test = data.split_indices()
    by_digit = {d: test[labels[test] == d] for d in range(10)}
    return [draw_apart(images[rng.choice(by_digit[d])], fg, bg, rng) for d, fg, bg in combos]
