"""Targets per minute of a batch: the plain loop against Ray with 1 and 2 workers, same targets.

`python -m experiments.batch_speed` searches the same held-out mini captions with the plain loop
(one process), then on a local Ray with one and with two CPU workers, each into a fresh folder,
alternating the three ways over the repeats. Every search runs on one torch thread (Ray gives
each CPU worker one), so the plain loop against one worker is Ray's overhead alone. Writes benchmarks/batch_speed.{md,json} (see --out): set-up seconds (models loaded; Ray
started), search seconds, targets per minute of searching, and medians over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from experiments.common import command, describe_machine, heldout_captions, new_record, table, write_record

OUT = Path("benchmarks") / "batch_speed"
WAYS = ("plain loop", "Ray, 1 worker", "Ray, 2 workers")


def _targets(n: int, folder: Path):
    """n held-out mini captions as a batch targets file, read back as glass_core.batch reads it."""
    from glass_core.batch.targets import read_targets

    path = folder / "captions.txt"
    path.write_text("\n".join(text for text, _ in heldout_captions(n, 7, varied=True)) + "\n")
    return read_targets(path)


def _plain(preset, targets, out: Path) -> tuple[float, float]:
    """(set-up s, search s) of the plain loop: the Pipeline loaded once, the targets in turn."""
    from glass_core.batch.run import local_searcher, run_batch
    from glass_core.pipeline import Pipeline

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray worker runs
    try:
        start = time.perf_counter()
        pipe = Pipeline.from_preset(preset, device="cpu")
        loaded = time.perf_counter()
        summary = run_batch(targets, preset, out, {}, local_searcher(pipe, {}, "cpu"))
    finally:
        torch.set_num_threads(threads)
    assert summary.failed == 0, summary
    return loaded - start, time.perf_counter() - loaded


def _on_ray(workers: int) -> Callable:
    """(set-up s, search s) with `workers` Ray actors, each loading the Pipeline once."""
    def run(preset, targets, out: Path) -> tuple[float, float]:
        from glass_core.batch.run import run_batch
        from glass_core.remote import ray_searcher

        start = time.perf_counter()
        searcher, _, n = ray_searcher(preset, {}, "cpu", None, workers)
        loaded = time.perf_counter()
        summary = run_batch(targets, preset, out, {}, searcher)
        assert summary.failed == 0 and n == workers, summary
        return loaded - start, time.perf_counter() - loaded

    return run


def measure(preset_name: str, n_targets: int, repeats: int, log=print) -> dict:
    """Every way `repeats` times, alternating; per-run figures and medians."""
    import ray

    from glass_core.presets import get_preset

    preset = get_preset(preset_name)
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    runs: dict[str, list[dict]] = {way: [] for way in WAYS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            targets = _targets(n_targets, Path(tmp))
            for r in range(repeats):
                for way, fn in zip(WAYS, (_plain, _on_ray(1), _on_ray(2))):
                    setup, search = fn(preset, targets, Path(tmp) / f"{r}-{way.replace(' ', '')}")
                    runs[way].append({"setup_s": setup, "search_s": search, "per_minute": 60 * n_targets / search})
                    log(f"{way:15s} repeat {r}: set-up {setup:.1f} s, {n_targets} targets in {search:.1f} s")
    finally:
        ray.shutdown()
    medians = {way: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for way, rs in runs.items()}
    return {"preset": preset_name, "targets": n_targets, "repeats": repeats, "ray_start_s": ray_start,
            "runs": runs, "medians": medians}


def to_markdown(record: dict) -> str:
    """The medians as a table, with Ray's overhead and the two-worker speed-up in words."""
    med = record["medians"]
    plain = med["plain loop"]["per_minute"]
    rows = [[way, f"{m['setup_s']:.1f}", f"{m['search_s']:.1f}", f"{m['per_minute']:.1f}",
             f"{m['per_minute'] / plain:.2f}×"] for way, m in med.items()]
    one, two = med["Ray, 1 worker"]["per_minute"], med["Ray, 2 workers"]["per_minute"]
    lines = ["# Batch search: plain loop against Ray", "",
             f"{record['targets']} held-out mini captions through `{record['preset']}` (default settings), each way"
             f" {record['repeats']} times, alternating; medians; one torch thread per search. Starting Ray took {record['ray_start_s']:.1f} s"
             " (once, not counted below).", ""]
    lines += table(("way", "set-up s", "search s", "targets / min", "against the plain loop"), rows)
    lines += ["", f"Ray with one worker runs at {one / plain:.2f}× the plain loop's rate (its overhead per"
              f" target); two workers run at {two / one:.2f}× one worker, on this machine's 2 cores.", "",
              f"Machine: {describe_machine(record['machine'])}. Date: {record['date']}.", "",
              f"Command: `{record['command']}`. Per-run figures are in the .json file beside this one."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Measure and write the record."""
    parser = argparse.ArgumentParser(prog="python -m experiments.batch_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="mini_gan_d", help="a text→image preset (default mini_gan_d)")
    parser.add_argument("--targets", type=int, default=16, help="captions in the batch (at most 50)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each way")
    parser.add_argument("--out", type=Path, default=OUT, help=f"report path without extension (default {OUT})")
    args = parser.parse_args(argv)
    record = new_record(command("experiments.batch_speed", argv),
                        **measure(args.preset, args.targets, args.repeats))
    text = to_markdown(record)
    print(text)
    write_record(record, args.out, text)


if __name__ == "__main__":
    main()
