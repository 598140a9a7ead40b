"""Planted targets at the paper's genome sizes, cheap enough for many seeded runs on two CPU cores.

Each problem is the paper's generator class at its real genome size with random weights and few
channels, scored by the embedded mini CLIP (trained, the real open_clip architecture):

- **biggan**: pytorch-pretrained-biggan's BigGAN-deep, 128 truncated-normal reals + 1000 class
  bits, 32 px. The class embedding is drawn at z's scale, so that changing the class moves the
  picture as far as a new z does, as in the trained network, where the class dominates;
- **stylegan2**: glass's StyleGAN2 port, z 512 through the 8-layer mapping network, 32 px;
- **gpt2**: transformers' GPT-2 with GPT-2's full vocabulary and tokenizer (20 context tokens in
  [0, 50256]), 2 layers of width 32, greedy captions cut to 50 characters as in the paper. Being
  random, it is chaotic: one context token changes the whole caption, and random search does as
  well as any GA on it (benchmarks/search_quality.md), unlike a trained language model;
- **captions**: so also the embedded mini GPT-2, trained on digit captions (20 tokens, but in its
  154-token vocabulary), captioning held-out digit pictures: the real problem's structure, not its size.

The target is the mini CLIP's embedding of what a hidden genome generates (a sample from the
latent's own initial distribution), so a similarity of 1.0 is reachable and a shortfall is the
optimizer's (captions: a held-out picture's embedding). Genome layout, sizes, initial
distributions, operators and population sizes are the paper presets', which is what decides how
hard the search is; the pictures mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from glass_core.generators.base import Generator
from glass_core.operators import LatentSampling
from glass_core.presets import Preset, get_preset
from glass_core.scorer import ClipScorer, load_clip

GPT2_TOKENIZER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gpt2-tokenizer"
CPU = torch.device("cpu")
TARGET_SEED = 100  # every benchmark's targets come from this seed


def tiny_biggan() -> Generator:
    """BigGAN-deep with 128 reals and 1000 classes, 4 channels wide, 32 px; batch norms calibrated."""
    from pytorch_pretrained_biggan import BigGAN, BigGANConfig

    from glass_core.generators.biggan import BigGANGenerator, calibrate_batch_norms

    torch.manual_seed(0)
    cfg = BigGANConfig(output_dim=32, channel_width=4, n_stats=51, attention_layer_position=2,
                       layers=[(True, 16, 8), (True, 8, 4), (True, 4, 2), (False, 2, 1)])
    net = BigGAN(cfg)
    # The library leaves the last batch norm's affine parameters uninitialised.
    torch.nn.init.normal_(net.generator.bn.weight, 1.0, 0.1)
    torch.nn.init.normal_(net.generator.bn.bias, 0.0, 0.1)
    torch.nn.init.normal_(net.embeddings.weight, 0.0, 1.0)  # classes matter as much as z
    calibrate_batch_norms(net, n=64)
    return BigGANGenerator(net, CPU)


def tiny_stylegan2(conv_clamp: float | None = None) -> Generator:
    """Config-f StyleGAN2 with z and w 512 and the full mapping network; 32 px, narrow synthesis
    (`conv_clamp` as the ADA-trained networks have it: 256)."""
    from glass_core.generators.stylegan2 import StyleGAN2Generator
    from glass_core.nets.stylegan2.convert import Networks
    from glass_core.nets.stylegan2.discriminator import Discriminator, DiscriminatorConfig
    from glass_core.nets.stylegan2.networks import Generator as G, GeneratorConfig

    torch.manual_seed(0)
    channels = {4: 32, 8: 32, 16: 16, 32: 8}
    g = G(GeneratorConfig(z_dim=512, w_dim=512, img_resolution=32, img_channels=3, channels=channels,
                          conv_clamp=conv_clamp))
    d = Discriminator(DiscriminatorConfig(img_resolution=32, img_channels=3, channels=channels))
    return StyleGAN2Generator(Networks(g, d, "random"), CPU, max_batch=64)


def tiny_gpt2(tokenizer: Path = GPT2_TOKENIZER) -> Generator:
    """GPT-2 with its full 50257-token vocabulary, 2 layers of width 32; captions cut to 50 characters."""
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    from glass_core.generators.gpt2 import GPT2Captioner

    if not (tokenizer / "vocab.json").is_file():
        raise FileNotFoundError(f"The gpt2 benchmark needs GPT-2's tokenizer in {tokenizer} (../shared/data)")
    torch.manual_seed(0)
    # A wide initialisation, so that every context token can change the caption.
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=64, initializer_range=0.5))
    return GPT2Captioner(model, GPT2TokenizerFast.from_pretrained(tokenizer), CPU, 20, max_new_tokens=8,
                         max_chars=50)


def mini_gpt2() -> Generator:
    """The embedded mini GPT-2: trained on digit captions, 20 context tokens in its 154-token vocabulary."""
    from glass_core.generators import load_generator
    from glass_core.weights import default_weights_root

    return load_generator("mini_gpt2", CPU, default_weights_root())


def held_out_pictures(n: int, seed: int) -> dict:
    """n digit pictures of combinations no model trained on, with their labels (training.mini.data)."""
    from training.mini import data

    return data.sample_pictures(n, np.random.default_rng(seed), split="test", combos=sorted(data.heldout_combos()))


def digit_pictures(generator: Generator, scorer: ClipScorer, n: int, seed: int) -> list[torch.Tensor]:
    """n targets: the scorer's embedding (1, D) of held-out digit pictures."""
    with torch.inference_mode():
        return [e[None] for e in scorer.encode_images(held_out_pictures(n, seed)["images"])]


@dataclass(frozen=True)
class Planted:
    """One planted problem: the paper preset it stands for and how to build its generator."""

    name: str
    paper_preset: str  # population and operators come from here
    build: Callable[[], Generator]
    about: str
    # How targets are made (n, seed); None: what a hidden random genome generates.
    targets: Callable[[Generator, ClipScorer, int, int], list[torch.Tensor]] | None = None
    target_name: str = "hidden genome"  # what a target is, in the record

    def make_targets(self, generator: Generator, scorer: ClipScorer, n: int) -> list[torch.Tensor]:
        """The benchmark's n targets, always the same ones."""
        return (self.targets or planted_targets)(generator, scorer, n, TARGET_SEED)

    def preset(self) -> Preset:
        """The paper preset, single objective, with batches as large as the population."""
        paper = get_preset(self.paper_preset)
        return paper.replace(name=f"planted_{self.name}", clip="mini", use_discriminator=False,
                             batch_size=paper.pop_size, generator_args={})


PLANTED: dict[str, Planted] = {p.name: p for p in (
    Planted("biggan", "DeepMindBigGAN128", tiny_biggan, "BigGAN-deep: 128 reals + 1000 class bits"),
    Planted("stylegan2", "StyleGAN2_ffhq_nod", tiny_stylegan2, "StyleGAN2: 512 normal reals"),
    Planted("gpt2", "GPT2", tiny_gpt2, "GPT-2: 20 tokens in [0, 50256]"),
    # Not the paper's size, but a trained language model: on the random GPT-2 above, one context
    # token changes the whole caption and random search does as well as any GA.
    Planted("captions", "mini_gpt2", mini_gpt2, "trained mini GPT-2 (20 tokens in [0, 153]) captioning"
            " held-out digit pictures", digit_pictures, "held-out picture"),
)}


def mini_clip(weights_root: Path) -> ClipScorer:
    """The embedded mini CLIP, the scorer of every planted problem."""
    return load_clip("mini", CPU, weights_root)


@torch.inference_mode()
def planted_targets(generator: Generator, scorer: ClipScorer, n: int, seed: int) -> list[torch.Tensor]:
    """n targets: the scorer's embedding (1, D) of what a hidden random genome generates."""
    hidden = LatentSampling(generator.latent).do(None, n, random_state=np.random.default_rng(seed)).get("X")
    out = generator.generate(hidden)
    emb = scorer.encode_images(out) if generator.modality == "image" else scorer.encode_texts(out)
    return [e[None] for e in emb]
