"""Timing a preset's search: glass's settings against a paper-faithful baseline, same process.

Each mode runs on components built for it (`build`): new generators and scorers over the same
network weights with the mode's speed options, so the components passed in, which a process may
share with others, are never changed.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from glass_core.generators.base import Generator
from glass_core.objective import Evaluator
from glass_core.options import apply_options
from glass_core.presets import Preset
from glass_core.scorer import ClipScorer
from glass_core.search import run_search


@dataclass(frozen=True)
class Mode:
    """One way to run the same search."""

    name: str
    precision: str
    whole_population: bool  # one batch per generation, instead of the paper's minibatches
    kv_cache: bool  # GPT-2 only
    lean: bool  # GPT-2 only: glass's lean decoder, or transformers' own cached forward
    small_scoring: bool  # StyleGAN2: score 256x256 images; diffusion: decode through TAESD to score
    channels_last: bool  # BigGAN only: convolutions on channels-last tensors
    text_shortcuts: bool  # image→text only: CLIP text tower trimmed to the captions, each embedded once
    compile: bool = False  # torch.compile generator and CLIP image tower (Preset.compile)
    static: bool = False  # fixed shapes replayed as CUDA graphs (glass_core.graphs, gpt2_static)

    def generator_options(self) -> dict[str, Any]:
        """Speed options for a generator; each kind takes those it has (glass_core.options)."""
        return {"kv_cache": self.kv_cache, "lean": self.lean, "channels_last": self.channels_last, "compile": self.compile,
                "score_resolution": 256 if self.small_scoring else None, "static": self.static,
                "score_decoder": "tiny" if self.small_scoring else "full"}

    def scorer_options(self) -> dict[str, Any]:
        """Speed options for the CLIP scorer."""
        return {"fast_text": self.text_shortcuts, "compile": self.compile, "static": self.static}


# What the paper's code did (galatolofederico/clip-glass): float32; the generator in the config's
# minibatches (GPT-2: its sampler ignored its batch of 25 and decoded the whole population at
# once, which the GPT2 preset's batch now says); GPT-2 with its key/value cache (`past`, every
# step of gpt2/sample.py) but no lean decoder; full-resolution images; CLIP's whole text tower
# for every caption. Its sampler always ran 30 steps; this path stops once every caption has
# ended, so the paper's own time is, if anything, longer than this baseline's.
BASELINE = Mode("paper", "fp32", whole_population=False, kv_cache=True, lean=False, small_scoring=False,
                channels_last=False, text_shortcuts=False)


def glass_mode(device: torch.device, small_scoring: bool = False, compile: bool = False,
               static: bool = False) -> Mode:
    """glass's own default settings on this device; 256 px scoring, compiling and CUDA graphs are opt-in."""
    suffixes = [("-256px", small_scoring), ("-compiled", compile), ("-graphs", static)]
    name = "glass" + "".join(suffix for suffix, on in suffixes if on)
    return Mode(name, "bf16" if device.type == "cuda" else "fp32", True, kv_cache=True, lean=True,
                small_scoring=small_scoring, channels_last=True, text_shortcuts=True, compile=compile, static=static)


def build(generator: Generator, scorer: ClipScorer, preset: Preset,
          mode: Mode) -> tuple[Generator, ClipScorer, Preset]:
    """The generator, scorer and preset that run `mode`: new components over the same weights."""
    batch = preset.pop_size if mode.whole_population else preset.batch_size
    return (apply_options(generator, **mode.generator_options()), apply_options(scorer, **mode.scorer_options()),
            preset.replace(precision=mode.precision, batch_size=batch))


def target_for(preset: Preset, scorer: ClipScorer) -> torch.Tensor:
    """A fixed target: a caption for text→image, a noise picture for image→text."""
    with torch.inference_mode():
        if preset.task == "text2image":
            return scorer.encode_texts(["a photograph of a dog in the woods"])
        noise = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        return scorer.encode_images(noise.to(scorer.device))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_mode(generator: Generator, scorer: ClipScorer, preset: Preset, generations: int) -> dict[str, Any]:
    """One timed search of `generations` generations; a first generation warms up (and compiles)."""
    target = target_for(preset, scorer)
    start = time.perf_counter()
    list(run_search(generator, scorer, target, preset.replace(generations=1)))
    _sync(scorer.device)
    warm_up = time.perf_counter() - start
    records = list(run_search(generator, scorer, target, preset.replace(generations=generations)))
    _sync(scorer.device)
    last = records[-1]
    return {"seconds_per_generation": last.elapsed / generations,
            "evaluations_per_second": last.evaluations / last.elapsed, "warm_up_seconds": warm_up,
            "share": {k: v / last.elapsed for k, v in last.timings.items()}}


def agreement(generator: Generator, scorer: ClipScorer, preset: Preset, precision: str, n: int = 32) -> dict[str, float]:
    """How far `precision` moves the similarities of n random genomes away from float32."""
    from glass_core.operators import LatentSampling

    genomes = generator.latent.repair(LatentSampling(generator.latent)._do(
        None, n, random_state=np.random.default_rng(0)))
    target = target_for(preset, scorer)
    ref, _ = Evaluator(generator, scorer, target, False, preset.batch_size, "fp32")(genomes)
    low, _ = Evaluator(generator, scorer, target, False, preset.batch_size, precision)(genomes)
    return {"max_abs_difference": float(np.abs(ref - low).max()),
            "spearman": float(spearmanr(ref, low).statistic) if ref.std() > 0 else 1.0}


def choice_agreement(generator: Generator, scorer: ClipScorer, preset: Preset, precision: str,
                     generations: int = 5) -> dict[str, Any]:
    """How `precision` changes what a short search chooses, against float32 with the same seed.

    Both chosen individuals are scored again in float32, so the difference is in what was found,
    not in how it was measured. On a CPU a search runs in float32 whatever it is asked (objective.
    effective_precision), so the two runs agree there.
    """
    target = target_for(preset, scorer)
    runs = {p: list(run_search(generator, scorer, target, preset.replace(generations=generations, precision=p)))
            for p in ("fp32", precision)}
    ref, low = runs["fp32"], runs[precision]
    apart = [r.generation for r, s in zip(ref, low) if not np.array_equal(r.population, s.population)]
    rescore = Evaluator(generator, scorer, target, False, preset.batch_size, "fp32")
    sims, _ = rescore(np.stack([ref[-1].genome, low[-1].genome]))
    return {"precision": precision, "generations": generations,
            "same_choice": bool(np.array_equal(ref[-1].genome, low[-1].genome)),
            "first_generation_apart": apart[0] if apart else None,
            "fp32_choice_similarity": float(sims[0]), "low_choice_similarity_in_fp32": float(sims[1]),
            "similarity_change": float(sims[1] - sims[0])}


def _timed(device: torch.device, run) -> tuple[dict[str, Any], float | None]:
    """run()'s figures and, on CUDA, the peak GPU memory it allocated (MB), counted from zero."""
    if device.type != "cuda":
        return run(), None
    torch.cuda.reset_peak_memory_stats(device)
    figures = run()
    return figures, torch.cuda.max_memory_allocated(device) / 2**20


def benchmark(generator: Generator, scorer: ClipScorer, preset: Preset, generations: int,
              repeats: int, modes: list[Mode], projection: int = 500) -> dict[str, Any]:
    """Median figures per mode over interleaved repeats, and each mode's speed-up over the first."""
    built = {mode.name: build(generator, scorer, preset, mode) for mode in modes}  # once: compiling is kept
    runs: dict[str, list[dict]] = {m.name: [] for m in modes}
    peaks: dict[str, list[float]] = {m.name: [] for m in modes}
    for _ in range(repeats):
        for mode in modes:  # interleaved, so that drift on a noisy machine hits both alike
            figures, peak = _timed(scorer.device, lambda: time_mode(*built[mode.name], generations))
            runs[mode.name].append(figures)
            peaks[mode.name] += [] if peak is None else [peak]
    out: dict[str, Any] = {"preset": preset.name, "pop_size": preset.pop_size, "generations": generations,
                           "repeats": repeats, "modes": {}}
    for mode in modes:
        rs = runs[mode.name]
        med = statistics.median(r["seconds_per_generation"] for r in rs)
        share = {k: statistics.median(r["share"][k] for r in rs) for k in rs[0]["share"]}
        eps = statistics.median(r["evaluations_per_second"] for r in rs)
        out["modes"][mode.name] = {"seconds_per_generation": med, "evaluations_per_second": eps,
                                   "first_warm_up_seconds": rs[0]["warm_up_seconds"],
                                   "share": share, "settings": mode.__dict__,
                                   "speed_options": {part: built[mode.name][i].speed_options
                                                     for i, part in enumerate(("generator", "scorer"))},
                                   # the first generation (warm-up, compiling, capture) and the rest at the median
                                   "projected_seconds": rs[0]["warm_up_seconds"] + (projection - 1) * med}
        if peaks[mode.name]:
            out["modes"][mode.name]["peak_gpu_mb"] = max(peaks[mode.name])
    base = out["modes"][modes[0].name]["seconds_per_generation"]
    for mode in modes[1:]:
        out["modes"][mode.name]["speedup_vs_" + modes[0].name] = base / out["modes"][mode.name]["seconds_per_generation"]
    out["projection_generations"] = projection
    out["fastest"] = min((m.name for m in modes[1:]), key=lambda n: out["modes"][n]["seconds_per_generation"],
                         default=modes[0].name)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if scorer.device.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated(scorer.device) / 2**20
    return out
