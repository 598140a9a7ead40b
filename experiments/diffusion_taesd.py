"""How often scoring through TAESD picks the individual the full VAE would pick (issue 25, point 4).

    python -m experiments.diffusion_taesd [--targets 8] [--out benchmarks/diffusion_taesd]

A planted setup on a tiny random SD-Turbo-shaped pipeline (no real weights can be downloaded
here): the tiny TAESD is first distilled to imitate the tiny VAE's decoder, as the real TAESD
imitates SD's VAE. Each target is the embedded mini CLIP's embedding of a hidden noise's
full-VAE picture (what a person is shown). For populations of the preset's size, random ones
and those a TAESD-scored search reaches, it counts how often the best individual under TAESD
scoring is the best under full-VAE scoring, and what the full VAE's similarity loses when not.

Writes benchmarks/diffusion_taesd.{json,md} under the current directory (see --out).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from experiments.common import command, describe_machine, new_record, table, write_record
from glass_core.generators.diffusion import DiffusionGenerator
from glass_core.generators.diffusion_build import build_pipeline, build_tiny, tiny
from glass_core.operators import LatentSampling
from glass_core.presets import Preset
from glass_core.scorer import load_clip
from glass_core.search import run_search
from glass_core.weights import REPO_WEIGHTS

OUT = Path("benchmarks") / "diffusion_taesd"
SIZE = 64  # pixels: 4×8×8 noise genes on the tiny pipeline
POP = 16  # the SDTurbo presets' population


def tiny_generator(seed: int, distil_steps: int) -> tuple[DiffusionGenerator, float]:
    """The tiny pipeline with a TAESD distilled on its own denoised latents; the final relative error."""
    torch.manual_seed(seed)
    pipe = build_pipeline("StableDiffusionPipeline", tiny("StableDiffusionPipeline"))
    pipe.set_progress_bar_config(disable=True)
    gen = DiffusionGenerator(pipe, build_tiny(full=False).eval(), torch.device("cpu"), SIZE).bind("a red apple")
    rng = np.random.default_rng(seed)
    denoised_like_sd(gen, rng)
    optimiser = torch.optim.Adam(gen.tiny.decoder.parameters(), lr=3e-3)
    err = float("nan")
    for step in range(distil_steps):
        latents = gen.denoise(rng.standard_normal((8, gen.latent.n_var))).clone()
        with torch.no_grad():
            want = gen.decode(latents, "full").clone()
        got = gen.tiny.decode(latents).sample / 2 + 0.5  # unclamped: a clamp would stop the gradient
        loss = torch.nn.functional.mse_loss(got, want)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        err = float(loss.detach().sqrt() / want.std())
        if step % 50 == 0:
            print(f"distilling: step {step}, relative RMS error {err:.3f}", flush=True)
    gen.tiny.eval().requires_grad_(False)
    return gen, err


def denoised_like_sd(gen: DiffusionGenerator, rng: np.random.Generator) -> None:
    """Make the random UNet a residual noise predictor, so one step leaves latents of std ~1.

    A trained one-step model predicts nearly all of the noise, leaving SD-scaled latents of
    about unit spread, which is what TAESD (tanh-limited to ±3) and the VAE are built for; a
    random UNet predicts almost none, leaving latents 15 times too wide. The hook returns
    input - a·u (u the random UNet's output), scaled so that the denoised latents have std 1.
    """
    outputs: list[torch.Tensor] = []
    probe = gen.pipe.unet.register_forward_hook(lambda m, args, out: outputs.append(out[0]))
    gen.denoise(rng.standard_normal((8, gen.latent.n_var)))
    probe.remove()
    sigma = float(gen.pipe.scheduler.sigmas.max())
    a = 1.0 / (sigma * float(outputs[0].std()))
    gen.pipe.unet.register_forward_hook(lambda m, args, out: (args[0] - a * out[0], *out[1:]))


@torch.inference_mode()
def similarities(gen: DiffusionGenerator, clip, genomes: np.ndarray, target: torch.Tensor) -> dict[str, np.ndarray]:
    """Similarity of each genome's picture to the target, decoded by TAESD and by the full VAE."""
    latents = gen.denoise(genomes)
    return {dec: (clip.encode_images(gen.decode(latents, dec)) @ target.T).ravel().numpy() for dec in ("tiny", "full")}


def compare(sims: dict[str, np.ndarray]) -> dict[str, float]:
    """Whether TAESD's pick is the full VAE's, what the full VAE's similarity loses, and the rank correlation."""
    tiny_pick, full_pick = int(np.argmax(sims["tiny"])), int(np.argmax(sims["full"]))
    return {"same_choice": float(tiny_pick == full_pick),
            "loss": float(sims["full"][full_pick] - sims["full"][tiny_pick]),
            "spearman": float(spearmanr(sims["tiny"], sims["full"]).statistic)}


def run(targets: int, distil_steps: int, generations: int, seed: int) -> dict:
    """Agreement on random populations and on the populations of TAESD-scored searches."""
    t0 = time.perf_counter()
    gen, distil_error = tiny_generator(seed, distil_steps)
    clip = load_clip("mini", torch.device("cpu"), REPO_WEIGHTS)
    sample = LatentSampling(gen.latent).do
    rows: dict[str, list[dict[str, float]]] = {"random population": [], "searched population": []}
    for t in range(targets):
        hidden = sample(None, 1, random_state=np.random.default_rng(1000 + t)).get("X")
        with torch.inference_mode():
            target = clip.encode_images(gen.decode(gen.denoise(hidden), "full"))
        pop = sample(None, POP, random_state=np.random.default_rng(2000 + t)).get("X")
        rows["random population"].append(compare(similarities(gen, clip, pop, target)))
        preset = Preset(name="planted", task="text2image", generator="sd_turbo", clip="mini", pop_size=POP,
                        generations=generations, batch_size=POP, seed=t)
        last = list(run_search(gen, clip, target, preset))[-1]  # scored through TAESD, the default
        rows["searched population"].append(compare(similarities(gen, clip, last.population, target)))
    summary = {name: {"populations": len(r), "same_choice": sum(x["same_choice"] for x in r) / len(r),
                      "median_loss": statistics.median(x["loss"] for x in r),
                      "max_loss": max(x["loss"] for x in r),
                      "median_spearman": statistics.median(x["spearman"] for x in r)} for name, r in rows.items()}
    return {"summary": summary, "rows": rows, "distil_relative_error": distil_error,
            "settings": {"targets": targets, "distil_steps": distil_steps, "generations": generations, "seed": seed,
                         "pop": POP, "size": SIZE}, "seconds": time.perf_counter() - t0}


def markdown(record: dict) -> str:
    """The record for a person."""
    s = record["settings"]
    rows = [[name, f"{v['same_choice'] * v['populations']:.0f}/{v['populations']}", f"{v['median_loss']:.4f}",
             f"{v['max_loss']:.4f}", f"{v['median_spearman']:.3f}"] for name, v in record["summary"].items()]
    return "\n".join([
        "# Diffusion: scoring through TAESD against the full VAE", "",
        f"{record['date']} · {describe_machine(record['machine'])} · `{record['command']}`", "",
        *table(["population", "TAESD picks the full VAE's best", "median similarity lost", "max lost",
                "median Spearman"], rows), "",
        "## Setup", "",
        f"- A tiny random pipeline of SD-Turbo's classes ({s['size']} px, 4×8×8 noise), not sd-turbo's weights:"
        " none can be downloaded here. Its TAESD (AutoencoderTiny) was distilled for"
        f" {s['distil_steps']} steps (TAESD's classes at the tests' tiny width) to imitate its VAE's decoder"
        f" (relative RMS error {record['distil_relative_error']:.3f}), as the real TAESD imitates SD's VAE.",
        f"- {s['targets']} planted targets: the embedded mini CLIP's embedding of a hidden noise's full-VAE picture."
        f" Populations of {s['pop']}: random noise, and the last population of a {s['generations']}-generation GA"
        " scored through TAESD (closer to the target and to each other, so harder to rank).",
        "- 'Similarity lost': the full VAE's similarity of its own best minus that of TAESD's pick.",
        "- Read it as a floor, not as TAESD's figure: the tiny distilled decoder is a far worse imitation of its VAE"
        " (the relative error above) than the real TAESD is of SD's, and the mini CLIP, trained on digits, sees"
        " random textures. The real pair (sd-turbo's VAE, madebyollin/taesd) needs its weights; rerun this"
        " measurement on them where they are present, before trusting TAESD scoring's choices.",
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, write the record."""
    p = argparse.ArgumentParser(prog="python -m experiments.diffusion_taesd", description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=int, default=8)
    p.add_argument("--distil-steps", type=int, default=300)
    p.add_argument("--generations", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    record = new_record(command("experiments.diffusion_taesd", argv),
                        **run(args.targets, args.distil_steps, args.generations, args.seed))
    write_record(record, args.out, markdown(record))
    print(markdown(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
