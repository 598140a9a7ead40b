"""Write the Image → Text example pictures: mini-set style digits from held-out handwriting.

Run from the repository root: `python -m examples.make_examples`. The pictures are drawn from
scikit-learn's bundled digits by training.mini.data, so the project is free to ship them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glass_core.generators.base import to_pil
from training.mini.data import render_combos

HERE = Path(__file__).resolve().parent
# (digit, foreground, background): a few colour pairs, as the mini captions describe them.
PICTURES = [(7, "red", "blue"), (3, "yellow", "black"), (4, "white", "magenta"), (2, "green", "black")]


def main() -> None:
    """Render the pictures (32 px, the mini set's size) and save them as PNGs beside this script."""
    drawn = render_combos(PICTURES, np.random.default_rng(2021), split="test")
    for (digit, fg, bg), picture in zip(PICTURES, to_pil(drawn["images"])):
        path = HERE / f"{fg}-{digit}-on-{bg}.png"
        picture.save(path, optimize=True)
        print(path.relative_to(HERE.parent))


if __name__ == "__main__":
    main()
