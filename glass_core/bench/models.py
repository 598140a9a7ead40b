"""Full-size architectures with random weights: speed does not depend on the weight values."""

from __future__ import annotations

from pathlib import Path

import torch

from glass_core.generators.base import Generator
from glass_core.presets import Preset
from glass_core.scorer import ClipScorer, load_clip

# BigGAN-deep generator blocks (upsample?, in, out channel multipliers): two blocks per
# resolution, attention at 64x64 (Brock et al. 2019, BigGAN-deep architecture tables). These
# give 50.4M / 55.9M / 56.2M parameters and 22.6 / 77.7 / 151.5 GFLOP per image, matching the
# published sizes of biggan-deep-128/256/512.
_STAGES = [(16, 16), (16, 8), (8, 8), (8, 4), (4, 2), (2, 1), (1, 1)]
BIGGAN_STAGES = {128: [0, 1, 3, 4, 5], 256: [0, 1, 2, 3, 4, 5], 512: [0, 1, 2, 3, 4, 5, 6]}

SHARED = Path(__file__).resolve().parents[3] / "shared"


def biggan_layers(size: int) -> list[tuple[bool, int, int]]:
    """The block list of BigGAN-deep at `size`."""
    layers = []
    for stage in BIGGAN_STAGES[size]:
        cin, cout = _STAGES[stage]
        layers += [(False, cin, cin), (True, cin, cout)]
    return layers


def random_clip(device: torch.device) -> ClipScorer:
    """ViT-B/32 (QuickGELU) at full size, random weights, OpenAI's preprocessing."""
    import open_clip

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32-quickgelu", device=device)
    return ClipScorer(model, open_clip.get_tokenizer("ViT-B-32-quickgelu"), device)


def _biggan(preset: Preset, device: torch.device) -> Generator:
    from pytorch_pretrained_biggan import BigGAN, BigGANConfig

    from glass_core.generators.biggan import BigGANGenerator

    size = int(preset.generator_args["model"].rsplit("-", 1)[1])
    torch.manual_seed(0)
    cfg = BigGANConfig(output_dim=size, layers=biggan_layers(size), attention_layer_position=8)
    return BigGANGenerator(BigGAN(cfg), device)


def _gpt2(preset: Preset, device: torch.device) -> Generator:
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    from glass_core.generators.gpt2 import GPT2Captioner

    torch.manual_seed(0)
    tokenizer = GPT2TokenizerFast.from_pretrained(SHARED / "data" / "gpt2-tokenizer")
    return GPT2Captioner(GPT2LMHeadModel(GPT2Config()), tokenizer, device)  # GPT-2 small: 124M


# The official config-f networks: FFHQ at 1024, LSUN car at 512 (a 512x384 band), church at 256.
STYLEGAN2_RESOLUTION = {"ffhq": 1024, "car": 512, "church": 256}


def _stylegan2(preset: Preset, device: torch.device) -> Generator:
    from glass_core.stylegan2.convert import Networks
    from glass_core.stylegan2.discriminator import Discriminator, DiscriminatorConfig
    from glass_core.stylegan2.generator import NETWORKS, StyleGAN2Generator
    from glass_core.stylegan2.networks import Generator as G, GeneratorConfig

    network = preset.generator_args["network"]
    res = STYLEGAN2_RESOLUTION[network]
    channels = {2 ** i: min(32768 // 2 ** i, 512) for i in range(2, res.bit_length())}  # config-f widths
    torch.manual_seed(0)
    g = G(GeneratorConfig(z_dim=512, w_dim=512, img_resolution=res, img_channels=3, channels=channels))
    d = Discriminator(DiscriminatorConfig(img_resolution=res, img_channels=3, channels=channels))
    return StyleGAN2Generator(Networks(g, d, "random"), device, crop=NETWORKS[network].crop)


def components(preset: Preset, device: torch.device, weights_root: Path) -> tuple[Generator, ClipScorer]:
    """Generator and scorer for `preset`: random full-size networks, or the real mini set."""
    if preset.clip == "mini":  # the embedded set is small and present: benchmark the real thing
        from glass_core.pipeline import Pipeline

        pipe = Pipeline.from_preset(preset, device=device, weights_root=weights_root)
        return pipe.generator, pipe.scorer
    build = {"biggan": _biggan, "gpt2": _gpt2, "stylegan2": _stylegan2}[preset.generator]
    return build(preset, device), random_clip(device)
