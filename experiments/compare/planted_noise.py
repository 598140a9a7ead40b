"""A planted stand-in for a one-step diffusion model: 4×64×64 standard-normal noise -> a 32 px picture.

SD-Turbo's genome is its initial latent noise, 16,384 N(0, 1) reals read as 4×64×64. This random
convolutional decoder has that genome and is cheap (about a millisecond a picture on one thread),
so that many seeded searches fit on two CPU cores. Like a denoiser it reads the noise at every
scale: two strided convolutions down to 16×16, then up to the mini CLIP's 32 px. Its weights are
drawn so that activations keep unit scale (a default initialisation would shrink every picture
to the same grey), and it is differentiable, so polish can take gradient steps through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from glass_core.generators.base import LatentSpace, to_pil
from glass_core.options import check_options

NOISE_SHAPE = (4, 64, 64)
# SD-Turbo's kind: normal noise, bounds wide enough (6 sigma) that clipping never shrinks it.
NOISE_LATENT = LatentSpace(n_real=int(np.prod(NOISE_SHAPE)), real_bounds=(-6.0, 6.0), real_init="normal")


def _decoder() -> nn.Sequential:
    """Noise (4, 64, 64) -> logits (3, 32, 32); GELU between, weights at unit gain."""
    net = nn.Sequential(
        nn.Conv2d(4, 16, 4, stride=2, padding=1), nn.GELU(),  # 32×32
        nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.GELU(),  # 16×16
        nn.Conv2d(32, 32, 4, stride=2, padding=1), nn.GELU(),  # 8×8: the layout
        nn.Conv2d(32, 32, 3, padding=1), nn.GELU(),
        nn.Upsample(scale_factor=4, mode="bilinear"),  # 32×32
        nn.Conv2d(32, 16, 3, padding=1), nn.GELU(),
        nn.Conv2d(16, 3, 3, padding=1),
    )
    for layer in net:
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
            nn.init.normal_(layer.weight, 0.0, (2.0 / fan_in) ** 0.5)  # He: GELU about halves the variance
            nn.init.normal_(layer.bias, 0.0, 0.1)
    return net.eval().requires_grad_(False)


class PlantedNoise:
    """Generator protocol over the random decoder: genome = 16,384 N(0, 1) reals."""

    modality = "image"
    has_discriminator = False
    latent = NOISE_LATENT

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        self.net = _decoder()
        self.device = torch.device("cpu")

    @property
    def speed_options(self) -> dict[str, Any]:
        """None: the decoder is small enough to have no faster path."""
        return {}

    def with_options(self, **options: Any) -> PlantedNoise:
        """Itself: it has no options to change (any given is refused)."""
        check_options(self, options)
        return self

    def _pictures(self, reals: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(reals.float().reshape(-1, *NOISE_SHAPE)))

    @torch.inference_mode()
    def generate(self, genomes: np.ndarray) -> torch.Tensor:
        """(N, 16384) genomes -> (N, 3, 32, 32) pictures in [0, 1]."""
        return self._pictures(torch.from_numpy(np.atleast_2d(np.asarray(genomes, dtype=np.float32))))

    def generate_differentiable(self, reals: torch.Tensor, genomes: np.ndarray) -> torch.Tensor:
        """As `generate`, differentiable in `reals` (N, 16384)."""
        return self._pictures(reals)

    def show(self, genomes: np.ndarray) -> list[Image.Image]:
        """Pictures to look at, upscaled 4× with nearest neighbours."""
        return to_pil(F.interpolate(self.generate(genomes), scale_factor=4, mode="nearest"))
