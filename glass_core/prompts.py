"""Weighted and negative prompts: "a church | gothic:0.5 | people:-1" as one CLIP target.

The rule (also in the README):

- `|` separates the parts; each part is a caption, optionally followed by `:weight`.
- A weight is a number after the part's last colon, at the very end of the part: `gothic:0.5`,
  `people:-1`, `a cat: 0.5`, `cat :-1`, `a dog:2`. Without one a part weighs 1.
- Except `digits:digits` with no space before the colon, which is a time, a verse or a ratio and
  stays text: "a clock showing 10:30", "John 3:16", "ratio 16:9", "12:00:00", also with a full
  stop after it or a space after the colon ("John 3:16.", "10: 30"). To weight a caption that
  ends in a number, put a space before the colon ("room 101 :2"); "a 7:-1" or "a 7:0.5" are weights
  already, since a time is never signed or decimal.
- `\\:` (and `\\|`) keep a colon (or a bar) as text anywhere: "score\\: 10" is the caption "score: 10".
- A weight is a finite number from -100 to 100, and at least one part must weigh more than 0.
  Anything else ("a:1e400", "a:inf", "a:nan") is refused with one message naming the part; it is
  never read as text, since the person plainly meant a weight.

A single part follows the same rule: "a dog:2" is "a dog" at weight 2 (the same target as "a dog",
since the target is a direction), and "a dog:-1" alone is refused (nothing to move toward).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from glass_core.errors import BadInputError

MAX_WEIGHT = 100.0
_NUMBER = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|inf(?:inity)?|nan)", re.I)
_BAR = re.compile(r"(?<!\\)\|")
_PLAIN_DIGITS = re.compile(r"\s*\d+\.?")  # what follows the colon of a time: "30", " 30", "16."


def _shown(part: str, limit: int = 48) -> str:
    """`part` quoted for a message, its middle elided when long."""
    return repr(part if len(part) <= limit else f"{part[:limit - 16]}…{part[-12:]}")


def check_weight(weight: float, part: str) -> float:
    """`weight` as a float (-0 as 0) when finite and within ±MAX_WEIGHT; else one clear refusal naming `part`."""
    value = float(weight)
    if not math.isfinite(value) or abs(value) > MAX_WEIGHT:
        raise BadInputError(
            f"The weight in {_shown(part)} is not allowed: a weight must be a number from {-MAX_WEIGHT:g} to"
            f" {MAX_WEIGHT:g}. To keep a colon as text, write it as '\\:'.")
    return value + 0.0


@dataclass(frozen=True)
class WeightedPrompt:
    """One caption and how strongly the search should move toward (> 0) or away from (< 0) it."""

    text: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", check_weight(self.weight, f"{self.text}:{self.weight}"))


def _split_weight(part: str) -> tuple[str, str | None]:
    """(text, weight as typed or None) of one stripped part, by the module's rule."""
    colon = part.rfind(":")
    if colon < 0 or (colon > 0 and part[colon - 1] == "\\"):
        return part, None
    head, tail = part[:colon], part[colon + 1:]
    number = tail.strip()
    if not _NUMBER.fullmatch(number):
        return part, None
    if head[-1:].isdigit() and _PLAIN_DIGITS.fullmatch(tail):  # 10:30, 3:16., 10: 30: text
        return part, None
    return head, number


def parse_prompts(spec: str, *, require_positive: bool = True) -> list[WeightedPrompt]:
    """Parts split on '|', each 'caption' or 'caption:weight' (weight 1 when absent).

    A trailing ':number' is a weight, except digits:digits with no space before the colon (10:30,
    John 3:16., 10: 30, 16:9), which stays text; '\\:' and '\\|' are a literal colon and bar.
    Weights must be finite and from -100 to 100, and one part at least must be positive (unless
    `require_positive` is False: a picture in the same target gives the direction, glass_core.targets);
    anything else is one BadInputError.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise BadInputError("Please enter a caption: it is empty.")
    prompts = []
    for raw in _BAR.split(spec):
        part = raw.strip()
        text, typed = _split_weight(part)
        weight = 1.0 if typed is None else check_weight(float(typed), part)
        text = " ".join(text.replace("\\:", ":").replace("\\|", "|").split())
        if not text:
            raise BadInputError(f"One part of {_shown(spec)} has no text: write 'caption' or 'caption:weight'.")
        prompts.append(WeightedPrompt(text, weight))
    if require_positive and not any(p.weight > 0 for p in prompts):
        raise BadInputError("At least one part needs a positive weight: say what the picture should show.")
    return prompts


def combine(embeddings: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """The unit vector along sum_i w_i e_i.

    Its cosine with an image is proportional to the weighted sum of the image's cosines with each
    prompt, so a negative weight lowers the score of images that match that prompt: it pushes
    away from it, instead of the plain 'no people' text that CLIP reads as being about people.
    Weights that cancel ("a dog:1 | a dog:-1": the sum is under 1/1000 of the parts' total size)
    or are not finite are refused: the direction would be rounding noise or NaN.
    """
    w = torch.tensor(weights, dtype=embeddings.dtype, device=embeddings.device)[:, None]
    if not bool(torch.isfinite(w).all()):
        raise BadInputError(f"The prompt weights must be finite numbers from {-MAX_WEIGHT:g} to {MAX_WEIGHT:g}.")
    total = (w * embeddings).sum(dim=0, keepdim=True)
    scale = float((w.abs() * embeddings.norm(dim=-1, keepdim=True)).sum())
    norm = float(total.norm())
    if not math.isfinite(norm) or norm <= 1e-3 * scale or norm == 0.0:
        raise BadInputError("The weighted prompts cancel each other out; change a weight.")
    return F.normalize(total, dim=-1)
