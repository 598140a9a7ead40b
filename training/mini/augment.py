"""Pictures drawn more loosely than the renderer's own jitter, for training the mini CLIP.

A person's picture is rarely the renderer's: the digit is larger or smaller, off centre, thicker
or thinner, its colours are shades rather than the palette's corners, and it has been scaled
and JPEG-compressed. Training on such pictures lets the image tower read them.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from glass_core.nets.mini.draw import SIZE, draw


def loose_pose(n: int, rng: np.random.Generator) -> torch.Tensor:
    """(n, 5) poses [side, shift x, shift y, angle, aspect], wider than the renderer's jitter."""
    side = rng.uniform(15.0, 30.0, n)
    room = np.maximum((SIZE - 0.8 * side) / 2, 1.0)  # the glyph's ink fills about 80 % of its box
    shift = rng.uniform(-1, 1, (n, 2)) * room[:, None]
    angle = rng.uniform(-1, 1, n) * math.radians(20)
    aspect = np.exp(rng.uniform(-0.25, 0.25, n))
    return torch.tensor(np.column_stack([side, shift, angle, aspect]), dtype=torch.float32)


def shade(colours: torch.Tensor, rng: np.random.Generator, amount: float = 0.3) -> torch.Tensor:
    """Move each channel of palette colours up to `amount` towards the middle of its range."""
    step = torch.from_numpy(rng.uniform(0, amount, colours.shape)).float()
    return colours + (1 - 2 * colours) * step


def thicken(glyphs: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Thicker (power < 1) or thinner (power > 1) strokes."""
    power = torch.from_numpy(np.exp(rng.uniform(-0.5, 0.4, len(glyphs)))).float()
    return glyphs.clamp(0, 1) ** power[:, None, None]


def _jpeg(picture: torch.Tensor, quality: int, scale: int) -> torch.Tensor:
    """One (3, 32, 32) picture enlarged `scale` times, JPEG-compressed, and read back at 32×32."""
    array = (picture.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    image = Image.fromarray(array).resize((SIZE * scale, SIZE * scale), Image.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    # Bicubic down, as the scorer's preprocessing reads a large picture.
    small = Image.open(buffer).convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)
    return torch.from_numpy(np.asarray(small, np.float32) / 255).permute(2, 0, 1)


def degrade(images: torch.Tensor, rng: np.random.Generator, jpeg_rate: float = 0.3,
            blur_rate: float = 0.15) -> torch.Tensor:
    """Some pictures JPEG-compressed (at 1, 2 or 4 times the size), some blurred."""
    out = images.clone()
    for i in np.flatnonzero(rng.random(len(images)) < jpeg_rate):
        out[i] = _jpeg(images[i], int(rng.integers(25, 95)), int(rng.choice([1, 2, 4])))
    blurred = np.flatnonzero(rng.random(len(images)) < blur_rate)
    if len(blurred):
        kernel = torch.tensor([0.25, 0.5, 0.25])
        kernel = (kernel[:, None] * kernel[None]).expand(3, 1, 3, 3)
        out[blurred] = F.conv2d(F.pad(out[blurred], (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    return out


def loose_render(glyphs: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, rng: np.random.Generator
                 ) -> torch.Tensor:
    """(N, 8, 8) glyphs and palette colours -> (N, 3, 32, 32) loosely drawn pictures in [0, 1]."""
    pictures = draw(thicken(glyphs, rng), shade(fg, rng), shade(bg, rng), loose_pose(len(glyphs), rng))
    return degrade(pictures.clamp(0, 1), rng)
