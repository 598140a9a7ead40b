"""Command line for many targets: `python -m glass_core batch TARGETS …` and `python -m glass_core metrics DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glass_core.batch.lock import folder_lock
from glass_core.cli_args import default_device, search_overrides
from glass_core.errors import BadInputError
from glass_core.presets import OPERATOR_SETS, PRESETS, get_preset


def add_batch_commands(sub: "argparse._SubParsersAction") -> None:
    """`batch TARGETS --preset P --out DIR …` and `metrics DIR`."""
    p = sub.add_parser("batch", help="search for every target of a file or folder, resumably")
    p.add_argument("targets", type=Path, help="a text file of captions (one a line), a folder of images, or a .jsonl"
                   ' file of {"caption": …} / {"image": path} with optional "seed" and preset fields')
    p.add_argument("--preset", required=True, choices=list(PRESETS), help="its task says what the targets must be")
    p.add_argument("--out", required=True,  # checked by out_folder: '' is refused, not taken as "."
                   help="folder for results, run cards, index.jsonl and report.html; rerun to resume")
    p.add_argument("--generations", type=int, help="default: the preset's")
    p.add_argument("--pop-size", type=int, help="default: the preset's")
    p.add_argument("--seed", type=int, default=0,
                   help="target i searches with seed SEED + i, unless its .jsonl line gives a seed (default 0)")
    p.add_argument("--no-discriminator", action="store_true", help="single-objective GA even if D exists")
    p.add_argument("--operators", choices=list(OPERATOR_SETS), help="genetic operators (see text2image --help)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, … (default: cuda when there is one, else cpu)")
    p.add_argument("--weights", type=Path, help="weights folder (default: the repository's weights/)")
    p.add_argument("--ray", action="store_true", help="search on a local Ray: one worker per GPU, else per CPU")
    p.add_argument("--address", help="search on the Ray cluster at ADDRESS ('auto': the one `ray start` runs here)")
    p.add_argument("--workers", type=int, help="with --ray/--address: how many workers (default: one per GPU,"
                   " else one per CPU)")
    p.add_argument("--timelapse", action="store_true",
                   help="also write each picture search as an animation, <name>-timelapse.webp, beside its result")
    p.add_argument("--metrics", action="store_true", help="then measure it, as the metrics command does")
    p.add_argument("--reference", type=Path, help="a folder of real pictures: also FID and IS (implies --metrics)")
    m = sub.add_parser("metrics", help="CLIPScore of a batch's results (FID and IS with --reference)")
    m.add_argument("out", help="the batch's --out folder")
    m.add_argument("--reference", type=Path, help="a folder of real pictures: also FID and Inception Score")
    m.add_argument("--device", help="cpu, cuda, … (default: cuda when there is one, else cpu)")
    m.add_argument("--weights", type=Path, help="weights folder (default: the repository's weights/)")


def run_batch_command(args: argparse.Namespace) -> int:
    """The batch: one Pipeline for all targets; 0 if every target is ok, 1 if some failed."""
    from glass_core.batch.targets import read_targets

    args.out = out_folder(args.out, create=False)
    overrides = search_overrides(args)
    base_seed = overrides.pop("seed")  # each target's own seed: base + index, or its .jsonl seed
    preset = get_preset(args.preset, **overrides)  # a bad --generations is the command's error
    targets = read_targets(args.targets, base_seed)
    _check_reference(args, preset.task)  # before the batch, not after hours of it
    out_folder(args.out, create=True)  # before the models load
    with folder_lock(args.out):  # a second batch on this folder is refused now, not after loading models
        try:
            summary, scorer = (_on_ray if args.ray or args.address else _here)(targets, preset, overrides, args)
        except KeyboardInterrupt:
            print(f"\nStopped: the finished targets are in {args.out}; run the same command again to go on.",
                  file=sys.stderr)
            return 130
        _report(summary, args)
        if args.metrics or args.reference:
            _measure(scorer, args)
    return 1 if summary.failed else 0


def _report(summary, args: argparse.Namespace) -> None:
    """What the batch command prints at the end."""
    print(f"{summary.total - summary.failed} of {summary.total} targets ok ({summary.skipped} already done,"
          f" {summary.ran} run now); report: {args.out / 'report.html'}", file=sys.stderr)
    if summary.failed:
        print(f"{summary.failed} target(s) failed: see {args.out / 'index.jsonl'}", file=sys.stderr)


def _here(targets, preset, overrides: dict, args: argparse.Namespace):
    """The batch in this process: the models load once, here; (summary, CLIP for the metrics)."""
    from glass_core.batch.run import local_searcher, run_batch
    from glass_core.pipeline import Pipeline

    device = args.device or default_device()
    pipe = Pipeline.from_preset(preset, device=device, weights_root=args.weights)
    searcher = local_searcher(pipe, overrides, device, args.timelapse)
    return run_batch(targets, preset, args.out, overrides, searcher), pipe.scorer


def _on_ray(targets, preset, overrides: dict, args: argparse.Namespace):
    """The batch on Ray workers (glass_core.remote); the metrics load their CLIP here afterwards."""
    import ray

    from glass_core.batch.run import run_batch
    from glass_core.remote import connect, ray_searcher

    started = not ray.is_initialized()
    connect(args.address)
    try:
        searcher, device, n = ray_searcher(preset, overrides, args.device, args.weights, args.workers,
                                         args.timelapse)
        print(f"Ray: {n} worker(s) on {device}", file=sys.stderr)
        return run_batch(targets, preset, args.out, overrides, searcher), None
    finally:
        if started:
            ray.shutdown()


def run_metrics_command(args: argparse.Namespace) -> int:
    """`metrics DIR`: loads only the CLIP of the batch's preset."""
    from glass_core.batch.metrics import preset_of

    args.out = out_folder(args.out, create=False)
    if not args.out.is_dir():
        raise BadInputError(f"{args.out}: no such batch folder.")
    with folder_lock(args.out):  # not while a batch writes into it
        _check_reference(args, get_preset(preset_of(args.out)).task)
        _measure(None, args)
    return 0


def out_folder(value: str | Path, create: bool) -> Path:
    """--out as a folder glass can write into (created with `create`), or one BadInputError saying why."""
    import os

    if not str(value).strip():
        raise BadInputError("--out needs a folder name; '' would be the current folder.")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise BadInputError(f"--out {path} is a file, not a folder.")
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.touch()  # os.access says yes to root even on a read-only file system
        probe.unlink()
    except OSError as err:
        raise BadInputError(f"--out {path}: cannot write into this folder ({err.strerror or err}).") from None
    return path


def _check_reference(args: argparse.Namespace, task: str) -> None:
    """With --reference: a text → image preset, a folder of pictures, and Inception's weights (or a way to them)."""
    if args.reference is None:
        return
    from glass_core.batch.fidelity import inception_weights, reference_pictures

    if task != "text2image":
        raise BadInputError("FID and IS measure pictures: --reference needs a text → image preset.")
    reference_pictures(args.reference)
    inception_weights(args.weights)


def _measure(scorer, args: argparse.Namespace) -> None:
    """Compute, write (metrics.json, report.html) and print a batch folder's metrics; no scorer: load its CLIP."""
    import torch

    from glass_core.batch.metrics import compute_metrics, describe, preset_of
    from glass_core.scorer import load_clip
    from glass_core.weights import default_weights_root

    clip = get_preset(preset_of(args.out)).clip
    if scorer is None:
        scorer = load_clip(clip, torch.device(args.device or default_device()), args.weights or default_weights_root())
    result = compute_metrics(scorer, args.out, clip, args.reference, args.device or default_device(), args.weights)
    print(describe(result))
    print(f"Written to {args.out / 'metrics.json'}", file=sys.stderr)
