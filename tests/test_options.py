"""Speed options are chosen when a component is built; shared components never change under a caller."""

from __future__ import annotations

import numpy as np
import pytest

from glass_core.options import apply_options
from glass_core.pipeline import Pipeline
from glass_core.weights import REPO_WEIGHTS


def test_with_options_builds_a_new_component_over_the_same_weights(biggan):
    shared = biggan.generator
    paper = shared.with_options(channels_last=False)
    assert paper is not shared and paper.model is shared.model
    assert shared.speed_options == {"channels_last": True, "compile": False, "static": False}
    assert paper.speed_options == {"channels_last": False, "compile": False, "static": False}
    genomes = np.zeros((2, shared.latent.n_var))
    genomes[:, shared.latent.n_real] = 1  # one class on
    # Either layout gives the same pictures, whichever generator ran last.
    np.testing.assert_allclose(paper.generate(genomes).numpy(), shared.generate(genomes).numpy(), atol=1e-5)
    with pytest.raises(AttributeError):
        shared.compile = True  # read-only: a speed option is never flipped on a shared component


def test_unknown_options_are_refused_and_apply_options_passes_only_a_components_own(biggan):
    with pytest.raises(ValueError, match="has no option kv_cache; its options: fast_text, compile, static"):
        biggan.scorer.with_options(kv_cache=False)
    scorer = apply_options(biggan.scorer, kv_cache=False, fast_text=False)
    assert scorer.speed_options == {"fast_text": False, "compile": False, "static": False} and biggan.scorer.fast_text
    mini = Pipeline.from_preset("mini_gan", weights_root=REPO_WEIGHTS).generator
    assert apply_options(mini, channels_last=False) is mini  # a component with no options is itself


def test_an_evaluation_budget_stops_the_search_at_the_first_generation_that_reaches_it():
    pipe = Pipeline.from_preset("mini_gan", weights_root=REPO_WEIGHTS)
    records = list(pipe.search("a red seven on a blue background", pop_size=16, generations=50, evaluations=70))
    assert [r.evaluations for r in records] == [16, 32, 48, 64, 80]  # 80 is the first count >= 70
    shorter = list(pipe.search("a red seven on a blue background", pop_size=16, generations=3, evaluations=70))
    assert len(shorter) == 3  # whichever limit comes first
