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
    model = BigGAN(cfg)
    calibrate_batch_norms(model)
    return BigGANGenerator(model, device)


@torch.no_grad()
def calibrate_batch_norms(model: torch.nn.Module, n: int = 4) -> None:
    """Give a random BigGAN's fixed batch-norm statistics the values its activations really have.

    BigGAN normalises with stored statistics; left at mean 0 and variance 1 in a random network,
    activations grow block by block until they overflow to NaN. One pass with each layer's
    statistics set from its own input, in order, keeps every layer at unit scale, as trained
    weights do, so the timed arithmetic is on ordinary numbers.
    """
    from pytorch_pretrained_biggan.model import BigGANBatchNorm

    def measure(norm: torch.nn.Module, args: tuple) -> None:
        x = args[0]
        norm.running_means.copy_(x.mean(dim=(0, 2, 3)).expand_as(norm.running_means))
        norm.running_vars.copy_(x.var(dim=(0, 2, 3)).expand_as(norm.running_vars))

    hooks = [m.register_forward_pre_hook(measure) for m in model.modules() if isinstance(m, BigGANBatchNorm)]
    z = torch.randn(n, model.config.z_dim).clamp(-2, 2)
    classes = torch.zeros(n, model.config.num_classes)
    classes[:, 0] = 1
    try:
        model.eval()(z, classes, 1.0)
    finally:
        for hook in hooks:
            hook.remove()


def _gpt2(preset: Preset, device: torch.device) -> Generator:
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    from glass_core.generators.gpt2 import GPT2Captioner

    torch.manual_seed(0)
    tokenizer = GPT2TokenizerFast.from_pretrained(SHARED / "data" / "gpt2-tokenizer")
    return GPT2Captioner(GPT2LMHeadModel(GPT2Config()), tokenizer, device)  # GPT-2 small: 124M


# The official config-f networks: FFHQ at 1024, LSUN car at 512 (a 512x384 band), church at 256.
STYLEGAN2_RESOLUTION = {"ffhq": 1024, "car": 512, "church": 256}


def _stylegan2(preset: Preset, device: torch.device) -> Generator:
    from glass_core.nets.stylegan2.convert import Networks
    from glass_core.nets.stylegan2.discriminator import Discriminator, DiscriminatorConfig
    from glass_core.generators.stylegan2 import NETWORKS, StyleGAN2Generator
    from glass_core.nets.stylegan2.networks import Generator as G, GeneratorConfig

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
