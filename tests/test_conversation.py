"""Dialogue turns become weighted prompts; a denied thing is pushed away, never named positively."""

from __future__ import annotations

import pytest

from glass_core.conversation import Turn, dialogue_prompts, subject, turn_prompt
from glass_core.errors import BadInputError
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt


def test_yes_no_and_open_answers():
    assert turn_prompt(Turn("Is there a dog?", "yes"), 0.5) == WeightedPrompt("a dog", 0.5)
    assert turn_prompt(Turn("are there people in it?", "No."), 0.5) == WeightedPrompt("people in it", -0.5)
    assert turn_prompt(Turn("what colour is the car?", "red"), 0.5) == WeightedPrompt("a red car", 0.5)
    assert turn_prompt(Turn("and the background?", "dark blue"), 0.5) == WeightedPrompt("a dark blue background", 0.5)
    assert turn_prompt(Turn("what is he holding?", "a cup"), 1.0) == WeightedPrompt("what is he holding a cup", 1.0)
    assert subject("Does it have a tower?") == "a tower"


def test_dialogue_keeps_the_caption_first_and_weighs_turns_less():
    prompts = dialogue_prompts("a church", [Turn("is it gothic?", "yes"), Turn("any people?", "no")])
    assert prompts[0] == WeightedPrompt("a church", 1.0)
    assert [p.weight for p in prompts[1:]] == [0.5, -0.5]


@pytest.mark.parametrize("caption,turn,message", [
    ("", Turn("is it red?", "yes"), "caption"), ("a car", Turn("what colour?", "  "), "answer is empty"),
    ("a car", Turn("", "no"), "needs the question"),
])
def test_bad_turns_are_explained(caption, turn, message):
    with pytest.raises(BadInputError, match=message):
        dialogue_prompts(caption, [turn])


def test_a_denied_thing_lowers_the_score_of_pictures_that_show_it(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    target, _ = pipe.encode_target(dialogue_prompts("a dog", [Turn("is there a cat?", "no")]))
    cat = pipe.scorer.encode_texts(["a cat"])
    plain, _ = pipe.encode_target("a dog")
    assert float(target @ cat.T) < float(plain @ cat.T)
