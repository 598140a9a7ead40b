"""Dialogue turns become weighted prompts; a denied thing is pushed away, never named positively."""

from __future__ import annotations

import pytest

import numpy as np
import torch

from glass_core.conversation import TURN_WEIGHT, Turn, dialogue_prompts, reseed_for_turn, subject, turn_genes, turn_prompt
from glass_core.generators.base import LatentSpace
from glass_core.errors import BadInputError
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt
from glass_core.weights import REPO_WEIGHTS
from training.mini import data


def test_yes_no_and_open_answers():
    assert turn_prompt(Turn("Is there a dog?", "yes"), 0.5) == WeightedPrompt("a dog", 0.5)
    assert turn_prompt(Turn("are there people in it?", "No."), 0.5) == WeightedPrompt("people in it", -0.5)
    assert turn_prompt(Turn("what colour is the car?", "red"), 0.5) == WeightedPrompt("a red car", 0.5)
    # What a subject stands on reads as "on a … background", the phrasing the mini CLIP reads best.
    assert turn_prompt(Turn("and the background?", "dark blue"), 0.5) == WeightedPrompt("on a dark blue background", 0.5)
    assert turn_prompt(Turn("what is he holding?", "a cup"), 1.0) == WeightedPrompt("what is he holding a cup", 1.0)
    assert subject("Does it have a tower?") == "a tower"


def test_dialogue_keeps_the_caption_first_and_weighs_turns_like_it():
    prompts = dialogue_prompts("a church", [Turn("is it gothic?", "yes"), Turn("any people?", "no")])
    assert prompts[0] == WeightedPrompt("a church", 1.0)
    assert [p.weight for p in prompts[1:]] == [TURN_WEIGHT, -TURN_WEIGHT] == [0.5, -0.5]
    assert [p.weight for p in dialogue_prompts("a church", [Turn("is it gothic?", "yes")], 0.5)[1:]] == [0.5]


def test_described_turns_join_into_one_scene_and_a_later_answer_replaces_an_earlier():
    turns = [Turn("what colour is the car?", "red"), Turn("is there a dog?", "no"), Turn("and the background?", "blue"),
             Turn("and the roof?", "white"), Turn("What colour is the Car?", "green")]
    assert dialogue_prompts("a car", turns) == [
        WeightedPrompt("a car", 1.0), WeightedPrompt("a green car with a white roof on a blue background", 1.5),
        WeightedPrompt("a dog", -0.5)]
    assert dialogue_prompts("a car", turns[2:3]) == [WeightedPrompt("a car"), WeightedPrompt("on a blue background", 0.5)]


def test_the_mini_clip_reads_both_colours_from_turns_joined_or_apart():
    """Joined, the turns name both colours in one text, which is where CLIP binds a colour to its noun.

    Apart, the mini CLIP of 2026-11-30 swapped them (0.89 right); trained on fragments such as "a
    red digit" and "on a blue background", the shipped one reads each turn alone as well.
    """
    pipe = Pipeline.from_preset("mini_gan_d", weights_root=REPO_WEIGHTS)
    pics = data.sample_pictures(100, np.random.default_rng(0), split="test")
    pairs = [(f, b) for f in data.COLOURS for b in data.COLOURS if f != b]
    truth = list(zip(pics["fg"], pics["bg"]))

    def accuracy(prompts_of) -> float:
        targets = torch.cat([pipe.encode_target(prompts_of(f, b))[0].reshape(1, -1) for f, b in pairs])
        with torch.inference_mode():
            guess = (pipe.scorer.encode_images(pics["images"]) @ targets.T).argmax(1)
        return float(np.mean([pairs[g] == t for g, t in zip(guess.tolist(), truth)]))

    def turns(f: str, b: str) -> list[Turn]:
        return [Turn("what colour is the digit?", f), Turn("and the background?", b)]

    joined = accuracy(lambda f, b: dialogue_prompts("the number", turns(f, b)))
    apart = accuracy(lambda f, b: [WeightedPrompt("the number"), *(turn_prompt(t, 0.5) for t in turns(f, b))])
    assert joined >= 0.95 and apart >= 0.95


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


MIXED = LatentSpace(n_real=6, n_bits=4, bit_init_prob=0.5)


def test_a_colour_turn_concerns_the_reals_and_a_yes_no_turn_the_classes():
    assert turn_genes(Turn("what colour is the digit?", "red"), MIXED) == MIXED.reals
    assert turn_genes(Turn("is there a dog?", "yes"), MIXED) == MIXED.bits
    # A latent without class genes: the yes/no turn falls back to the reals it has.
    assert turn_genes(Turn("is there a dog?", "no"), LatentSpace(n_real=5)) == slice(0, 5)


def test_reseeding_keeps_the_best_whole_and_redraws_only_the_turns_genes_of_the_rest():
    rng = np.random.default_rng(0)
    pop = MIXED.repair(np.concatenate([rng.uniform(-2, 2, (8, 6)), rng.random((8, 4))], axis=1))
    sims = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6])
    out = reseed_for_turn(pop, sims, MIXED, Turn("what colour is the digit?", "red"), seed=3)
    best, worst = [1, 3, 5, 7], [0, 2, 4, 6]
    assert np.array_equal(out[best], pop[best])
    assert np.array_equal(out[:, MIXED.bits], pop[:, MIXED.bits])  # the classes earlier turns fixed stay
    assert not np.isclose(out[worst, :6], pop[worst, :6]).any()  # every real of the worst half is new
    assert np.array_equal(out, reseed_for_turn(pop, sims, MIXED, Turn("what colour is the digit?", "red"), seed=3))
    denied = reseed_for_turn(pop, sims, MIXED, Turn("is there a dog?", "no"), seed=3)
    assert np.array_equal(denied[:, :6], pop[:, :6]) and np.array_equal(denied[best], pop[best])
