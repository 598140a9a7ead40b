"""The captioning presets' default search (the paper's GA, judged at the preset's budget) and polish on tokens."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.common import heldout_pictures
from glass_core import polish
from glass_core.pipeline import Pipeline
from glass_core.presets import (DEFAULT_SEARCH, GENTLE_OPERATORS, GLASS_OPERATORS, PAPER_OPERATORS, PRESETS,
                                get_preset)
from glass_core.weights import REPO_WEIGHTS

CAPTIONING = ("GPT2", "GPT2_fluent", "mini_gpt2", "mini_gpt2_fluent")


def test_every_captioning_preset_searches_with_the_papers_ga():
    """caption_budget.md: polish 29/32 right at the mini preset's budget, the two GAs 31-32; the planted GPT-2 picks the paper's."""
    assert DEFAULT_SEARCH["gpt2"] == {"optimizer": "ga", "operators": PAPER_OPERATORS}
    for name in CAPTIONING:
        assert (PRESETS[name].optimizer, PRESETS[name].operators) == ("ga", PAPER_OPERATORS), name
        polished = get_preset(name, optimizer="polish", operators="gentle")
        assert (polished.optimizer, polished.operators) == ("polish", GENTLE_OPERATORS)
    # The embedded GAN keeps its measured search (the digits benchmark).
    for name in ("mini_gan", "mini_gan_d"):
        assert (PRESETS[name].optimizer, PRESETS[name].operators) == ("ga", GLASS_OPERATORS), name


@pytest.fixture(scope="module")
def picture():
    return heldout_pictures(1, 7)[0][0]


def _search(name: str, picture, seed: int):
    pipe = Pipeline.from_preset(name, device="cpu", weights_root=REPO_WEIGHTS)
    return list(pipe.search(picture, generations=4, pop_size=16, seed=seed, optimizer="polish", operators="gentle"))


@pytest.mark.parametrize("name", ["mini_gpt2", "mini_gpt2_fluent"])
def test_polish_redraws_one_token_of_the_best_context_each_generation_alone_and_under_nsga2(
        name, picture, monkeypatch):
    moves: list[tuple[np.ndarray, np.ndarray]] = []

    def spy(genome, latent, n, rng):
        out = neighbours(genome, latent, n, rng)
        moves.append((genome, out))
        return out

    neighbours = polish.int_neighbours
    monkeypatch.setattr(polish, "int_neighbours", spy)
    records = _search(name, picture, 3)
    # No gradients through a captioner: the moves replace offspring, so a generation costs its population.
    assert [r.evaluations for r in records] == [16, 32, 48, 64]
    assert len(moves) == 3  # every generation after the first
    for (best, out), rec in zip(moves, records):
        assert out.shape == (4, best.size) and ((out != best).sum(axis=1) == 1).all()
        # The moves start from the context of the best caption so far (NSGA-II's survivors too).
        assert np.isclose(rec.best_similarity, rec.similarities[np.flatnonzero(
            (rec.population == best).all(axis=1))].max())
    assert (records[-1].front is not None) == (name == "mini_gpt2_fluent")
    assert all(r.output.startswith("the picture of") for r in records)
    again = _search(name, picture, 3)
    assert [r.best_similarity for r in again] == [r.best_similarity for r in records]  # one seed, one run
