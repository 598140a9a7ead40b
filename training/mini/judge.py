"""An independent judge of mini pictures and captions: which digit, which two colours.

It shares nothing with the mini CLIP: the background colour is read from the picture's border,
the foreground from the pixels farthest from it, both mapped to the nearest palette colour; the
stroke mask (how far each pixel lies from background towards foreground) is cropped, centred
and classified by a scikit-learn SVM fitted at load time, seeded, on pictures rendered from
the training split of sklearn's digits. Nothing is stored, so nothing is unpickled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from training.mini import data

FEATURE_SIDE = 16
RENDERS_PER_DIGIT = 3  # jittered pictures per training digit the SVM sees


@dataclass(frozen=True)
class Verdict:
    """What a picture or caption shows; None where it could not be read."""

    digit: int | None
    fg: str | None
    bg: str | None


def nearest_colour(rgb: np.ndarray) -> str:
    """The palette name nearest to an RGB triple in [0, 1]."""
    names = data.COLOURS
    table = np.array([data.PALETTE[n] for n in names])
    return names[int(np.argmin(((table - rgb) ** 2).sum(1)))]


def _as_tensor(image: Image.Image | torch.Tensor) -> torch.Tensor:
    """A PIL image or (3, H, W) tensor in [0, 1] as a (3, 32, 32) float tensor."""
    if isinstance(image, Image.Image):
        arr = np.asarray(image.convert("RGB").resize((data.SIZE, data.SIZE), Image.BOX), np.float32)
        return torch.from_numpy(arr / 255.0).permute(2, 0, 1)
    image = image.detach().float().cpu()
    if image.shape[-2:] != (data.SIZE, data.SIZE):
        image = F.interpolate(image[None], size=(data.SIZE, data.SIZE), mode="area")[0]
    return image.clamp(0, 1)


def separate(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, 3, 32, 32) pictures -> background (N, 3), foreground (N, 3), stroke masks (N, 32, 32)."""
    n = images.shape[0]
    border = torch.cat([images[:, :, :2].reshape(n, 3, -1), images[:, :, -2:].reshape(n, 3, -1),
                        images[..., :2].reshape(n, 3, -1), images[..., -2:].reshape(n, 3, -1)], dim=2)
    bg = border.median(dim=2).values
    offset = images - bg[:, :, None, None]
    dist = offset.norm(dim=1).flatten(1)
    # The strongest tenth of pixels is stroke centre: their mean is the ink colour.
    cut = torch.topk(dist, dist.shape[1] // 10, dim=1).values[:, -1:]
    far = (dist >= cut).float()
    fg = (images.flatten(2) * far[:, None]).sum(2) / far.sum(1, keepdim=True)
    axis = fg - bg
    proj = (offset * axis[:, :, None, None]).sum(1)
    mask = proj / (axis * axis).sum(1).clamp_min(1e-6)[:, None, None]
    return bg, fg, mask.clamp(0, 1)


def _extent(ink: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, L) booleans -> first and one-past-last True index (0 and L when there is none)."""
    length = ink.shape[1]
    first = ink.float().argmax(1)
    last = length - ink.flip(1).float().argmax(1)
    empty = ~ink.any(1)
    return torch.where(empty, 0, first).float(), torch.where(empty, length, last).float()


def glyph_features(masks: torch.Tensor) -> np.ndarray:
    """Crop each stroke mask to its ink, widen it square about the centre, resample to 16×16."""
    n, h, w = masks.shape
    ink = masks > 0.3
    top, bottom = _extent(ink.any(2))
    left, right = _extent(ink.any(1))
    # Thin digits (a "1") keep their shape: the crop is widened, never stretched.
    side = torch.maximum(bottom - top, right - left)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = side / w, side / h
    theta[:, 0, 2], theta[:, 1, 2] = (left + right) / w - 1, (top + bottom) / h - 1
    grid = F.affine_grid(theta, (n, 1, 2 * FEATURE_SIDE, 2 * FEATURE_SIDE), align_corners=False)
    crop = F.grid_sample(masks[:, None], grid, mode="bilinear", align_corners=False)
    return F.avg_pool2d(crop, 2).flatten(1).numpy()


def _batch(images: list[Image.Image] | torch.Tensor) -> torch.Tensor:
    """PIL images or a tensor as one (N, 3, 32, 32) float tensor in [0, 1]."""
    if isinstance(images, torch.Tensor) and images.shape[-2:] == (data.SIZE, data.SIZE):
        return images.detach().float().cpu().clamp(0, 1)
    return torch.stack([_as_tensor(im) for im in images])


class Judge:
    """Reads digit and colours from a picture; fitted in a couple of seconds at construction."""

    def __init__(self, seed: int = data.SEED):
        from sklearn.svm import SVC

        rng = np.random.default_rng(seed)
        images, labels = data.digits()
        train, _ = data.split_indices()
        idx = np.repeat(train, RENDERS_PER_DIGIT)
        combos = data.all_combos()  # colours do not matter to the glyph, so any pair will do
        picks = [combos[i] for i in rng.integers(0, len(combos), len(idx))]
        gen = torch.Generator().manual_seed(seed)
        pics = data.render(torch.from_numpy(images[idx]), data.colour_tensor([p[1] for p in picks]),
                           data.colour_tensor([p[2] for p in picks]), gen)
        feats = glyph_features(separate(pics)[2])
        self.svm = SVC(C=10.0, gamma="scale").fit(feats, labels[idx])

    def judge_images(self, images: list[Image.Image] | torch.Tensor) -> list[Verdict]:
        """Verdicts for a batch of pictures (PIL images or an (N, 3, H, W) tensor in [0, 1])."""
        bg, fg, masks = separate(_batch(images))
        digits = self.svm.predict(glyph_features(masks))
        return [Verdict(int(d), nearest_colour(f.numpy()), nearest_colour(b.numpy()))
                for d, f, b in zip(digits, fg, bg)]

    def judge_image(self, image: Image.Image | torch.Tensor) -> Verdict:
        """Verdict for one picture."""
        return self.judge_images([image])[0]


_WORD = {w: i for i, w in enumerate(data.DIGIT_WORDS)} | {str(i): i for i in range(10)}


def parse_caption(text: str) -> Verdict:
    """Digit (first digit word or numeral) and colours (first two colour names, fg first)."""
    words = re.findall(r"[a-z]+|\d", text.lower())
    digit = next((_WORD[w] for w in words if w in _WORD), None)
    colours = [w for w in words if w in data.PALETTE]
    fg = colours[0] if colours else None
    bg = colours[1] if len(colours) > 1 else None
    return Verdict(digit, fg, bg)
