"""The mini GAN's networks: a layered, class-conditional generator and a projection discriminator.

The latent mirrors BigGAN's: `n_real` reals plus a 10-way class vector. The first six reals are
colour genes, read like BigGAN's class genes are, through a fixed rule: the signs of genes 0-2
are the foreground's red, green and blue bits, those of genes 3-5 the background's (the palette
is the RGB cube's eight corners). A background equal to the foreground becomes its complement,
so every latent names two different colours. The other reals are style (size, slant, stroke).
The generator learns the hard part, the glyph: a stroke mask from style and class. It paints the
mask in the two colours the genes name, exactly (a fixed last layer, like the rule that reads
them), so any of the 56 colour pairs is one sign flip away and no colour can be forgotten by
mode collapse. The discriminator has a plain realism head (what `discriminate` returns) and a
projection term for the digit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from glass_core.mini import data

COLOUR_GENES = 6


@dataclass(frozen=True)
class GanConfig:
    """Sizes of the mini GAN; saved next to its weights as config.json."""

    n_real: int = 32
    n_classes: int = 10
    n_colours: int = 8
    gen_channels: int = 32
    disc_channels: int = 16
    image_size: int = data.SIZE

    def to_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self) | {"colours": data.COLOURS, "colour_genes": COLOUR_GENES}


def colour_indices(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Palette indices (into data.COLOURS) of foreground and background named by the colour genes."""
    fg_bits = (z[:, 0:3] > 0).long()
    bg_bits = (z[:, 3:6] > 0).long()
    same = (fg_bits == bg_bits).all(dim=1, keepdim=True)
    bg_bits = torch.where(same, 1 - fg_bits, bg_bits)
    lookup = torch.tensor([data.COLOURS.index(_corner_name(i)) for i in range(8)], device=z.device)
    weights = torch.tensor([4, 2, 1], device=z.device)
    return lookup[(fg_bits * weights).sum(1)], lookup[(bg_bits * weights).sum(1)]


def _corner_name(code: int) -> str:
    """The palette name of the RGB corner with bits (r, g, b) = code's three bits."""
    rgb = ((code >> 2) & 1, (code >> 1) & 1, code & 1)
    return next(n for n, c in data.PALETTE.items() if tuple(int(v) for v in c) == rgb)


class _UpBlock(nn.Module):
    """Nearest ×2, two 3×3 convolutions, class-dependent bias: shape follows the class."""

    def __init__(self, c_in: int, c_out: int, n_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1, self.norm2 = nn.BatchNorm2d(c_out), nn.BatchNorm2d(c_out)
        self.cls = nn.Linear(n_classes, c_out)

    def forward(self, x: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.relu(self.norm1(self.conv1(x)) + self.cls(cls)[:, :, None, None])
        return F.relu(self.norm2(self.conv2(x)))


class MiniGenerator(nn.Module):
    """(z, class vector) -> (N, 3, 32, 32) pictures in [0, 1]: mask · fg + (1 - mask) · bg."""

    def __init__(self, cfg: GanConfig):
        super().__init__()
        self.cfg = cfg
        ch = cfg.gen_channels
        self.fc = nn.Linear(cfg.n_real - COLOUR_GENES + cfg.n_classes, 4 * ch * 4 * 4)
        self.blocks = nn.ModuleList([_UpBlock(4 * ch, 2 * ch, cfg.n_classes),
                                     _UpBlock(2 * ch, ch, cfg.n_classes)])
        self.to_mask = nn.Conv2d(ch, 1, 3, padding=1)
        palette = torch.tensor([data.PALETTE[name] for name in data.COLOURS])
        self.register_buffer("palette", palette, persistent=False)

    def forward(self, z: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        fg, bg = (self.palette[i][:, :, None, None] for i in colour_indices(z))
        x = F.relu(self.fc(torch.cat([z[:, COLOUR_GENES:], cls], dim=1))).view(len(z), -1, 4, 4)
        for block in self.blocks:
            x = block(x, cls)
        # The pictures are 8×8 glyphs blown up smoothly: a 16×16 mask, its logits upsampled
        # bilinearly, draws their edges as well as a 32×32 one at a quarter of the cost.
        logits = F.interpolate(self.to_mask(x), size=(self.cfg.image_size,) * 2, mode="bilinear",
                               align_corners=False)
        # Clamped, not squashed: flat background and solid ink are reachable with live gradients.
        mask = (0.5 + logits).clamp(0, 1)
        return mask * fg + (1 - mask) * bg


class MiniDiscriminator(nn.Module):
    """Pictures in [0, 1] -> realism logits; with a class vector, also a projection term (Miyato 2018)."""

    def __init__(self, cfg: GanConfig):
        super().__init__()
        ch = cfg.disc_channels
        self.convs = nn.ModuleList([spectral_norm(nn.Conv2d(a, b, k, s, 1)) for a, b, k, s in [
            (3, ch, 3, 1), (ch, 2 * ch, 4, 2), (2 * ch, 4 * ch, 4, 2), (4 * ch, 8 * ch, 4, 2)]])
        self.head = spectral_norm(nn.Linear(8 * ch, 1))
        self.embed_digit = spectral_norm(nn.Linear(cfg.n_classes, 8 * ch, bias=False))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = images * 2 - 1
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x.sum(dim=(2, 3))

    def forward(self, images: torch.Tensor, cls: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Realism logit (N,), and the label-aware logit (N,) when labels are given."""
        h = self.features(images)
        plain = self.head(h).squeeze(1)
        if cls is None:
            return plain, None
        return plain, plain + (self.embed_digit(cls) * h).sum(dim=1)
