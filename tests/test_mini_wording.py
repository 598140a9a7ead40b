"""The embedded set's free wording and loose drawings: held out for real, and fair to the judge."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from experiments.common import pictures_drawn_apart
from training.mini import augment, data, wording
from training.mini.clip_train import matches, shared_infonce, training_batch
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


def test_fragments_name_only_what_they_say_they_name():
    rng = np.random.default_rng(4)
    seen = set()
    for combo in data.train_combos()[:300]:
        text, named = wording.fragment_caption(*combo, rng)
        seen.add(tuple(n is not None for n in named))
        assert all(n is None or n == c for n, c in zip(named, combo)), (text, named)
        words = set(re.findall(r"[a-z0-9]+", text))
        said_colours = {w for w in words if w in data.PALETTE}
        assert said_colours <= {c for c in named[1:] if c}, text  # never a colour it does not name
        assert (named[0] is not None) == bool(words & (set(data.DIGIT_WORDS) | set("0123456789"))), text
    # Each part alone, and each pair, is some fragment's whole meaning.
    assert {(False, False, True), (False, True, False), (True, False, False),
            (True, True, False), (True, False, True), (False, True, True)} <= seen


def test_a_caption_true_of_several_pictures_shares_its_target():
    logits = torch.randn(6, 6, generator=torch.Generator().manual_seed(0))
    diagonal = torch.eye(6, dtype=torch.bool)
    target = torch.arange(6)
    clip_loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    assert torch.allclose(shared_infonce(logits, diagonal), clip_loss)
    # Caption 0 is a fragment true of pictures 0 and 1: scoring both high becomes the better answer.
    shared = diagonal.clone()
    shared[1, 0] = True
    one_high, both_high = torch.eye(6) * 8, torch.eye(6) * 8
    both_high[1, 0] = 8
    assert shared_infonce(both_high, shared) < shared_infonce(one_high, shared)
    assert shared_infonce(both_high, diagonal) > shared_infonce(one_high, diagonal)
    # Pictures choose among whole captions only; picture 0, whose caption is the fragment, has none.
    whole = torch.tensor([False] + [True] * 5)
    to_picture = F.cross_entropy(logits.T, shared.T.float() / shared.T.float().sum(1, keepdim=True))
    to_caption = F.cross_entropy(logits[1:, 1:], torch.arange(5))
    assert torch.allclose(shared_infonce(logits, shared, whole), (to_caption + to_picture) / 2)


def test_a_batch_knows_which_pictures_each_caption_is_true_of():
    from open_clip import get_tokenizer

    _, tokens, positives, whole = training_batch(48, np.random.default_rng(5), get_tokenizer("RN50"))
    assert tokens.shape == (48, 77) and positives.shape == (48, 48) and positives.diagonal().all()
    assert 0 < int((~whole).sum()) < 24 and (positives[:, ~whole].sum(0) > 1).any()
    combos = [(3, "red", "blue"), (3, "blue", "red"), (4, "red", "green")]
    named = [(3, "red", "blue"), (None, None, "red"), (None, "red", None), (3, None, None)]
    assert matches(combos, named).tolist() == [[True, False, True, True], [False, True, False, True],
                                               [False, False, True, False]]


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
