"""The paper's other choices, each available as a field: 50-character captions and its pick of the front."""

from __future__ import annotations

import numpy as np
import pytest

from glass_core.errors import BadInputError
from glass_core.generators import get_kind
from glass_core.objective import compromise, paper_pick, shown_member
from glass_core.pipeline import Pipeline
from glass_core.presets import PRESETS
from glass_core.weights import REPO_WEIGHTS


def test_captions_are_cut_to_max_chars_before_they_are_scored_and_shown():
    full = get_kind("mini_gpt2").load("cpu", REPO_WEIGHTS)
    cut = get_kind("mini_gpt2").load("cpu", REPO_WEIGHTS, max_chars=20)
    genomes = np.random.default_rng(0).integers(0, full.latent.int_bounds[1] + 1, (16, full.latent.n_var))
    long, short = full.generate(genomes), cut.generate(genomes)
    assert any(len(c) > 20 for c in long)  # the cut has something to do
    assert short == [c[:20] for c in long]  # "the picture of" counts, as in the paper's models.py
    assert cut.show(genomes) == short  # what CLIP scores is what the person sees


def test_the_gpt2_preset_cuts_at_fifty_characters_as_the_paper_did():
    assert PRESETS["GPT2"].generator_args["max_chars"] == 50
    assert PRESETS["GPT2"].batch_size == PRESETS["GPT2"].pop_size == 100  # its sampler decoded all at once


FRONT = np.array([[-0.35, 0.8], [-0.30, 0.3], [-0.25, 0.0], [-0.33, 0.5]])  # (-similarity, hinge(1 - D))


def test_the_papers_pick_is_the_most_realistic_end_of_the_front():
    # pymoo 0.4.2's pseudo-weights [0, 1] on this front pick index 2 (checked against 0.4.2's own code).
    assert paper_pick(FRONT) == 2 and shown_member(FRONT, None, "paper") == 2
    assert shown_member(FRONT, None) == compromise(FRONT) == 1
    assert paper_pick(FRONT[:1]) == 0  # one point: the paper's fallback, the lowest second objective


def test_front_pick_is_a_preset_field_that_changes_the_shown_member():
    pipe = Pipeline.from_preset("mini_gan_d", weights_root=REPO_WEIGHTS)
    args = dict(generations=6, pop_size=16, seed=1)
    ours = list(pipe.search("a red seven on a blue background", **args))[-1]
    papers = list(pipe.search("a red seven on a blue background", front_pick="paper", **args))[-1]
    np.testing.assert_array_equal(ours.population, papers.population)  # the same search ...
    assert papers.realism == max(p.realism for p in papers.front)  # ... shown at the realism end
    assert papers.similarity <= ours.similarity
    with pytest.raises(BadInputError, match="front_pick must be compromise or paper"):
        pipe.search("a dog", front_pick="best")
