"""The README's picture of mini_gan against mini_gan_d: `python -m training.mini.figure`.

One caption, seeds 0-7, each preset at its defaults; top row without the discriminator, bottom
row with it. Writes docs/mini_gan_vs_d.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

TILE, GAP = 96, 8
OUT = Path(__file__).resolve().parents[2] / "docs" / "mini_gan_vs_d.png"


def strip(preset: str, caption: str, seeds: int) -> list[Image.Image]:
    """The final picture of one search per seed."""
    from glass_core.pipeline import Pipeline

    pipe = Pipeline.from_preset(preset, device="cpu")
    pictures = []
    for seed in range(seeds):
        *_, last = pipe.search(caption, seed=seed)
        pictures.append(last.output.resize((TILE, TILE), Image.NEAREST))
    return pictures


def main(argv: list[str] | None = None) -> None:
    """Draw both rows and save them."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--caption", default="a green four on a black background")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    rows = [strip(name, args.caption, args.seeds) for name in ("mini_gan", "mini_gan_d")]
    canvas = Image.new("RGB", (TILE * args.seeds, 2 * TILE + GAP), "white")
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            canvas.paste(picture, (c * TILE, r * (TILE + GAP)))
    canvas.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
