"""Measure scoring at 256 px instead of full size: speed-up, and agreement of the scores.

    python -m experiments.stylegan2_small [--latents 24] [--batch 4] [--out benchmarks/stylegan2_small_scoring]

Runs an FFHQ-shaped config-f generator (1024 px, 18 ws) with random weights: speed does not
depend on weight values, but score agreement does, so two scorers are reported:

* a randomly initialised open_clip ViT-B-32-quickgelu with a random target (the real
  scorer's architecture and preprocessing, but random weights: weak evidence);
* a weight-free proxy: cosine similarity, in pixels at CLIP's 224 px input, to a target
  picture. CLIP first resizes every image to 224 px, so whatever differs between the small
  and the full image after that resize is all any CLIP could possibly react to; a scorer
  with no learned weights measures exactly that, independent of any trained network.

Writes benchmarks/stylegan2_small_scoring.{json,md} under the current directory (see --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from experiments.common import command, new_record, table, write_record
from glass_core.nets.stylegan2.discriminator import Discriminator, DiscriminatorConfig
from glass_core.nets.stylegan2.networks import Generator, GeneratorConfig, SynthesisLayer
from glass_core.nets.stylegan2.ops import upsample_to

RES, SMALL = 1024, 256
OUT = Path("benchmarks") / "stylegan2_small_scoring"
CHANNELS = {r: min(32768 // r, 512) for r in [2 ** i for i in range(2, 11)]}  # config-f widths


def ffhq_shaped(seed: int) -> tuple[Generator, Discriminator, dict]:
    """Random-weight FFHQ-shaped G and D, with G's ToRGB layers calibrated (see `calibrate`)."""
    torch.manual_seed(seed)
    G = Generator(GeneratorConfig(z_dim=512, w_dim=512, img_resolution=RES, img_channels=3, channels=CHANNELS))
    D = Discriminator(DiscriminatorConfig(img_resolution=RES, img_channels=3, channels=CHANNELS))
    for layer in G.modules():
        if isinstance(layer, SynthesisLayer):
            layer.noise_strength.data.fill_(0.1)  # trained networks use small non-zero noise
    G.eval().requires_grad_(False)
    shares = calibrate(G, torch.randn(2, 512))
    return G, D.eval().requires_grad_(False), shares


@torch.inference_mode()
def calibrate(G: Generator, z: torch.Tensor) -> dict:
    """Scale each block's ToRGB so every block adds equal variance to the full image.

    Randomly initialised, the top blocks dominate: FIR upsampling divides a block's
    contribution by about 2.6 per octave, so the 1024 px ToRGB alone outweighs all others.
    Natural images have a 1/f^2 power spectrum, i.e. equal energy per octave, and each block
    adds about one octave, so equal variance per block is the natural-image-like setting.
    The total is then scaled to std 0.5 in [-1, 1] so pixels do not saturate. Returns the
    share of the full image's variance already present at 256 px, before and after.
    """
    outs: dict[int, torch.Tensor] = {}
    blocks = {r: getattr(G.synthesis, f"b{r}") for r in G.synthesis.block_resolutions}
    hooks = [b.torgb.register_forward_hook(lambda m, i, o, r=r: outs.__setitem__(r, o)) for r, b in blocks.items()]
    G(z)
    for h in hooks:
        h.remove()
    f = G.synthesis.resample_filter
    ups = {r: upsample_to(o, RES, f) for r, o in outs.items()}

    def share(scale: dict[int, float]) -> float:
        low = sum(scale[r] * u for r, u in ups.items() if r <= SMALL)
        return float(low.var() / sum(scale[r] * u for r, u in ups.items()).var())

    raw = share({r: 1.0 for r in ups})
    scale = {r: float(u.var().rsqrt()) for r, u in ups.items()}
    k = 0.5 / float(sum(scale[r] * u for r, u in ups.items()).std())
    for r, b in blocks.items():
        b.torgb.weight.mul_(scale[r] * k)
        b.torgb.bias.mul_(scale[r] * k)
    return {"variance_share_at_256_random_init": round(raw, 3),
            "variance_share_at_256_calibrated": round(share(scale), 3)}


def clip_scorer():
    """The project's scorer around a randomly initialised ViT-B-32-quickgelu (no download)."""
    from glass_core.scorer import random_clip

    return random_clip(torch.device("cpu"), seed=1)  # seed 1: the committed record's


def timed(fn, *args):
    """(result, seconds)."""
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] clipped, as the generator adapter returns."""
    return ((x + 1) / 2).clamp(0, 1)


@torch.inference_mode()
def run(n_latents: int, batch: int, timed_batches: int, seed: int) -> dict:
    """Interleaved small/full timings on the first batches; agreement over all latents."""
    G, D, shares = ffhq_shaped(seed)
    scorer = clip_scorer()
    G(torch.randn(1, 512), 1.0, None, "const", SMALL)  # warm-up (the full path warmed in calibrate)
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((n_latents + 1, 512)).astype(np.float32))
    times: dict[str, list[float]] = {"g_small": [], "g_full": [], "clip_small": [], "clip_full": []}
    small, full = [], []
    for k, i in enumerate(range(0, n_latents, batch)):
        zb = z[i:i + batch]
        if k < timed_batches:
            s, ts = timed(G, zb, 1.0, None, "const", SMALL)
            f, tf = timed(G, zb, 1.0, None, "const", None)
        else:  # untimed: one full pass, the 256 px image taken from inside it
            s, f, ts, tf = *full_and_small(G, zb), 0.0, 0.0
        es, tcs = timed(scorer.encode_images, to_unit(s))
        ef, tcf = timed(scorer.encode_images, to_unit(f))
        if k < timed_batches:
            for key, t in zip(times, (ts, tf, tcs, tcf), strict=True):
                times[key].append(t / len(zb))
        small.append((to_unit(s), es)), full.append((to_unit(f), ef))
        print(f"batch {k + 1}: " + (f"small {ts:.1f}s, full {tf:.1f}s" if k < timed_batches else "untimed"), flush=True)
    d_in = upsample_to(small[0][0] * 2 - 1, RES, G.synthesis.resample_filter)
    _, td = timed(D, d_in)
    target_img = to_unit(G(z[-1:]))
    timing = summarize_timing(times, td / len(d_in))
    agreement = summarize_agreement(scorer, small, full, target_img, seed)
    return {"timing": timing, "agreement": {**agreement, **shares}}


def full_and_small(G: Generator, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(image at 256 px, image at full size) from a single pass, via a hook on block 256."""
    got = {}
    hook = getattr(G.synthesis, f"b{SMALL}").register_forward_hook(lambda m, i, o: got.__setitem__("img", o[1]))
    try:
        full = G(z)
    finally:
        hook.remove()
    return got["img"], full


def summarize_timing(times: dict[str, list[float]], td: float) -> dict:
    """Medians per image, and speed-ups for G alone, G + CLIP, and G + CLIP + D."""
    m = {k: statistics.median(v) for k, v in times.items()}
    return {
        "seconds_per_image": {**{k: round(v, 3) for k, v in m.items()}, "d_full_res": round(td, 3)},
        "speedup_generator": round(m["g_full"] / m["g_small"], 2),
        "speedup_generator_plus_clip": round((m["g_full"] + m["clip_full"]) / (m["g_small"] + m["clip_small"]), 2),
        "speedup_with_discriminator": round(
            (m["g_full"] + m["clip_full"] + td) / (m["g_small"] + m["clip_small"] + td), 2),
    }


def summarize_agreement(scorer, small, full, target_img, seed: int) -> dict:
    """Spearman rank correlations of small vs full scores, for the random CLIP and the pixel proxy."""
    from scipy.stats import spearmanr

    imgs_s = torch.cat([s for s, _ in small])
    imgs_f = torch.cat([f for f, _ in full])
    emb_s, emb_f = torch.cat([e for _, e in small]), torch.cat([e for _, e in full])
    target = F.normalize(torch.randn(emb_s.shape[1], generator=torch.Generator().manual_seed(seed)), dim=0)
    clip_s, clip_f = (emb_s @ target).numpy(), (emb_f @ target).numpy()
    px_s, px_f, px_t = (scorer.prepare(x).flatten(1) for x in (imgs_s, imgs_f, target_img))
    proxy_s, proxy_f = (pixel_cosine(px, px_t) for px in (px_s, px_f))
    rel = ((px_s - px_f).norm(dim=1) / (px_f - px_f.mean(dim=1, keepdim=True)).norm(dim=1)).mean().item()
    return {
        "latents": len(imgs_s),
        "spearman_random_clip": round(float(spearmanr(clip_s, clip_f).statistic), 3),
        "random_clip_score_spread_full": round(float(clip_f.std()), 5),
        "spearman_pixel_proxy": round(float(spearmanr(proxy_s, proxy_f).statistic), 3),
        "relative_difference_at_224px": round(rel, 3),
    }


def pixel_cosine(px: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """Cosine similarity of mean-centred pixel vectors to a target's: a scorer without weights."""
    def centre(v: torch.Tensor) -> torch.Tensor:
        return F.normalize(v - v.mean(dim=1, keepdim=True), dim=1)
    return (centre(px) @ centre(target).T).squeeze(1).numpy()


def markdown(result: dict) -> str:
    """A short markdown table of the record."""
    t, a, m, libs = result["timing"], result["agreement"], result["machine"], result["libraries"]
    rows = [*[(f"{k} s/image", v) for k, v in t["seconds_per_image"].items()],
            ("speed-up, generator", f"{t['speedup_generator']}×"),
            ("speed-up, generator + CLIP", f"{t['speedup_generator_plus_clip']}×"),
            ("speed-up, generator + CLIP + D (D at full res)", f"{t['speedup_with_discriminator']}×"),
            (f"Spearman, random-weight CLIP, {a['latents']} latents", a["spearman_random_clip"]),
            ("Spearman, pixel proxy at 224 px", a["spearman_pixel_proxy"]),
            ("relative difference small vs full at 224 px", a["relative_difference_at_224px"]),
            ("variance share present at 256 px, random init / calibrated",
             f"{a['variance_share_at_256_random_init']} / {a['variance_share_at_256_calibrated']}")]
    lines = [
        "# StyleGAN2: scoring at 256 px instead of 1024 px", "",
        f"{result['date']} · {m['cpu']} · {m['cores']} cores ({m['torch_threads']} torch threads, "
        f"load average {m['load_average_1m']} at start) · "
        f"torch {libs['torch']} · open_clip {libs['open_clip_torch']} · `{result['command']}`", "",
        *table(("measure", "value"), rows), "",
        "## Notes", "", *[f"- {n}" for n in result["notes"]], "",
    ]
    return "\n".join(lines)


NOTES = [
    "Random weights (FFHQ config-f shapes): timings carry over to the real network; the agreement "
    "figures are weak evidence. A random generator's top blocks dominate its image (see the "
    "variance share at 256 px); its ToRGB layers were rescaled to equal variance per block (the "
    "equal energy per octave of natural images' 1/f^2 spectrum), which is a modelling choice, "
    "not a trained network. A random CLIP's scores barely vary (see the spread).",
    "The pixel proxy needs no learned weights: CLIP only ever sees the 224 px resize, so the "
    "relative difference there is all that could move any CLIP's score, and the pixel cosine to a "
    "target picture is one scorer of it that no random initialisation can distort.",
    "D cannot run at 256 px (its first block expects full resolution); the adapter upsamples the "
    "256 px image with the generator's [1,3,3,1] filter, so D's cost is unchanged.",
    "The shared 2-core machine was not idle (see load_average): absolute seconds are inflated; "
    "batches alternate small/full so load hits both alike, and the ratios are the figures to read.",
]


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m experiments.stylegan2_small", description=__doc__.splitlines()[0])
    ap.add_argument("--latents", type=int, default=16, help="latents scored small and full")
    ap.add_argument("--batch", type=int, default=4, help="the StyleGAN2 presets' batch size")
    ap.add_argument("--timed-batches", type=int, default=2, help="batches also timed small vs full")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT, help=f"output path without suffix (default {OUT})")
    args = ap.parse_args(argv)
    settings = {"resolution": RES, "score_resolution": SMALL, "latents": args.latents, "batch": args.batch,
                "timed_batches": args.timed_batches, "seed": args.seed}
    result = new_record(command("experiments.stylegan2_small", argv), settings=settings)  # load average at start
    result.update(run(args.latents, args.batch, args.timed_batches, args.seed))
    result["notes"] = NOTES
    write_record(result, args.out, markdown(result))
    print(json.dumps({k: result[k] for k in ("timing", "agreement")}, indent=2))


if __name__ == "__main__":
    main()
