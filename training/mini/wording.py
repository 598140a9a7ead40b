"""Free wording for the mini CLIP: a small grammar of the captions a person would type.

A caption is an opener, the digit with its colour, the background, and a closer, with the
background named after the digit or before it, or in a short form ("red 3 on blue") whose join
may be any stray word; digits are words or numerals and some colours have synonyms ("purple"
for magenta). Fragments name only some of the three ("a yellow background", "a red digit").
Training samples from the grammar. Three lists of phrasings were written apart from it, and no
combination of its parts produces any of them (a test enumerates the grammar to prove it):
`FREE_DEV`, whose misses guided the grammar, `FREE_HELDOUT`, written before the final training
and read only by the final evaluation, and `SHORT_HELDOUT`, short forms written before the
retraining of issue 27.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import numpy as np

from training.mini.data import DIGIT_WORDS, PALETTE, TRAIN_TEMPLATES

# What a colour can be called. The palette's names come first and are drawn most often.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "magenta": ("purple", "pink"), "cyan": ("turquoise", "aqua"), "green": ("lime",),
    "yellow": ("golden",), "black": ("dark",),
}
SYNONYM_RATE = 0.25

OPENERS = ("", "", "", "a picture of ", "the picture of ", "an image of ", "draw ", "please draw ",
           "show me ", "i want ", "make ", "a drawing of ", "a photo of ", "generate ", "could you draw ",
           "i would like to see ", "can you make ")
CLOSERS = ("", "", "", " please", " for me", " thanks", " in the middle", ", simple")
# The digit with its colour: {fg} and {d} are filled in; {adj} is an optional size or style word.
SUBJECTS = ("a {adj}{fg} {d}", "the {adj}{fg} {d}", "a {adj}{fg} number {d}", "a {adj}{fg} digit {d}",
            "{d} in {fg}", "the number {d} in {fg}", "{d} written in {fg}", "a {d} drawn in {fg}",
            "the digit {d} coloured {fg}", "a {adj}{d} in {fg}", "{fg} {d}")
ADJECTIVES = ("", "", "", "big ", "small ", "handwritten ", "large ", "little ")
# The background after the digit or before it; "background" before its colour too, as people write.
AFTER = ("{s} on a {bg} background", "{s} on {bg}", "{s} over {bg}", "{s} against a {bg} background",
         "{s} with a {bg} background", "{s}, {bg} background", "{s} on top of {bg}", "{s} and the background {bg}",
         "{s}, the background is {bg}", "{s} on a background of {bg}", "{s} with the background in {bg}")
BEFORE = ("on a {bg} background, {s}", "a {bg} background with {s}", "{bg} background, {s}",
          "a {bg} background behind {s}", "against {bg}, {s}", "a {bg} background and {s} on it",
          "the background is {bg}, {s}", "background in {bg} with {s}",
          # The background first with only a preposition to say so: the short forms below put the
          # digit's colour first, and without these the first colour became the digit's here too.
          "over {bg}, {s}", "on top of {bg}, {s}", "against {bg}: {s}")
# Short forms: the subject, a join and the background's colour with no "background" after it,
# so that the order alone says the first colour is the digit's. Half the time the join is a
# stray word (or two) instead, so the order is learned apart from any one join word.
SHORT_JOINS = (" on ", " over ", ", ", " with ", " against ", " and ", ": ", " + ", " & ")
SHORT_RATE, STRAY_JOIN_RATE = 0.15, 0.5
# Fragments name one or two of digit, digit colour and background, as people write them to
# steer a picture ("this picture, but on a yellow background"). Trained without them, the short
# forms taught the CLIP that a caption's first colour is the digit's, so that a lone "a yellow
# background" asked for a yellow digit (a retraining the README describes).
FRAGMENTS = ("a {bg} background", "on a {bg} background", "{bg} background", "on {bg}",
             "the background is {bg}", "over {bg}", "against a {bg} background", "background {bg}",
             "a {fg} digit", "a {fg} number", "written in {fg}", "a digit in {fg}",
             "a {d}", "the number {d}", "digit {d}", "the digit {d}",
             "a {fg} {d}", "{d} in {fg}", "the number {d} in {fg}",
             "a {d} on a {bg} background", "{d} on {bg}", "the number {d} over {bg}",
             "a {fg} digit on a {bg} background", "a {fg} number on {bg}", "something {fg} on {bg}")
FRAGMENT_RATE = 0.1

# Written apart from the grammar: other orders, other joins, more filler. FREE_DEV's misses in a
# first evaluation led to the grammar's "background" before its colour and its "and" joins.
FREE_DEV = (
    "a {bg} background and on it a {fg} {d}",
    "on {bg} please draw the number {d} in {fg}",
    "i would like a {fg} {d} on a {bg} background please",
    "show me a {bg} background with a big {fg} {d} on it",
    "{fg} number {d}, {bg} background",
    "the digit {d} in {fg} on top of a {bg} background",
    "draw a {fg} digit {d} over a {bg} background for me",
    "could you make a {fg} {d} against {bg}",
    "a small {d} in {fg}, background {bg}",
    "on a {bg} background a handwritten {d} in {fg}",
    "background {bg}, digit {d} in {fg}",
    "a {fg} {d} and a {bg} background",
)
# Written before the final training; only the final evaluation reads them.
FREE_HELDOUT = (
    "please make the digit {d} in {fg} with a {bg} background",
    "{bg} background with the number {d} in {fg} on it",
    "can you draw a {fg} {d} on a plain {bg} background",
    "a {fg} coloured {d} on {bg}",
    "the background is {bg} and the digit {d} is {fg}",
    "draw {d} in {fg} over a {bg} backdrop",
    "on {bg}, a {fg} {d} please",
    "show a big {fg} number {d} against a {bg} background",
    "{d} in {fg} on a {bg} background, handwritten",
    "i want the number {d} written in {fg} and a {bg} background",
    "a picture with a {bg} background and a {fg} {d}",
    "please make a little {fg} digit {d} on {bg}",
)

# Short forms (issue 27): the digit's colour first and the background's second, with no
# "background" after it, so only the order says which colour is which. Written on 2026-12-06,
# before any retraining for them; only experiments.evaluate reads them (the README tells how
# the four retrainings since did on them).
SHORT_HELDOUT = (
    "{fg} {d} {bg}",
    "{d} {fg} {bg}",
    "{fg} {d} in front of {bg}",
    "{fg} {d} / {bg}",
    "{fg} {d}; {bg} behind it",
    "{d}, {fg} on {bg}",
    "{fg} {d} upon {bg}",
    "{fg} {d} surrounded by {bg}",
    "a {fg} {d} set on {bg}",
    "{d} in {fg}, {bg} around",
    "{fg} {d} atop {bg}",
    "{fg} {d} - {bg}",
)


def _slots(template: str) -> str:
    """The template with its colour and digit slots, to compare phrasings by shape."""
    return " ".join(template.split())


@lru_cache(maxsize=1)
def grammar_templates() -> tuple[str, ...]:
    """Every template the grammar can produce (with {fg}, {bg} and {d} left open), sorted."""
    subjects = [s.replace("{adj}", a) for s in SUBJECTS for a in set(ADJECTIVES)]
    bodies = [b.format(s=s, bg="{bg}") for b in AFTER + BEFORE for s in subjects]
    bodies += [s + j + "{bg}" for s in subjects for j in SHORT_JOINS]
    out = {o + b + c for o, b, c in itertools.product(set(OPENERS), bodies, set(CLOSERS))}
    return tuple(sorted(_slots(t) for t in out | set(TRAIN_TEMPLATES)))


def colour_word(colour: str, rng: np.random.Generator) -> str:
    """The colour's palette name, or now and then one of its synonyms."""
    options = SYNONYMS.get(colour, ())
    if options and rng.random() < SYNONYM_RATE:
        return options[rng.integers(len(options))]
    return colour


def fill(template: str, digit: int, fg: str, bg: str, rng: np.random.Generator) -> str:
    """A template with the digit (word or numeral) and colour words (names or synonyms)."""
    d = str(digit) if rng.integers(2) else DIGIT_WORDS[digit]
    return template.format(d=d, fg=colour_word(fg, rng), bg=colour_word(bg, rng))


def sample_template(rng: np.random.Generator) -> str:
    """One template from the grammar: a third of the time one of the original five."""
    if rng.random() < 1 / 3:
        return TRAIN_TEMPLATES[rng.integers(len(TRAIN_TEMPLATES))]
    subject = SUBJECTS[rng.integers(len(SUBJECTS))].replace("{adj}", ADJECTIVES[rng.integers(len(ADJECTIVES))])
    if rng.random() < SHORT_RATE:
        body = subject + _short_join(rng) + "{bg}"
    else:
        body = (AFTER + BEFORE)[rng.integers(len(AFTER) + len(BEFORE))].format(s=subject, bg="{bg}")
    return OPENERS[rng.integers(len(OPENERS))] + body + CLOSERS[rng.integers(len(CLOSERS))]


def _short_join(rng: np.random.Generator) -> str:
    """A short form's join: one of SHORT_JOINS, or one or two stray words."""
    if rng.random() >= STRAY_JOIN_RATE:
        return SHORT_JOINS[rng.integers(len(SHORT_JOINS))]
    pool = stray_words()
    return " " + " ".join(pool[rng.integers(len(pool))] for _ in range(int(rng.integers(1, 3)))) + " "


Constraint = tuple[int | None, str | None, str | None]


def fragment_caption(digit: int, fg: str, bg: str, rng: np.random.Generator) -> tuple[str, Constraint]:
    """A fragment for one combination, and what it names: (digit, fg, bg) with None where silent."""
    template = FRAGMENTS[rng.integers(len(FRAGMENTS))]
    named = (digit if "{d}" in template else None, fg if "{fg}" in template else None,
             bg if "{bg}" in template else None)
    return fill(template, digit, fg, bg, rng), named


def free_caption(digit: int, fg: str, bg: str, rng: np.random.Generator) -> str:
    """A training caption in free wording for one (digit, foreground, background)."""
    return fill(sample_template(rng), digit, fg, bg, rng)


def _known_words() -> set[str]:
    """Every word the grammar, the held-out phrasings, the colours and the digits use."""
    texts = list(grammar_templates()) + list(FREE_DEV + FREE_HELDOUT + SHORT_HELDOUT + FRAGMENTS)
    texts += list(DIGIT_WORDS) + list(PALETTE)
    texts += [w for names in SYNONYMS.values() for w in names]
    return {w for t in texts for w in re.findall(r"[a-z]+", t.replace("{", " ").replace("}", " "))}


@lru_cache(maxsize=1)
def stray_words() -> tuple[str, ...]:
    """Common English words from CLIP's vocabulary that say nothing about digit or colour.

    Dropped into training captions now and then, they teach the text tower to read past words
    it was never told about, as a person's captions are full of them.
    """
    from open_clip.tokenizer import SimpleTokenizer

    vocab = SimpleTokenizer().encoder
    known = _known_words()
    # The first merges in the vocabulary are the most frequent words of CLIP's training text.
    words = [t[:-4] for t in list(vocab)[512:20000] if t.endswith("</w>") and t[:-4].isalpha()]
    return tuple(w for w in words if 3 <= len(w) <= 9 and w not in known and w not in COLOUR_LIKE)


# Colour words outside the palette: a stray "orange" would make a caption name a third colour.
COLOUR_LIKE = frozenset({"orange", "brown", "grey", "gray", "violet", "navy", "teal", "beige", "silver",
                         "maroon", "olive", "indigo", "colour", "color", "colours", "colors", "number",
                         "numbers", "digit", "digits", "zero", "one", "two", "three", "four", "five", "six",
                         "seven", "eight", "nine", "ten", "blonde", "rainbow", "dark", "light", "bright"})


def add_strays(text: str, rng: np.random.Generator, rate: float = 0.25) -> str:
    """With probability `rate`, one or two stray words put between the caption's words."""
    if rng.random() >= rate:
        return text
    words, pool = text.split(), stray_words()
    for _ in range(int(rng.integers(1, 3))):
        words.insert(int(rng.integers(0, len(words) + 1)), pool[rng.integers(len(pool))])
    return " ".join(words)
