"""Conversation-guided refinement (after ChatPainter, Sharma et al. 2018), without training.

A caption plus question/answer turns become weighted prompts for one CLIP target:

- the caption weighs 1 and each turn 0.5 (`TURN_WEIGHT`), so two described turns, joined (below),
  weigh as much as the caption: at 1 each they outweighed it, and the digit the caption named was
  lost in 2 of 24 runs (8 colour cases × 3 seeds; turns apart in benchmarks/dialogue_and_fluency.md,
  joined likewise in development);
- "yes" to "is there a dog?" adds the question's subject ("a dog") with a positive weight;
- "no" adds it with a *negative* weight: CLIP reads "no dog" as being about dogs, so the denied
  thing is pushed away instead of being named in a positive prompt;
- a short answer to "what colour is the car?" or "and the roof?" adds "a red car" / "a red
  roof": the subject with the property named. CLIP reads that far better than the raw
  "what colour is the car red" (0.37 against 0.12 zero-shot colour accuracy for the digit's
  colour on the mini set, chance 0.12; benchmarks/dialogue_and_fluency.md);
- any other answer adds "question answer" with a positive weight.

Answers that describe (a colour of the digit, then of the background) are joined into one phrase,
"a red digit on a blue background", weighing as much as the turns it joins: CLIP binds a colour to
its noun only within one text. Encoded apart, the mini CLIP swapped the two colours (zero-shot on
200 held-out pictures: 0.89/0.91 foreground/background separate, 1.00/1.00 joined;
benchmarks/dialogue_and_fluency.md). A later answer about the same noun replaces the earlier one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from glass_core.errors import BadInputError
from glass_core.generators.base import LatentSpace
from glass_core.operators import LatentSampling
from glass_core.prompts import WeightedPrompt, parse_prompts

YES = {"yes", "yeah", "yep", "sure", "of course", "it is", "there is", "there are", "correct", "right"}
NO = {"no", "nope", "not really", "none", "nothing", "no there isn't", "there isn't", "there aren't",
      "it isn't", "it's not", "not at all", "never"}
_AUX = re.compile(r"^(is|are|was|were|does|do|did|has|have|can|could|will|would)\s+"
                  r"(there|it|the picture|the image|they|he|she)?\s*(have|has|show|contain)?\s*", re.I)


@dataclass(frozen=True)
class Turn:
    """One question about the picture and the person's answer."""

    question: str
    answer: str


TURN_WEIGHT = 0.5
SETTINGS = {"background", "backdrop", "sky", "ground", "floor", "wall", "table"}  # what a subject is on


def _clean(text: str) -> str:
    return " ".join(text.strip().strip("?.!").split())


def subject(question: str) -> str:
    """"is there a dog in it?" -> "a dog in it": what a yes/no question asks about."""
    return _AUX.sub("", _clean(question)).strip() or _clean(question)


# "what colour is the car?", "and the roof?": questions whose short answer describes a subject.
_ATTRIBUTE = re.compile(r"^(?:and\s+)?(?:what\s+colou?rs?\s+(?:is|are)\s+|what\s+about\s+)?"
                        r"(?:the\s+|a\s+|an\s+)?(?P<noun>[a-z][a-z ]*)$", re.I)


def _described(question: str, answer: str) -> tuple[str, str] | None:
    """(noun, "a red car") for ("what colour is the car?", "red"); None when the question is not of that kind."""
    q = _clean(question)
    match = _ATTRIBUTE.match(q)
    asks_attribute = q.lower().startswith(("what colo", "and ", "what about"))
    if match and asks_attribute and len(answer.split()) <= 3 and answer.lower() not in YES | NO:
        noun = match["noun"].lower()
        # A picture is "on a blue background", not "a blue background": CLIP reads the first far
        # better (0.86 against 0.61 of background colours on the mini set, benchmarks/dialogue_and_fluency.md).
        return noun, f"on a {answer} {noun}" if noun in SETTINGS else f"a {answer} {noun}"
    return None


def _scene(phrases: list[str]) -> str:
    """One phrase from described parts: subjects joined by "with", then what they stand on."""
    on = [p for p in phrases if p.startswith("on ")]
    return " ".join([" with ".join(p for p in phrases if not p.startswith("on ")), *on]).strip()


def turn_prompt(turn: Turn, weight: float) -> WeightedPrompt:
    """The weighted prompt one turn contributes."""
    answer = _clean(turn.answer).lower()
    if not answer:
        raise BadInputError("The answer is empty: write what the picture should show.")
    if answer in YES or answer in NO:
        if not _clean(turn.question):
            raise BadInputError("A yes/no answer needs the question it answers.")
        return WeightedPrompt(subject(turn.question), weight if answer in YES else -weight)
    described = _described(turn.question, _clean(turn.answer))
    return WeightedPrompt(described[1] if described else f"{_clean(turn.question)} {_clean(turn.answer)}".strip(), weight)


def dialogue_prompts(caption: str, turns: list[Turn], turn_weight: float | None = None) -> list[WeightedPrompt]:
    """The caption's weighted prompts (parsed as a search's caption is: "a church | people:-1") and
    every turn so far, as weighted prompts for one target; described parts joined in one."""
    if not caption.strip():
        raise BadInputError("Please enter a caption: it is empty.")
    weight = TURN_WEIGHT if turn_weight is None else turn_weight
    prompts, scene, at = parse_prompts(caption), {}, None
    for turn in turns:
        prompt, described = turn_prompt(turn, weight), _described(turn.question, _clean(turn.answer))
        if described is None:
            prompts.append(prompt)
            continue
        at = len(prompts) if at is None else at
        scene[described[0]] = described[1]  # a later answer about the same noun replaces the earlier
    if scene:
        prompts.insert(at, WeightedPrompt(_scene(list(scene.values())), weight * len(scene)))
    return prompts


# Share of the population a turn's search re-draws in the genes the turn concerns; the best rest is
# kept whole. A converged population cannot flip several colour genes at once: after two colour
# turns, continued as it was, 0.62 / 0.79 of pictures had the right digit / background colour;
# re-drawn, 0.96 / 0.92 (benchmarks/dialogue_and_fluency.md).
RESEED_SHARE = 0.5


def turn_genes(turn: Turn, latent: LatentSpace) -> slice:
    """The genes a turn concerns: a yes/no on whether something is there, the class genes; anything else
    (a colour, a detail), the appearance genes: the reals. Falls back to whichever segment the latent has."""
    yes_no = _clean(turn.answer).lower() in YES | NO
    order = (latent.bits, latent.reals, latent.ints) if yes_no else (latent.reals, latent.bits, latent.ints)
    return next(sl for sl in order if sl.stop > sl.start)


def reseed_for_turn(population: np.ndarray, similarities: np.ndarray, latent: LatentSpace, turn: Turn,
                    seed: int, share: float = RESEED_SHARE) -> np.ndarray:
    """The population a turn's search starts from: the best genomes kept whole, the worst `share` with the
    turn's genes drawn afresh from the latent's initial distribution (seeded) and every other gene
    kept, so what earlier turns fixed (the digit, the object) stays."""
    out = np.array(population, dtype=float, copy=True)
    fresh = LatentSampling(latent).do(None, len(out), random_state=np.random.default_rng(seed)).get("X")
    worst = np.argsort(-np.asarray(similarities, dtype=float), kind="stable")[len(out) - int(round(share * len(out))):]
    genes = turn_genes(turn, latent)
    out[worst, genes] = fresh[worst, genes]
    return out
