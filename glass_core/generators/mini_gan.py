"""The mini GAN as a glass generator: genome [reals | 10 class genes] -> 32×32 coloured digit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from glass_core.errors import MissingWeightsError
from glass_core.generators.base import LatentSpace, Location, to_pil
from glass_core.generators.classes import bits_to_class_vector
from glass_core.options import check_options
from glass_core.nets.mini.gan import GanConfig, MiniDiscriminator, MiniGenerator

SHOW_SIZE = 128  # pixels per side when a person looks at a picture


class MiniGAN:
    """Generator protocol over the mini GAN, with its discriminator's realism head."""

    modality = "image"
    has_discriminator = True

    def __init__(self, generator: MiniGenerator, discriminator: MiniDiscriminator,
                 device: torch.device, bit_init_prob: float = 0.1):
        self.net = generator.eval().requires_grad_(False).to(device)
        self.disc = discriminator.eval().requires_grad_(False).to(device)
        self.device = device
        cfg = generator.cfg
        # One class gene in ten starts on: about a third of genomes start with exactly one class,
        # a third with none (the unconditional generator, steered by the reals alone).
        self.latent = LatentSpace(n_real=cfg.n_real, real_bounds=(-2.0, 2.0), real_init="truncnorm",
                                  n_bits=cfg.n_classes, bit_init_prob=bit_init_prob)

    @property
    def speed_options(self) -> dict[str, bool]:
        """None: the mini GAN is small enough that every path is the fast one (glass_core.options)."""
        return {}

    def with_options(self, **options: bool) -> MiniGAN:
        """Itself: it has no options to change (any given is refused)."""
        check_options(self, options)
        return self

    @torch.inference_mode()
    def generate(self, genomes: np.ndarray) -> torch.Tensor:
        """(N, n_var) genomes -> (N, 3, 32, 32) pictures in [0, 1] on the device."""
        genomes = np.atleast_2d(np.asarray(genomes, dtype=np.float32))
        z = torch.from_numpy(genomes[:, self.latent.reals]).to(self.device)
        cls = torch.from_numpy(bits_to_class_vector(genomes[:, self.latent.bits])).to(self.device)
        return self.net(z, cls).clamp(0, 1)

    def generate_differentiable(self, reals: torch.Tensor, genomes: np.ndarray) -> torch.Tensor:
        """As `generate`, but differentiable in `reals` (N, n_real); the class genes come from `genomes`."""
        cls = bits_to_class_vector(np.atleast_2d(genomes)[:, self.latent.bits])
        return self.net(reals.float(), torch.from_numpy(cls).to(self.device)).clamp(0, 1)

    def show(self, genomes: np.ndarray) -> list[Image.Image]:
        """Pictures to look at: upscaled with nearest neighbours so the pixels stay crisp."""
        big = F.interpolate(self.generate(genomes), size=(SHOW_SIZE, SHOW_SIZE), mode="nearest")
        return to_pil(big)

    @torch.inference_mode()
    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        """Realism logits (N,), higher is more real, for 32×32 pictures in [0, 1]."""
        images = images.to(self.device, torch.float32)
        if images.shape[-2:] != (self.net.cfg.image_size,) * 2:
            images = F.interpolate(images, size=(self.net.cfg.image_size,) * 2, mode="area")
        return self.disc(images)[0]


def load_networks(folder: Path) -> tuple[MiniGenerator, MiniDiscriminator]:
    """Both networks from config.json + model.safetensors; any missing tensor is an error."""
    from safetensors.torch import load_file

    config, weights = folder / "config.json", folder / "model.safetensors"
    if not (config.is_file() and weights.is_file()):
        raise MissingWeightsError(
            "mini GAN", f"Expected config.json and model.safetensors in {folder};"
            " run `python -m training.mini.train` to train them.")
    raw = json.loads(config.read_text())
    cfg = GanConfig(**{k: raw[k] for k in GanConfig.__dataclass_fields__ if k in raw})
    state = load_file(str(weights))
    nets = MiniGenerator(cfg), MiniDiscriminator(cfg)
    for prefix, net in zip(("generator.", "discriminator."), nets):
        part = {k[len(prefix):]: (v.float() if v.is_floating_point() else v)
                for k, v in state.items() if k.startswith(prefix)}
        net.load_state_dict(part, strict=True)
    return nets


def load(device: torch.device, weights_root: Path, bit_init_prob: float = 0.1) -> MiniGAN:
    """Registry factory for kind 'mini_gan': weights from weights_root/mini/gan."""
    gen, disc = load_networks(Path(weights_root) / "mini" / "gan")
    return MiniGAN(gen, disc, torch.device(device), bit_init_prob)


def locate(weights_root: Path, **_: object) -> Location:
    """The committed folder weights_root/mini/gan; it is never downloaded."""
    folder = Path(weights_root) / "mini" / "gan"
    return Location((folder / "config.json").is_file() and (folder / "model.safetensors").is_file(), False, folder)
