"""`python -m experiments.compare`: which optimizer finds the best pictures per evaluation, judged independently.

On the embedded default set (mini GAN + mini CLIP), the paper's GA runs its full 500 generations
once per prompt; its final CLIP similarity is the reference. Every optimizer then runs from other
seeds up to a budget of evaluations; we record when each first matches the reference, and how
often the independent judge (training.mini.judge) reads the caption's digit and colours in the
picture shown after 400, 800, ... evaluations. Writes benchmarks/search_quality.{json,md} under
the current directory (see --out).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from experiments.common import command, new_record
from experiments.compare.report import summarise, write
from experiments.compare.run import CHECKPOINTS, METHODS, Method, Referee, Trace, judged, prompts, run
from glass_core.optimizers import OPTIMIZERS
from glass_core.pipeline import Pipeline
from glass_core.presets import get_preset
from glass_core.weights import default_weights_root

OUT = Path("benchmarks") / "search_quality"


def _curve(trace: Trace, checkpoints: tuple[int, ...]) -> list[list[float]]:
    """(evaluations, best similarity so far) at each checkpoint the run reached, and at its end."""
    points = [trace.at(c) for c in checkpoints if trace.evaluations[-1] >= c]
    points = sorted({i for i in points if i is not None} | {len(trace.evaluations) - 1})
    return [[trace.evaluations[i], round(trace.best[i], 5)] for i in points]


def _reference(pipe: Pipeline, referee: Referee, caption: str, generations: int) -> dict[str, Any]:
    """The paper's GA at the preset's population for `generations`, seed 0: the score to match."""
    preset = pipe.preset
    trace = run(pipe, caption, preset.pop_size * generations, optimizer="ga", seed=0)
    ok = referee.successes(pipe, caption, [trace.shown[-1]])[0]
    return {"caption": caption, "score": trace.best[-1], "evaluations": trace.evaluations[-1],
            "seconds": round(trace.seconds, 1), "judged": ok, "curve": _curve(trace, CHECKPOINTS)}


def _method(method: Method, pipes: dict[str, Pipeline], referee: Referee, reference: list[dict[str, Any]],
            seeds: list[int], budget: int, log) -> list[dict[str, Any]]:
    """Every (prompt, seed) run of one method, as JSON-able dicts."""
    runs = []
    pipe = pipes[method.preset]
    for ref in reference:
        for seed in seeds:
            trace = run(pipe, ref["caption"], budget, seed=seed, **method.overrides)
            verdicts = judged(referee, pipe, ref["caption"], trace, CHECKPOINTS)
            runs.append({"caption": ref["caption"], "seed": seed, "reach": trace.reach(ref["score"]),
                         "final_best": trace.best[-1], "seconds": round(trace.seconds, 1),
                         "judged": {str(c): v for c, v in verdicts.items()}, "curve": _curve(trace, CHECKPOINTS)})
            log(f"  {method.name:26s} seed {seed}: best {trace.best[-1]:.4f} (reference {ref['score']:.4f}),"
                f" reached after {runs[-1]['reach']} evaluations, {trace.seconds:.0f} s")
    return runs


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.compare", description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=3, help="how many held-out captions (default 3)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="seeds of the compared runs")
    p.add_argument("--reference-generations", type=int, default=500, help="the paper GA's generations")
    p.add_argument("--budget", type=int, default=0,
                   help="evaluations per compared run (default: two fifths of the reference's)")
    p.add_argument("--methods", nargs="+", choices=[m.name for m in METHODS], help="default: all")
    p.add_argument("--weights", type=Path, help="weights root (default: weights/ or $GLASS_WEIGHTS)")
    # One thread: on a shared 2-core machine torch's default two spun against other processes
    # and ran the mini models ten times slower than one.
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0: torch's default)")
    p.add_argument("--out", type=Path, default=OUT, help=f"output path without suffix (default {OUT})")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the reference, then every method; write the record."""
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m for m in METHODS if not args.methods or m.name in args.methods]
    root = args.weights or default_weights_root()
    pipes = {name: Pipeline.from_preset(name, weights_root=root) for name in {"mini_gan"} | {m.preset for m in methods}}

    def log(line: str) -> None:
        print(line, flush=True)

    referee, captions = Referee(), prompts(args.prompts)
    reference = []
    for caption in captions:
        reference.append(_reference(pipes["mini_gan"], referee, caption, args.reference_generations))
        log(f"reference {caption!r}: {reference[-1]['score']:.4f} after {reference[-1]['evaluations']}"
            f" evaluations ({reference[-1]['seconds']} s)")
    ref_evals = get_preset("mini_gan").pop_size * args.reference_generations
    target, budget = ref_evals // 5, args.budget or 2 * ref_evals // 5
    results = []
    for method in methods:
        log(f"{method.name}:")
        runs = _method(method, pipes, referee, reference, args.seeds, budget, log)
        results.append({"name": method.name, "preset": method.preset, "overrides": method.overrides,
                        "settings": OPTIMIZERS[method.overrides.get("optimizer", "ga")].settings,
                        "summary": summarise(runs, target, CHECKPOINTS), "runs": runs})
        log(f"  -> {results[-1]['summary']}")
    settings = {"prompts": captions, "seeds": args.seeds, "budget": budget, "target_evaluations": target,
                "reference_evaluations": ref_evals, "checkpoints": list(CHECKPOINTS),
                "reference": {"preset": "mini_gan", "pop_size": get_preset("mini_gan").pop_size,
                              "generations": args.reference_generations, "seed": 0}}
    record = new_record(command("experiments.compare", argv), settings=settings, reference=reference,
                        methods=results)
    write(record, args.out)
    log(f"wrote {args.out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
