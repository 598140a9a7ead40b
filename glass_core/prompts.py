"""Weighted and negative prompts: "a church | gothic:0.5 | people:-1" as one CLIP target."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from glass_core.errors import BadInputError

_WEIGHT = re.compile(r"^(?P<text>.*?)\s*:\s*(?P<weight>[-+]?(\d+(\.\d*)?|\.\d+))\s*$", re.S)


@dataclass(frozen=True)
class WeightedPrompt:
    """One caption and how strongly the search should move toward (> 0) or away from (< 0) it."""

    text: str
    weight: float = 1.0


def parse_prompts(spec: str) -> list[WeightedPrompt]:
    """Split on '|'; a trailing ':number' is the part's weight (default 1)."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInputError("Please enter a caption: it is empty.")
    prompts = []
    for part in spec.split("|"):
        match = _WEIGHT.match(part.strip())
        text, weight = (match["text"], float(match["weight"])) if match else (part, 1.0)
        text = " ".join(text.split())
        if not text:
            raise BadInputError(f"One part of {spec!r} has no text: write 'caption' or 'caption:weight'.")
        prompts.append(WeightedPrompt(text, weight))
    if not any(p.weight > 0 for p in prompts):
        raise BadInputError("At least one part needs a positive weight: say what the picture should show.")
    return prompts


def combine(embeddings: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """The unit vector along sum_i w_i e_i.

    Its cosine with an image is proportional to the weighted sum of the image's cosines with each
    prompt, so a negative weight lowers the score of images that match that prompt: it pushes
    away from it, instead of the plain 'no people' text that CLIP reads as being about people.
    """
    w = torch.tensor(weights, dtype=embeddings.dtype, device=embeddings.device)[:, None]
    total = (w * embeddings).sum(dim=0, keepdim=True)
    if float(total.norm()) < 1e-6:
        raise BadInputError("The weighted prompts cancel each other out; change a weight.")
    return F.normalize(total, dim=-1)
