"""The README's picture of mini_gan against mini_gan_d: `python -m experiments.mini_gan_figure`.

One caption, seeds 0-7, each preset at its defaults; top row without the discriminator, bottom
row with it. Writes docs/mini_gan_vs_d.png under the current directory (see --out).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

TILE, GAP = 96, 8
OUT = Path("docs") / "mini_gan_vs_d.png"


def strip(preset: str, caption: str, seeds: int, weights_root: Path | None = None) -> list[Image.Image]:
    """The final picture of one search per seed."""
    from experiments.common import last_record
    from glass_core.pipeline import Pipeline

    pipe = Pipeline.from_preset(preset, device="cpu", weights_root=weights_root)
    return [last_record(pipe.search(caption, seed=seed)).output.resize((TILE, TILE), Image.NEAREST)
            for seed in range(seeds)]


def main(argv: list[str] | None = None) -> None:
    """Draw both rows and save them."""
    p = argparse.ArgumentParser(prog="python -m experiments.mini_gan_figure", description=__doc__.splitlines()[0])
    p.add_argument("--caption", default="a green four on a black background")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--weights", type=Path, help="weights root (default: weights/ or $GLASS_WEIGHTS)")
    p.add_argument("--out", type=Path, default=OUT, help=f"the picture to write (default {OUT})")
    args = p.parse_args(argv)
    rows = [strip(name, args.caption, args.seeds, args.weights) for name in ("mini_gan", "mini_gan_d")]
    canvas = Image.new("RGB", (TILE * args.seeds, 2 * TILE + GAP), "white")
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            canvas.paste(picture, (c * TILE, r * (TILE + GAP)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
