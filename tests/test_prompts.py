"""Weighted and negative prompts, and searches that continue from an earlier population."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from glass_core.errors import BadInputError
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt, combine, parse_prompts


def test_parse_weights_and_negatives():
    assert parse_prompts("a church | gothic:0.5 | people:-1") == [
        WeightedPrompt("a church", 1.0), WeightedPrompt("gothic", 0.5), WeightedPrompt("people", -1.0)]
    assert parse_prompts("  a   dog ") == [WeightedPrompt("a dog", 1.0)]
    assert parse_prompts("time: 12:30") == [WeightedPrompt("time: 12", 30.0)]  # a trailing number is a weight


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
