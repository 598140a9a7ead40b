"""`python -m experiments.caption_budget`: captioning searches at the mini preset's own budget, judged.

The `captions` benchmark (experiments.compare) stops a run once it reaches the reference, so it
sees how fast a search gets there, not what a person sees after a whole search. Here every
search runs `mini_gpt2`'s full budget (population 64 × 30 generations) on held-out pictures
(the benchmark's targets): per picture and seed, the final similarity, whether the caption
names the picture's digit and colours, and the generation from which the shown caption no longer
changed. A search that settled early on a wrong caption is a population collapsed onto it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from experiments.common import command, describe_machine, new_record, table, write_record
from experiments.compare.planted import PLANTED, TARGET_SEED, held_out_pictures, mini_clip
from experiments.compare.run import run_target
from glass_core.weights import default_weights_root

OUT = Path("benchmarks") / "caption_budget"
METHODS = {  # name -> preset overrides; the report marks the preset's own search
    "paper GA": {"optimizer": "ga", "operators": "paper"},
    "GA, glass operators": {"optimizer": "ga", "operators": "glass"},
    "polish, gentle operators": {"optimizer": "polish", "operators": "gentle"},
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.caption_budget", description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=int, default=8, help="held-out pictures (default 8, the captions benchmark's)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4], help="seeds per picture (default 1-4)")
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="default: all")
    p.add_argument("--generations", type=int, help="default: the preset's (30)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0: torch's default)")
    p.add_argument("--out", type=Path, default=OUT, help=f"record stem (default {OUT})")
    return p


def _settled(caption_per_generation: list[str]) -> int:
    """The first generation (1-based) from which the shown caption stayed the same."""
    last = len(caption_per_generation)
    while last > 1 and caption_per_generation[last - 2] == caption_per_generation[-1]:
        last -= 1
    return last


def measure(methods: list[str], n: int, seeds: list[int], generations: int | None,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every method from every seed on every picture, judged by the caption's digit and colours."""
    from training.mini.judge import Verdict, parse_caption

    problem = PLANTED["captions"]
    generator, scorer, preset = problem.build(), mini_clip(default_weights_root()), problem.preset()
    preset = preset.replace(generations=generations or preset.generations)
    budget = preset.pop_size * preset.generations
    targets, truth = problem.make_targets(generator, scorer, n), held_out_pictures(n, TARGET_SEED)
    out = []
    for name in methods:
        runs = []
        for i, target in enumerate(targets):
            want = Verdict(truth["digit"][i], truth["fg"][i], truth["bg"][i])
            for seed in seeds:
                trace = run_target(generator, scorer, target, preset, budget, seed=seed, **METHODS[name])
                with torch.inference_mode():
                    captions = generator.generate(np.stack(trace.shown))
                runs.append({"target": i, "seed": seed, "final": round(trace.best[-1], 5),
                             "right": parse_caption(captions[-1]) == want, "caption": captions[-1],
                             "settled": _settled(list(captions)), "seconds": round(trace.seconds, 2)})
        right = sum(r["right"] for r in runs)
        out.append({"name": name, "overrides": METHODS[name], "runs": runs, "right": right,
                    "mean_final": round(float(np.mean([r["final"] for r in runs])), 4),
                    "seconds_mean": round(float(np.mean([r["seconds"] for r in runs])), 2)})
        log(f"{name}: {right}/{len(runs)} right, mean final {out[-1]['mean_final']}")
    return {"preset": preset.name, "optimizer": preset.optimizer, "operators": preset.operators.name,
            "pop_size": preset.pop_size, "generations": preset.generations, "evaluations": budget,
            "targets": n, "seeds": seeds, "methods": out}


def markdown(record: dict[str, Any]) -> str:
    """The record as a page."""
    r = record["result"]
    lines = ["# Captioning at the preset's budget", "",
             f"Measured {record['date']} on {describe_machine(record['machine'])}. Command: `{record['command']}`.",
             "", f"`mini_gpt2`'s own search ({r['optimizer']}, {r['operators']} operators), population {r['pop_size']}"
             f" × {r['generations']} generations = {r['evaluations']} evaluations, on {r['targets']} held-out"
             f" pictures (the `captions` benchmark's) × seeds {r['seeds']}. Right: the caption names the"
             " picture's digit and both colours.", ""]
    default = {"optimizer": r["optimizer"], "operators": r["operators"]}
    rows = [[f"**{m['name']}** (default)" if m["overrides"] == default else m["name"], f"{m['right']}/{len(m['runs'])}",
             f"{m['mean_final']:.4f}", f"{m['seconds_mean']:.2f}"] for m in r["methods"]]
    lines += table(("search", "right", "mean final similarity", "seconds per search"), rows)
    lines += ["", "Wrong captions (picture, seed: final similarity, generation from which it stayed):", ""]
    for m in r["methods"]:
        wrong = [f"{x['target']}, {x['seed']}: {x['final']:.4f}, {x['settled']} (\"{x['caption']}\")"
                 for x in m["runs"] if not x["right"]]
        lines.append(f"- {m['name']}: " + ("; ".join(wrong) if wrong else "none"))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure, write <out>.json and <out>.md."""
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)  # one on a shared 2-core machine
    result = measure(args.methods, args.targets, args.seeds, args.generations)
    record = new_record(command("experiments.caption_budget", argv), result=result)
    json_path, _ = write_record(record, args.out, markdown(record))
    print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
