"""The mini GAN's networks: a layered, class-conditional generator and a projection discriminator.

The latent mirrors BigGAN's: `n_real` reals plus a 10-way class vector. The first six reals are
colour genes, read like BigGAN's class genes are, through a fixed rule: the signs of genes 0-2
are the foreground's red, green and blue bits, those of genes 3-5 the background's (the palette
is the RGB cube's eight corners). A background equal to the foreground becomes its complement,
so every latent names two different colours. The other reals are style (size, slant, stroke).
The generator learns the hard part, the glyph and its pose, from style and class. It draws the
glyph in the two colours the genes name, exactly (a fixed last step, like the rule that reads
them), so any of the 56 colour pairs is one sign flip away and no colour can be forgotten by
mode collapse. Genes 6-10 set the pose the same way (size, shift, slant, aspect, within the
data's jitter ranges); the remaining 21 reals and the class vector shape the glyph. The discriminator has a plain realism head (what `discriminate` returns) and
projection terms for digit, foreground and background (which keep ink and paper apart).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from glass_core.nets.mini import draw as renderer

COLOUR_GENES = 6
POSE_GENES = 5  # genes 6-10: box size, shift x, shift y, slant, aspect (z / 2, clipped to ±1)


@dataclass(frozen=True)
class GanConfig:
    """Sizes of the mini GAN; saved next to its weights as config.json."""

    n_real: int = 32
    n_classes: int = 10
    n_colours: int = 8
    gen_hidden: int = 256
    disc_channels: int = 16
    image_size: int = renderer.SIZE

    def to_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self) | {"colours": renderer.COLOURS, "colour_genes": COLOUR_GENES,
                               "pose_genes": POSE_GENES}


def colour_indices(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Palette indices (into renderer.COLOURS) of foreground and background named by the colour genes."""
    fg_bits = (z[:, 0:3] > 0).long()
    bg_bits = (z[:, 3:6] > 0).long()
    same = (fg_bits == bg_bits).all(dim=1, keepdim=True)
    bg_bits = torch.where(same, 1 - fg_bits, bg_bits)
    lookup = torch.tensor([renderer.COLOURS.index(_corner_name(i)) for i in range(8)], device=z.device)
    weights = torch.tensor([4, 2, 1], device=z.device)
    return lookup[(fg_bits * weights).sum(1)], lookup[(bg_bits * weights).sum(1)]


def _corner_name(code: int) -> str:
    """The palette name of the RGB corner with bits (r, g, b) = code's three bits."""
    rgb = ((code >> 2) & 1, (code >> 1) & 1, code & 1)
    return next(n for n, c in renderer.PALETTE.items() if tuple(int(v) for v in c) == rgb)


class MiniGenerator(nn.Module):
    """(z, class vector) -> (N, 3, 32, 32) pictures in [0, 1].

    The pictures are 8×8 handwritten glyphs drawn large in two colours, so the generator learns
    just that: an 8×8 glyph from the style genes and the class, then draws it, posed and
    coloured as the genes say, with the data's own differentiable renderer. A 64-value glyph is
    learned in minutes on a CPU where a 32×32 image would take hours.
    """

    def __init__(self, cfg: GanConfig):
        super().__init__()
        self.cfg = cfg
        hidden, n_cls = cfg.gen_hidden, cfg.n_classes
        self.fc1 = nn.Linear(cfg.n_real - COLOUR_GENES - POSE_GENES + n_cls, hidden)
        self.fc2 = nn.Linear(hidden + n_cls, hidden)  # the class again: shape follows it closely
        self.fc3 = nn.Linear(hidden + n_cls, hidden)
        self.to_glyph = nn.Linear(hidden, 64)
        palette = torch.tensor([renderer.PALETTE[name] for name in renderer.COLOURS])
        self.register_buffer("palette", palette, persistent=False)

    def forward(self, z: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        fg, bg = (self.palette[i] for i in colour_indices(z))
        style = z[:, COLOUR_GENES + POSE_GENES:]
        h = F.leaky_relu(self.fc1(torch.cat([style, cls], dim=1)), 0.2)
        h = F.leaky_relu(self.fc2(torch.cat([h, cls], dim=1)), 0.2)
        h = F.leaky_relu(self.fc3(torch.cat([h, cls], dim=1)), 0.2)
        glyph = torch.sigmoid(self.to_glyph(h)).view(-1, 8, 8)
        pose_genes = z[:, COLOUR_GENES:COLOUR_GENES + POSE_GENES]
        pose = renderer.pose_from_unit((pose_genes / 2).clamp(-1, 1))
        return renderer.draw(glyph, fg, bg, pose, straight_through=self.training)


def stroke_map(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): each pixel's distance from the border colour, over the picture's largest.

    Shape without colour: a small CNN must otherwise learn to find strokes in any of 56 colour
    pairs of either polarity, and took thousands of steps to classify digits at all; with this
    extra channel (a fixed, differentiable first layer) it does within a few hundred.
    """
    border = torch.cat([images[..., 0, :], images[..., -1, :], images[..., 0], images[..., -1]], dim=2)
    # The sum of squares, not .norm(dim=1): PyTorch's norm over a middle axis is ten times slower on CPU.
    dist = (images - border.mean(dim=2)[:, :, None, None]).square().sum(dim=1, keepdim=True).sqrt()
    return dist / dist.amax(dim=(2, 3), keepdim=True).clamp_min(1e-3)


class MiniDiscriminator(nn.Module):
    """Pictures in [0, 1] -> realism logits; given labels, also projection terms (Miyato 2018)."""

    def __init__(self, cfg: GanConfig):
        super().__init__()
        ch = cfg.disc_channels
        self.convs = nn.ModuleList([spectral_norm(nn.Conv2d(a, b, k, s, 1)) for a, b, k, s in [
            (4, ch, 3, 1), (ch, 2 * ch, 4, 2), (2 * ch, 4 * ch, 4, 2), (4 * ch, 8 * ch, 4, 2)]])
        self.head = spectral_norm(nn.Linear(8 * ch, 1))
        self.embed_digit = spectral_norm(nn.Linear(cfg.n_classes, 8 * ch, bias=False))
        self.embed_fg = spectral_norm(nn.Linear(cfg.n_colours, 8 * ch, bias=False))
        self.embed_bg = spectral_norm(nn.Linear(cfg.n_colours, 8 * ch, bias=False))
        # Auxiliary digit classifier (AC-GAN): learnt on real pictures, it tells the generator
        # which class its glyph reads as, which conditions it in hundreds of steps, not thousands.
        self.classify = nn.Linear(8 * ch, cfg.n_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.cat([images, stroke_map(images)], dim=1) * 2 - 1
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x.sum(dim=(2, 3))

    def forward(self, images: torch.Tensor, cls: torch.Tensor | None = None,
                fg: torch.Tensor | None = None, bg: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Realism logit (N,), label-aware logit (N,) when labels are given, digit logits (N, 10)."""
        h = self.features(images)
        plain = self.head(h).squeeze(1)
        if cls is None:
            return plain, None, self.classify(h)
        proj = self.embed_digit(cls) + self.embed_fg(fg) + self.embed_bg(bg)
        return plain, plain + (proj * h).sum(dim=1), self.classify(h)
