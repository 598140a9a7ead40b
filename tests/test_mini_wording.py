"""The embedded set's free wording and loose drawings: held out for real, and fair to the judge."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from experiments.common import pictures_drawn_apart
from training.mini import augment, data, wording
from training.mini.judge import Judge, nearest_colour, parse_caption


def test_no_held_out_phrasing_is_one_the_grammar_can_write():
    written = set(wording.grammar_templates())
    assert len(written) > 10_000
    clashes = [t for t in wording.FREE_DEV + wording.FREE_HELDOUT + wording.SHORT_HELDOUT
               if " ".join(t.split()) in written]
    assert not clashes


def test_held_out_phrasings_name_digit_and_both_colours_once():
    assert not set(wording.FREE_DEV) & set(wording.FREE_HELDOUT)
    for template in wording.FREE_DEV + wording.FREE_HELDOUT + wording.SHORT_HELDOUT:
        assert sorted(re.findall(r"\{(\w+)\}", template)) == ["bg", "d", "fg"], template


def test_stray_words_never_name_a_digit_a_colour_or_a_held_out_word():
    strays = set(wording.stray_words())
    held = {w for t in wording.FREE_DEV + wording.FREE_HELDOUT for w in re.findall(r"[a-z]+", t)}
    colours = set(data.PALETTE) | {w for names in wording.SYNONYMS.values() for w in names}
    assert len(strays) > 1000
    assert not strays & (held | colours | set(data.DIGIT_WORDS) | {"background", "digit", "number", "orange"})


def test_training_captions_keep_what_they_name():
    rng = np.random.default_rng(0)
    for combo in data.train_combos()[:200]:
        text = wording.add_strays(wording.free_caption(*combo, rng), rng, rate=1.0)
        # Synonyms aside, the palette names in a caption are the combination's, foreground first
        # unless the background is named first.
        named = [w for w in re.findall(r"[a-z]+", text) if w in data.PALETTE]
        assert set(named) <= {combo[1], combo[2]}, text
        assert parse_caption(text).digit == combo[0], text


def test_short_forms_leave_only_word_order_to_tell_the_colours_apart():
    for template in wording.SHORT_HELDOUT:
        assert "background" not in template and template.index("{fg}") < template.index("{bg}"), template


def test_shades_keep_every_colour_nearest_its_name():
    rng = np.random.default_rng(1)
    names = data.COLOURS * 50
    shaded = augment.shade(data.colour_tensor(names), rng, amount=0.3)
    assert [nearest_colour(c.numpy()) for c in shaded] == names
    assert (shaded - data.colour_tensor(names)).abs().max() > 0.25  # and they do move


def test_loose_pictures_are_pictures_of_their_digit():
    rng = np.random.default_rng(2)
    combos = [data.train_combos()[i] for i in rng.integers(0, 510, 120)]
    batch = data.render_combos(combos, rng, loose=1.0)
    images = batch["images"]
    assert images.shape == (120, 3, data.SIZE, data.SIZE) and 0 <= images.min() and images.max() <= 1
    verdicts = Judge().judge_images(images)
    assert np.mean([v.bg == c[2] for v, c in zip(verdicts, combos)]) >= 0.95
    assert np.mean([v.digit == c[0] for v, c in zip(verdicts, combos)]) >= 0.6  # harder, still legible


def test_a_share_of_loose_pictures_leaves_the_rest_as_the_renderer_draws_them():
    combos = list(data.train_combos()[:64])
    plain = data.render_combos(combos, np.random.default_rng(3))["images"]
    mixed = data.render_combos(combos, np.random.default_rng(3), loose=0.5)["images"]
    same = (plain - mixed).flatten(1).abs().amax(1) < 1e-6
    assert 10 < int(same.sum()) < 54


@pytest.fixture(scope="module")
def apart() -> list:
    return pictures_drawn_apart(40, 7)


def test_pictures_drawn_apart_are_large_jpeg_like_and_varied(apart):
    sizes = {picture.size for picture, _ in apart}
    assert len(sizes) >= 3 and all(w == h and w >= 48 for w, h in sizes)
    assert all(c in data.heldout_combos() for _, c in apart)


def test_pictures_drawn_apart_are_fair_targets(apart):
    """The independent judge reads them, so a caption that misses them misses for the model's sake."""
    verdicts = Judge().judge_images([picture for picture, _ in apart])
    assert np.mean([(v.fg, v.bg) == c[1:] for v, (_, c) in zip(verdicts, apart)]) >= 0.95
    assert np.mean([v.digit == c[0] for v, (_, c) in zip(verdicts, apart)]) >= 0.75


def test_drawn_apart_targets_are_seeded():
    first, again = pictures_drawn_apart(3, 11), pictures_drawn_apart(3, 11)
    assert [np.asarray(p).tobytes() for p, _ in first] == [np.asarray(p).tobytes() for p, _ in again]
    assert torch.equal(torch.tensor(np.asarray(first[0][0])), torch.tensor(np.asarray(again[0][0])))
