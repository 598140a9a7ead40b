"""`python -m experiments.bench`: speed and memory of each preset, glass against the paper's path.

Each preset runs in its own process, so that its peak memory is its own and one failure does not
stop the rest; within that process the paper-faithful baseline and glass's settings alternate.
Writes benchmarks/bench-<device>.{json,md} under the current directory (see --out). The GPT-2
presets need GPT-2's tokenizer (a folder, see --gpt2-tokenizer); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from experiments.bench.measure import BASELINE, agreement, benchmark, build, choice_agreement, glass_mode
from experiments.bench.models import GPT2_TOKENIZER, components
from experiments.bench.report import write
from experiments.common import command
from glass_core.presets import PRESETS, get_preset
from glass_core.weights import default_weights_root

CPU_DEFAULT = ["DeepMindBigGAN128", "GPT2", "mini_gan", "mini_gan_d", "mini_gpt2"]


def modes_for(options: dict, device: torch.device) -> list:
    """The paper's path, glass's defaults, and the opt-in settings that `options` allow on `device`."""
    if "score_decoder" in options:  # diffusion (no paper path): full-VAE scoring against TAESD's, same run
        return [glass_mode(device), dataclasses.replace(glass_mode(device, small_scoring=True), name="glass-taesd")]
    modes = [BASELINE, glass_mode(device)]
    if "score_resolution" in options:  # StyleGAN2: scoring at 256 px is opt-in
        modes.append(glass_mode(device, small_scoring=True))
    if "compile" in options:  # BigGAN: compiling pays only where the convolutions are large
        modes.append(glass_mode(device, compile=True))
    if "static" in options and device.type == "cuda":  # CUDA graphs: nothing to replay on a CPU
        modes.append(glass_mode(device, small_scoring="score_resolution" in options, static=True))
    return modes


def measure_one(name: str, device: torch.device, generations: int, repeats: int, weights_root: Path,
                pop_size: int | None = None, gpt2_tokenizer: Path = GPT2_TOKENIZER, projection: int = 500) -> dict:
    """All figures for one preset, in this process."""
    preset = get_preset(name) if pop_size is None else get_preset(name, pop_size=pop_size)
    generator, scorer = components(preset, device, weights_root, gpt2_tokenizer)
    modes = modes_for(generator.speed_options, device)
    result = benchmark(generator, scorer, preset, generations, repeats, modes, projection)
    low = glass_mode(device).precision
    if low != "fp32":  # what bf16 changes: the similarities, and the individual a search chooses
        fast = build(generator, scorer, preset, glass_mode(device))
        result["agreement"] = agreement(*fast, low)
        result["choice"] = choice_agreement(*fast, low, generations=max(generations, 5))
    return result


def _in_subprocess(name: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "experiments.bench", "--one", name, "--result-file", str(out),
               "--device", args.device, "--generations", str(args.generations), "--repeats", str(args.repeats),
               "--projection", str(args.projection)]
        if args.pop_size:
            cmd += ["--pop-size", str(args.pop_size)]
        if args.weights:
            cmd += ["--weights", str(args.weights)]
        cmd += ["--gpt2-tokenizer", str(args.gpt2_tokenizer)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return {"preset": name, "error": tail[:200]}
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure each preset, write the record."""
    p = argparse.ArgumentParser(prog="python -m experiments.bench", description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", help=f"names, or 'all' (default on CPU: {' '.join(CPU_DEFAULT)})")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--generations", type=int, default=3, help="timed generations per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--projection", type=int, default=500, help="generations to project a whole run's time to")
    p.add_argument("--pop-size", type=int, help="population for every preset (default: each preset's own)")
    p.add_argument("--weights", type=Path, help="weights folder (for the mini set)")
    p.add_argument("--gpt2-tokenizer", type=Path, default=GPT2_TOKENIZER,
                   help=f"folder of GPT-2's tokenizer, for the GPT-2 presets (default {GPT2_TOKENIZER})")
    p.add_argument("--out", type=Path, help="output path without suffix (default benchmarks/bench-<device>)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():  # before any preset fails on its own
        print(f"error: --device {args.device} asked for, but PyTorch {torch.__version__} sees no CUDA GPU here",
              file=sys.stderr)
        return 2
    if args.one:  # the child process
        result = measure_one(args.one, device, args.generations, args.repeats, args.weights or default_weights_root(),
                             args.pop_size, args.gpt2_tokenizer, args.projection)
        args.result_file.write_text(json.dumps(result))
        return 0
    names = args.presets or (list(PRESETS) if device.type == "cuda" else CPU_DEFAULT)
    names = list(PRESETS) if names == ["all"] else names
    results = []
    for name in names:
        print(f"benchmarking {name} …", file=sys.stderr, flush=True)
        results.append(_in_subprocess(name, args))
    out = args.out or Path("benchmarks") / f"bench-{device.type}"
    write(results, out, str(device), command("experiments.bench", argv))
    print(out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
