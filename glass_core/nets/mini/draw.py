"""The mini GAN's renderer: an 8×8 glyph drawn large in two palette colours, differentiably.

The training data (training/mini/data.py) is drawn with the same function, so the generator's
pictures and the data share one look.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SIZE = 32  # picture side in pixels

# The eight corners of the RGB cube: as far apart as colours can be, so the judge's
# nearest-colour reading is unambiguous and no two names describe the same colour.
PALETTE: dict[str, tuple[float, float, float]] = {
    "black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0), "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0), "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0), "magenta": (1.0, 0.0, 1.0),
}
COLOURS: list[str] = list(PALETTE)


def pose_from_unit(u: torch.Tensor) -> torch.Tensor:
    """Map (n, 5) values in [-1, 1] onto the jitter ranges (differentiably, for the GAN)."""
    scale = torch.tensor([4.0, 3.0, 3.0, math.radians(12), 0.12], device=u.device)
    centre = torch.tensor([22.0, 0.0, 0.0, 0.0, 1.0], device=u.device)
    return centre + scale * u


def draw(glyphs: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, pose: torch.Tensor,
         straight_through: bool = False) -> torch.Tensor:
    """(N, 8, 8) glyphs, (N, 3) colours, (N, 5) poses -> (N, 3, 32, 32) pictures; differentiable.

    `straight_through` lets gradients pass the contrast ramp's clamps as if they were not there
    (the forward result is unchanged): a generator's glyph cells would otherwise stop learning
    for good once they went past either end of the ramp.
    """
    n = glyphs.shape[0]
    side, shift, angle, aspect = pose[:, 0], pose[:, 1:3], pose[:, 3], pose[:, 4]
    # theta maps output to glyph coordinates: the inverse of "scale, rotate, then shift".
    zoom = SIZE / side
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([zoom * cos * aspect, zoom * sin * aspect], 1),
                         torch.stack([-zoom * sin / aspect, zoom * cos / aspect], 1)], 1)
    offset = -(theta @ (shift * (2.0 / SIZE))[:, :, None])
    grid = F.affine_grid(torch.cat([theta, offset], 2), (n, 1, SIZE, SIZE), align_corners=False)
    soft = F.grid_sample(glyphs[:, None].float(), grid, mode="bilinear", align_corners=False)
    # Bilinear upsampling of 8×8 cells gives soft blobs; a contrast ramp turns them into strokes.
    ramp = (soft - 0.2) * 2.5
    alpha = ramp + (ramp.clamp(0, 1) - ramp).detach() if straight_through else ramp.clamp(0, 1)
    return alpha * fg[:, :, None, None] + (1 - alpha) * bg[:, :, None, None]
