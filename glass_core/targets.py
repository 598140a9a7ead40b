"""A picture as (part of) a text → image target: "find the GAN picture nearest this photo, but gothic".

A text → image target is a list of parts, each a caption (prompts.WeightedPrompt) or a picture
(ImagePrompt) with its weight. Every part is embedded by the same CLIP, texts by its text tower and
pictures by its image tower, and prompts.combine makes the one target direction of them all: the
unit vector along sum_i w_i e_i, as for weighted captions alone. A picture at weight 1 with no
caption searches for the generator output CLIP finds most like the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from glass_core.errors import BadInputError
from glass_core.images import to_rgb
from glass_core.prompts import WeightedPrompt, check_weight, combine, parse_prompts

DEFAULT_IMAGE_WEIGHT = 1.0


@dataclass(frozen=True)
class ImagePrompt:
    """One picture and how strongly the search should move toward (> 0) or away from (< 0) it."""

    image: Image.Image
    weight: float = DEFAULT_IMAGE_WEIGHT

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", check_weight(self.weight, f"the picture:{self.weight}"))
        object.__setattr__(self, "image", to_rgb(self.image))


Part = WeightedPrompt | ImagePrompt


def is_parts(target: Any) -> bool:
    """Whether `target` is a non-empty list of captions and pictures with weights."""
    return isinstance(target, list) and bool(target) and all(isinstance(p, (WeightedPrompt, ImagePrompt))
                                                             for p in target)


def picture_target(caption: str | None, picture: Image.Image | None, weight: float = DEFAULT_IMAGE_WEIGHT,
                   ) -> str | list[Part]:
    """The target of a caption (weighted parts allowed, may be empty) and an optional picture.

    Without a picture this is the caption itself, the target it always was. With one, the caption's
    parts then the picture; one part at least, caption or picture, must weigh more than 0.
    """
    text = caption.strip() if isinstance(caption, str) else ""
    if picture is None:
        if not text:
            raise BadInputError("Please enter a caption or give a picture: both are empty.")
        return text
    image = ImagePrompt(picture, weight)
    prompts = parse_prompts(text, require_positive=image.weight <= 0) if text else []
    if image.weight <= 0 and not any(p.weight > 0 for p in prompts):
        raise BadInputError("The picture needs a positive weight when there is no caption to move toward.")
    return [*prompts, image]


def embed_parts(scorer, parts: list[Part]) -> torch.Tensor:
    """The unit target direction (1, D) of captions and pictures, through one CLIP."""
    rows = []
    texts = [p.text for p in parts if isinstance(p, WeightedPrompt)]
    text_rows = iter(scorer.encode_texts(texts)) if texts else iter(())
    for part in parts:
        rows.append(next(text_rows) if isinstance(part, WeightedPrompt) else scorer.encode_pil(part.image)[0])
    return combine(torch.stack(rows), [p.weight for p in parts])


def describe_parts(target: str | list[Part]) -> dict[str, Any]:
    """The run card's target: the caption (as typed parts), the picture's SHA-256, size and weight."""
    from glass_core.runcard import describe_target

    if isinstance(target, str):
        return describe_target(target)
    prompts = [p for p in target if isinstance(p, WeightedPrompt)]
    out: dict[str, Any] = {}
    if prompts:
        out["caption"] = " | ".join(p.text if p.weight == 1 else f"{p.text}:{p.weight:g}" for p in prompts)
        out["prompts"] = [{"text": p.text, "weight": p.weight} for p in prompts]
    pictures = [p for p in target if isinstance(p, ImagePrompt)]
    if len(pictures) == 1:
        out |= describe_target(pictures[0].image) | {"image_weight": pictures[0].weight}
    elif pictures:
        out["images"] = [describe_target(p.image) | {"weight": p.weight} for p in pictures]
    return out
