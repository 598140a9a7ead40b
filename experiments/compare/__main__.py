"""`python -m experiments.compare`: which optimizer reaches the paper GA's 500-generation score with a fifth of its evaluations.

Benchmarks: the embedded digits set (mini GAN + mini CLIP, judged independently) and planted
targets at the paper's genome sizes (experiments/compare/planted.py: BigGAN-deep 128 reals + 1000
bits, StyleGAN2 z 512, GPT-2's 20 tokens in its full vocabulary), plus `captions`: the trained mini
GPT-2 captioning held-out pictures, and `noise`: a diffusion-sized noise genome (4×64×64) against
best-of-N random sampling (experiments/compare/noise.py). Each benchmark writes
benchmarks/search_quality/<name>.json; the page benchmarks/search_quality.md is rebuilt from every
record there, so benchmarks can run in separate processes (one per core) and still make one page;
--keep re-measures some contenders against a record's references. A reference is the median final
similarity of several seeds of the reference method (--reference-seeds), per target.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

import torch

from experiments.common import command, new_record, write_record
from experiments.compare.benchmarks import Plan, digits, planted, reference_seeds
from experiments.compare.noise import NOISE_METHODS, REFERENCE_SEEDS, noise
from experiments.compare.report import benchmark_markdown, write_page
from experiments.compare.run import METHODS
from glass_core.weights import default_weights_root

OUT = Path("benchmarks") / "search_quality"
# Runs per contender: targets × seeds = 16 everywhere, over 8 targets: with 2 targets × 8 seeds
# GPT-2's record hung on one target whose reference (0.9980) one run in 40 reached.
PLANS = {name: Plan(8, (1, 2)) for name in ("digits", "biggan", "stylegan2", "gpt2", "captions")}
# noise: best-of-N's full budget N = 16 × 100 = 1,600 evaluations (Ma et al. ran 1,920), a quarter to contenders;
# its reference is the median of 5 best-of-N seeds from 101 on (the others': 3 paper-GA seeds from 0 on).
PLANS["noise"] = Plan(8, (1, 2), generations=100, reference_seeds=REFERENCE_SEEDS)
MEASURES = {"digits": digits, "noise": noise}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.compare", description=__doc__.splitlines()[0])
    p.add_argument("--benchmarks", nargs="+", choices=list(PLANS), default=list(PLANS), help="default: all")
    p.add_argument("--methods", nargs="+", choices=sorted({m.name for m in METHODS + NOISE_METHODS}),
                   help="default: all of the benchmark's")
    p.add_argument("--targets", type=int, help="targets per benchmark (default: its plan's)")
    p.add_argument("--seeds", type=int, nargs="+", help="contender seeds per target (default: its plan's)")
    p.add_argument("--generations", type=int, help="the reference's generations (default: its plan's)")
    p.add_argument("--reference-seeds", type=int, metavar="N",
                   help="seeds whose median final similarity is each target's reference, none of them a contender's"
                        " (default: the plan's, 3; noise 5)")
    p.add_argument("--weights", type=Path, help="weights root (default: weights/ or $GLASS_WEIGHTS)")
    # One thread: on a shared 2-core machine torch's default two spun against other processes.
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0: torch's default)")
    p.add_argument("--keep", action="store_true",
                   help="keep the record's references and the methods not run now (same plan only)")
    p.add_argument("--out", type=Path, default=OUT, help=f"folder of the records; the page is <out>.md (default {OUT})")
    return p


def _previous(path: Path, plan: Plan) -> dict[str, Any]:
    """The benchmark in the record at `path`, which must have run `plan` (else its runs don't compare)."""
    if not path.is_file():
        raise SystemExit(f"--keep: there is no record {path} to keep")
    record = json.loads(path.read_text())
    bench = record["benchmark"]
    for method in bench["methods"]:  # kept methods say which record they come from
        method.setdefault("kept_from", f"{record['date'][:16]} (`{record['command']}`)")
    if bench["plan"] != plan.as_json():
        raise SystemExit(f"--keep: {path} ran {bench['plan']}, this run would be {plan.as_json()}")
    return bench


def main(argv: list[str] | None = None) -> int:
    """Run each benchmark, write its record, rebuild the page."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.reference_seeds is not None and args.reference_seeds < 1:
        parser.error("--reference-seeds: the reference needs at least one seed")
    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.weights or default_weights_root()

    def log(line: str) -> None:
        print(line, flush=True)

    for name in args.benchmarks:
        base = PLANS[name]
        seeds = tuple(args.seeds or base.seeds)
        refs = reference_seeds(args.reference_seeds or len(base.reference_seeds), seeds, base.reference_seeds[0])
        plan = Plan(args.targets or base.targets, seeds, args.generations or base.generations, refs)
        previous = _previous(args.out / f"{name}.json", plan) if args.keep else None
        pool = NOISE_METHODS if name == "noise" else METHODS
        methods = [m for m in pool if not args.methods or m.name in args.methods]
        measure = MEASURES.get(name) or partial(planted, name)
        result = measure(methods, plan, root, log, previous)
        record = new_record(command("experiments.compare", argv), benchmark=result)
        write_record(record, args.out / name, benchmark_markdown(record))
    page = write_page(args.out)
    log(f"wrote {page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
