"""The mini CLIP: open_clip's own CLIP class, small, trained contrastively on coloured digits.

Saved in open_clip's local-dir layout (open_clip_config.json + open_clip_model.safetensors), so
`open_clip.create_model_and_transforms("local-dir:weights/mini/clip")` loads it and
`open_clip.get_tokenizer(...)` returns the real SimpleTokenizer (context 77, vocabulary 49,408).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from training.mini import data, wording
from training.mini.optim import adamw_warmup_cosine
from glass_core.scorer import encode_text_trimmed

MODEL_CFG = {
    "embed_dim": 128,
    "quick_gelu": False,
    # A ModifiedResNet on 32×32: the stem quarters the side and the four stages halve it down
    # to one cell, so the attention pool sees a single position; convolutions learn colour and
    # stroke shape far faster on a CPU than a ViT of the same cost.
    # Width 24, not 16: loosely drawn pictures need the room (held-out digits drawn apart: 0.93
    # against 0.89 read right at 16, in a development run).
    "vision_cfg": {"image_size": data.SIZE, "layers": [1, 1, 1, 1], "width": 24},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 128, "heads": 4, "layers": 3,
                 "mlp_ratio": 2.0},
}
# The palette's corners are used evenly, so every channel has mean ≈ 0.5 and std ≈ 0.5.
PREPROCESS_CFG = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "image_size": data.SIZE,
                  "interpolation": "bicubic", "resize_mode": "shortest"}


# Shares of the training data in free wording (training.mini.wording) and drawn loosely
# (training.mini.augment); the rest keeps the renderer's look, which is what the mini GAN draws.
FREE_SHARE = 0.6
LOOSE_SHARE = 0.5
# Loose drawings from the start kept the image tower from ever learning digit shapes (it
# settled on colours alone), so they come in only once shapes are learned: none for the first
# 30 % of the steps, then more and more until 60 %.
LOOSE_FROM, LOOSE_FULL = 0.3, 0.6


def loose_share(step: int, steps: int) -> float:
    """The share of loosely drawn pictures at one training step (the curriculum above)."""
    ramp = (step / steps - LOOSE_FROM) / (LOOSE_FULL - LOOSE_FROM)
    return LOOSE_SHARE * min(max(ramp, 0.0), 1.0)

# 3,000 steps take about 24 minutes on 2 cores, inside the 30-minute bound.
STEPS = 3000


def build_model() -> torch.nn.Module:
    """A freshly initialised mini CLIP (open_clip.model.CLIP)."""
    from open_clip.model import CLIP

    return CLIP(**MODEL_CFG)


def encode_text_short(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP.encode_text on tokens cut after the longest caption, unit-normalised.

    Cutting the padding makes training four times cheaper at the same function (the scorer's
    own trimmed text tower, glass_core.scorer.encode_text_trimmed).
    """
    return F.normalize(encode_text_trimmed(model, tokens), dim=-1)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """Pictures in [0, 1] -> what the vision tower reads (the scorer's preprocessing at 32×32)."""
    mean = torch.tensor(PREPROCESS_CFG["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(PREPROCESS_CFG["std"]).view(1, 3, 1, 1)
    return (images - mean) / std


def _twin(combo: tuple[int, str, str], rng: np.random.Generator) -> tuple[int, str, str]:
    """The colour-swapped combination (a hard negative for binding); if held out, new colours."""
    swapped = (combo[0], combo[2], combo[1])
    if swapped not in data.heldout_combos():
        return swapped
    same_digit = [c for c in data.train_combos() if c[0] == combo[0]]
    return same_digit[rng.integers(len(same_digit))]


def _digit_twin(combo: tuple[int, str, str], rng: np.random.Generator) -> tuple[int, str, str]:
    """Same colours, another digit (a hard negative for shape), avoiding held-out combinations."""
    options = [c for c in data.train_combos() if c[1:] == combo[1:] and c[0] != combo[0]]
    return options[rng.integers(len(options))]


def caption_for(combo: tuple[int, str, str], rng: np.random.Generator) -> tuple[str, wording.Constraint]:
    """A training caption and what it names: a fragment now and then, often free wording, else a template."""
    if rng.random() < wording.FRAGMENT_RATE:
        return wording.fragment_caption(*combo, rng)
    if rng.random() < FREE_SHARE:
        return wording.add_strays(wording.free_caption(*combo, rng), rng), combo
    return data.random_caption(*combo, rng), combo


def matches(combos: list[tuple[int, str, str]], named: list[wording.Constraint]) -> torch.Tensor:
    """A (pictures × captions) boolean matrix: which pictures each caption is true of."""
    return torch.tensor([[all(n is None or n == c for n, c in zip(caption, combo)) for caption in named]
                         for combo in combos])


def training_batch(n: int, rng: np.random.Generator, tokenizer, loose: float = LOOSE_SHARE
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """n pictures, token rows, which pictures each caption is true of, and which captions are whole.

    A third of the combinations are random, a third colour-swapped, a third other digits; a
    `loose` share of the pictures is drawn loosely (training.mini.augment).
    """
    combos = data.train_combos()
    base = [combos[i] for i in rng.integers(0, len(combos), n // 3)]
    first = data.render_combos(base, rng, loose=loose)
    # Colour twins reuse the handwriting, so colour binding is all that tells them apart.
    twins = [_twin(c, rng) for c in base]
    second = data.render_combos(twins, rng, index=first["index"], loose=loose)
    others = [_digit_twin(c, rng) for c in base]
    third = data.render_combos(others, rng, loose=loose)
    images = torch.cat([first["images"], second["images"], third["images"]])
    # A little pixel noise so that scores stay steady on the GAN's not-quite-flat colours.
    noisy = torch.from_numpy(rng.random(len(images)) < 0.5)
    images = torch.where(noisy[:, None, None, None],
                         (images + 0.04 * torch.randn(images.shape)).clamp(0, 1), images)
    texts, named = zip(*(caption_for(c, rng) for c in base + twins + others))
    whole = torch.tensor([None not in n for n in named])
    return images, tokenizer(list(texts)), matches(base + twins + others, list(named)), whole


def shared_infonce(logits: torch.Tensor, positives: torch.Tensor, whole: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """Symmetric InfoNCE over (pictures × captions) logits, each target shared evenly among its true pairs.

    `positives[i, j]` says caption j is true of picture i; `whole[j]` that caption j names all three
    of digit, digit colour and background. Caption → picture reads every caption: a fragment ("a
    yellow background") should pick out all the pictures it is true of, not one. Picture →
    caption reads whole captions only: were fragments among its answers, a picture's own caption
    would get a third of its target and the CLIP would learn to tell pictures apart less sharply.
    With the diagonal alone this is CLIP's own loss.
    """
    whole = torch.ones(logits.shape[1], dtype=torch.bool) if whole is None else whole
    target = positives.float()
    answered = target[:, whole].sum(1) > 0  # a picture whose own caption is a fragment may have none
    to_text, text_target = logits[answered][:, whole], target[answered][:, whole]
    picture_loss = F.cross_entropy(to_text, text_target / text_target.sum(1, keepdim=True))
    return (picture_loss + F.cross_entropy(logits.T, target.T / target.T.sum(1, keepdim=True))) / 2


def contrastive_loss(model: torch.nn.Module, images: torch.Tensor, tokens: torch.Tensor,
                     positives: torch.Tensor | None = None, whole: torch.Tensor | None = None) -> torch.Tensor:
    """The batch's shared InfoNCE; `positives` defaults to the diagonal (CLIP's loss)."""
    img = F.normalize(model.encode_image(normalise(images)), dim=-1)
    txt = encode_text_short(model, tokens)
    logits = model.logit_scale.exp().clamp(max=100) * img @ txt.T
    positives = torch.eye(len(images), dtype=torch.bool) if positives is None else positives
    return shared_infonce(logits, positives, whole)


def train_clip(steps: int = STEPS, batch: int = 192, lr: float = 2e-3, seed: int = data.SEED,
               log: Callable[[str], None] = print) -> torch.nn.Module:
    """Train the mini CLIP from scratch, seeded; AdamW with warm-up and cosine decay."""
    from open_clip import get_tokenizer

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer = get_tokenizer("RN50")  # SimpleTokenizer, context 77: what local-dir gives back
    model = build_model().train()
    opt, sched = adamw_warmup_cosine(model.parameters(), lr, 0.05, steps)
    start = time.time()
    for step in range(steps):
        images, tokens, positives, whole = training_batch(batch, rng, tokenizer, loose_share(step, steps))
        loss = contrastive_loss(model, images, tokens, positives, whole)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            log(f"clip step {step:4d}  loss {loss.item():.3f}  {time.time() - start:.0f}s")
    return model.eval()


def save_clip(model: torch.nn.Module, folder: Path) -> None:
    """Write open_clip's local-dir layout; weights as float16 (open_clip casts them back)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    (folder / "open_clip_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
             if v.is_floating_point()}
    state |= {k: v.contiguous() for k, v in model.state_dict().items() if not v.is_floating_point()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
