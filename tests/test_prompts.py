"""Weighted and negative prompts, and searches that continue from an earlier population."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from glass_core.errors import BadInputError
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt, combine, parse_prompts
from glass_core.weights import REPO_WEIGHTS

# What a person types that is text, not a weight: times, verses, ratios, escaped colons.
LITERAL = ["a clock showing 10:30", "John 3:16", "ratio 16:9", "10:30", "12:00:00", "time: 12:30",
           "aspect 1.85:1", "Note: cat", "at 10:30am",
           "a clock showing 10:30.", "John 3:16.", "10: 30"]  # a full stop after it, a space after the colon
# Captions with a weight, and what they become.
WEIGHTED = {
    "a dog:2": [WeightedPrompt("a dog", 2.0)],
    "a cat: 0.5": [WeightedPrompt("a cat", 0.5)],
    "a church | cat :-1": [WeightedPrompt("a church", 1.0), WeightedPrompt("cat", -1.0)],
    "a church | gothic:0.5 | people:-1": [WeightedPrompt("a church", 1.0), WeightedPrompt("gothic", 0.5),
                                          WeightedPrompt("people", -1.0)],
    "room 101 :2": [WeightedPrompt("room 101", 2.0)],  # a space before the colon: a weight after a number
    "a red digit | a 7:-0.5": [WeightedPrompt("a red digit", 1.0), WeightedPrompt("a 7", -0.5)],  # signed: a weight
    "at 3:15 | sunset:0.5": [WeightedPrompt("at 3:15", 1.0), WeightedPrompt("sunset", 0.5)],
    "score\\: 10": [WeightedPrompt("score: 10", 1.0)],  # \: is a literal colon
    "a\\|b": [WeightedPrompt("a|b", 1.0)],  # \| is a literal bar
    "a dog:100 | a:-0": [WeightedPrompt("a dog", 100.0), WeightedPrompt("a", 0.0)],
}
# Refused, each with the words its one message must contain.
REFUSED = {
    "a:1e400": ["'a:1e400'", "-100 to 100"],
    "a:" + "9" * 400: ["'a:9999", "-100 to 100"],
    "a:nan": ["'a:nan'", "-100 to 100"],
    "a:inf": ["'a:inf'", "-100 to 100"],
    "a church | gothic:-inf": ["'gothic:-inf'", "-100 to 100"],
    "a church | gothic:100.5": ["'gothic:100.5'", "-100 to 100"],
    "a:-0": ["positive weight"],
    "cat :-1": ["positive weight"],
    "a dog:1 | a dog:-1": ["cancel"],
}


def test_parse_weights_and_negatives():
    assert parse_prompts("a church | gothic:0.5 | people:-1") == [
        WeightedPrompt("a church", 1.0), WeightedPrompt("gothic", 0.5), WeightedPrompt("people", -1.0)]
    assert parse_prompts("  a   dog ") == [WeightedPrompt("a dog", 1.0)]


@pytest.mark.parametrize("spec", LITERAL)
def test_times_references_and_ratios_stay_text(spec):
    assert parse_prompts(spec) == [WeightedPrompt(spec, 1.0)]


@pytest.mark.parametrize("spec, prompts", WEIGHTED.items())
def test_a_trailing_weight_after_a_word(spec, prompts):
    assert parse_prompts(spec) == prompts


@pytest.mark.parametrize("spec, words", [(s, w) for s, w in REFUSED.items() if "cancel" not in w])
def test_bad_weights_are_refused_in_one_message(spec, words):
    with pytest.raises(BadInputError) as info:
        parse_prompts(spec)
    message = str(info.value)
    assert all(w in message for w in words) and "\n" not in message and len(message) < 200


def test_weighted_prompts_built_by_hand_are_checked_too():
    assert WeightedPrompt("a", -0.0).weight == 0.0 and math.copysign(1, WeightedPrompt("a", -0.0).weight) == 1
    for bad in (float("inf"), float("nan"), 101.0, -1e9):
        with pytest.raises(BadInputError, match="-100 to 100"):
            WeightedPrompt("a", bad)
    e = F.normalize(torch.ones(2, 4), dim=-1)
    with pytest.raises(BadInputError, match="finite"):
        combine(e, [1.0, float("nan")])


@pytest.mark.parametrize("spec,message", [
    ("", "empty"), ("a dog | ", "no text"), ("people:-1", "positive weight"), ("a:0 | b:0", "positive weight"),
])
def test_bad_prompt_specs_are_explained(spec, message):
    with pytest.raises(BadInputError, match=message):
        parse_prompts(spec)


def test_negative_weight_pushes_away_from_its_prompt():
    torch.manual_seed(0)
    e = F.normalize(torch.randn(2, 16), dim=-1)
    target = combine(e, [1.0, -1.0])
    near_negative = F.normalize(e[1] + 0.1 * e[0], dim=-1)
    near_positive = F.normalize(e[0] + 0.1 * e[1], dim=-1)
    assert float(target @ near_positive) > 0 > float(target @ near_negative)
    assert torch.allclose(combine(e[:1], [2.0]), e[:1])


def test_cancelling_prompts_are_refused():
    e = F.normalize(torch.ones(1, 4), dim=-1)
    with pytest.raises(BadInputError, match="cancel"):
        combine(torch.cat([e, e]), [1.0, -1.0])
    with pytest.raises(BadInputError, match="cancel"):  # cancelling up to rounding
        combine(torch.cat([e, e * (1 + 1e-6)]), [3.0, -3.0])
    with pytest.raises(BadInputError, match="cancel"):
        combine(torch.cat([e, e]), [0.0, 0.0])
    assert torch.allclose(combine(torch.cat([e, e]), [1.0, -0.5]), e)  # a part that only weakens another is fine


@pytest.fixture(scope="module")
def mini_pipe():
    return Pipeline.from_preset("mini_gan", weights_root=REPO_WEIGHTS)


@pytest.mark.parametrize("spec", LITERAL + ["a dog:2"])
def test_the_mini_search_aims_at_the_literal_caption(mini_pipe, spec):
    text = parse_prompts(spec)[0].text
    assert (text == spec) == (spec in LITERAL)
    target, _ = mini_pipe.encode_target(spec)
    assert torch.allclose(target, mini_pipe.scorer.encode_texts([text]), atol=1e-5)
    record = next(mini_pipe.search(spec, generations=1, pop_size=4, seed=0))
    assert math.isfinite(record.best_similarity) and record.best_similarity > -0.5


@pytest.mark.parametrize("spec, words", REFUSED.items())
def test_the_mini_search_refuses_bad_weights_before_searching(mini_pipe, spec, words):
    with pytest.raises(BadInputError) as info:
        mini_pipe.search(spec, generations=1, pop_size=4, seed=0)
    assert all(w in str(info.value) for w in words)


def test_pipeline_target_combines_the_parts(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    target, _ = pipe.encode_target("a dog | a cat:-0.5")
    parts = pipe.scorer.encode_texts(["a dog", "a cat"])
    assert torch.allclose(target, combine(parts, [1.0, -0.5]), atol=1e-6)


def test_search_continues_from_an_earlier_population(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    first = list(pipe.search("a dog", generations=4, seed=0))[-1]
    again = next(pipe.search("a dog", initial=first.population, generations=1, seed=1))
    assert again.best_similarity >= first.best_similarity - 1e-6  # nothing learnt is lost
    with pytest.raises(ValueError, match="genes"):
        next(pipe.search("a dog", initial=np.zeros((4, 3))))
