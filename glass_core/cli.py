"""Command line: `python -m glass_core text2image "a dog" …`, `… image2text photo.jpg`; batch and metrics: glass_core.batch.cli."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from glass_core.cli_args import default_device, search_overrides
from glass_core.errors import BadInputError, GlassError
from glass_core.presets import DEFAULT_PRESET, OPERATOR_SETS, PRESETS, get_preset

if TYPE_CHECKING:
    from glass_core.runcard import RunCard
    from glass_core.timelapse import Timelapse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m glass_core", description="CLIP-guided latent space search.")
    sub = parser.add_subparsers(dest="task", required=True)
    from glass_core.optimizers import OPTIMIZERS  # pymoo and torch: only once a command line is parsed
    for task, target_help in (("text2image", "the caption to draw"), ("image2text", "the image file to caption")):
        p = sub.add_parser(task, help=f"search for {'an image' if task == 'text2image' else 'a caption'}")
        if task == "text2image":  # the caption may be empty when a picture is the target
            p.add_argument("target", nargs="?", default="", help=target_help + " (may be empty with --image)")
            p.add_argument("--image", type=Path, help="a picture to search toward, alone or mixed with the caption")
            p.add_argument("--image-weight", type=float, default=1.0,
                           help="the picture's weight against the caption's parts (default 1; negative: away from it)")
        else:
            p.add_argument("target", help=target_help)
        names = [n for n, pr in PRESETS.items() if pr.task == task]
        p.add_argument("--preset", choices=names, default=DEFAULT_PRESET[task],
                       help=f"default: {DEFAULT_PRESET[task]} (the embedded set, no download)")
        p.add_argument("--generations", type=int, help="default: the preset's")
        p.add_argument("--pop-size", type=int, help="default: the preset's")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--no-discriminator", action="store_true", help="single-objective GA even if D exists")
        p.add_argument("--operators", choices=list(OPERATOR_SETS),
                       help="genetic operators: 'paper' as the paper's code ran them (GPT-2's and the mini GPT-2's"
                            " default), 'gentle' (StyleGAN2's), 'glass' (BigGAN's and the mini GAN's), 'noise'"
                            " (diffusion noise: variance-preserving mutation, block crossover)")
        p.add_argument("--optimizer", choices=list(OPTIMIZERS),
                       help="default: the preset's (polish for StyleGAN2); '--optimizer ga --operators paper'"
                            " runs the paper's GA")
        p.add_argument("--device", help="cpu, cuda, cuda:1, … (default: cuda when there is one, else cpu)")
        p.add_argument("--compile", action="store_true",
                       help="torch.compile the networks: minutes first, then faster generations")
        p.add_argument("--weights", type=Path, help="weights folder (default: the repository's weights/)")
        p.add_argument("--out", type=Path, default=Path("runs"), help="folder for the result and its run card")
    from glass_core.batch.cli import add_batch_commands  # batch and metrics

    add_batch_commands(sub)
    return parser


def run(args: argparse.Namespace) -> Path:
    """Run one search with a progress bar; write the result and run.json; return the folder."""
    from tqdm import tqdm

    from glass_core.batch.cli import out_folder
    from glass_core.images import open_image
    from glass_core.pipeline import Pipeline
    from glass_core.prompts import parse_prompts
    from glass_core.runcard import RunCard, describe_target
    from glass_core.targets import describe_parts, picture_target
    from glass_core.timelapse import Timelapse

    preset = get_preset(args.preset, **search_overrides(args))
    picture = getattr(args, "image", None)
    path = Path(args.target) if args.task == "image2text" else picture
    if path is not None and not path.is_file():
        raise BadInputError(f"{path}: no such file.")
    if args.task == "text2image":
        target = picture_target(args.target, None if picture is None else open_image(picture), args.image_weight)
        if isinstance(target, str):
            parse_prompts(target)  # a malformed caption is refused before anything is written
    else:
        target = open_image(args.target)
    out_folder(args.out, create=False)  # --out a file: one error line before any model loads
    device = args.device or default_device()
    pipe = Pipeline.from_preset(preset, device=device, weights_root=args.weights)
    card = RunCard(preset, describe_parts(target) if args.task == "text2image" else describe_target(target),
                   device=device)
    if path is not None:
        card.target["path"] = str(path)
    records = pipe.search(target)  # the target is encoded (and a bad one refused) here, before the first generation
    out_folder(args.out, create=True)  # an unwritable folder: one error line, before the search runs
    lapse = Timelapse()
    bar = tqdm(total=preset.generations, unit="gen", desc=preset.name)
    try:
        for rec in records:
            card.add(rec)
            lapse.add(rec)
            bar.update(1)
            bar.set_postfix(similarity=f"{rec.similarity:.4f}", evals=rec.evaluations)
    except KeyboardInterrupt:
        print("\nStopped: keeping what was found so far.", file=sys.stderr)
    finally:
        records.close()
        bar.close()
    return _write(card, args.out, lapse)


def _write(card: RunCard, out_root: Path, lapse: Timelapse | None = None) -> Path:
    """The result and run card (glass_core.runcard.save) in a fresh timestamped folder; says where."""
    from glass_core.runcard import save

    slug = re.sub(r"[^a-z0-9]+", "-", card.target.get("caption", card.target.get("path", "image")).lower())[:40]
    folder = out_root / f"{datetime.now():%Y%m%d-%H%M%S}-{slug.strip('-') or 'run'}"
    save(card, folder)
    if lapse is not None:
        lapse.save(folder / "timelapse")  # the best picture of each generation, animated
    output = card.last.output if card.last else None
    if isinstance(output, str):
        print(output)
    for note in (card.last.notes if card.last else ()):
        print(f"Note: {note}", file=sys.stderr)
    print(f"Saved to {folder}", file=sys.stderr)
    return folder


def main(argv: list[str] | None = None) -> int:
    """Entry point; GlassError becomes one clear line and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        if args.task in ("batch", "metrics"):
            from glass_core.batch.cli import run_batch_command, run_metrics_command

            return (run_batch_command if args.task == "batch" else run_metrics_command)(args)
        run(args)
    except GlassError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
