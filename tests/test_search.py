"""The search engine on tiny real models: it improves, it reproduces, it stops, it returns a front."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import trace
from glass_core.pipeline import Pipeline
from glass_core.objective import compromise, shown_member
from glass_core.records import FrontPoint

CAPTION = "a red dog in the woods"


def test_search_improves_similarity(biggan):
    records = list(biggan.search(CAPTION, generations=12, seed=1))
    first, last = records[0], records[-1]
    assert last.best_similarity > first.best_similarity + 1e-3
    # GA survival is elitist: the best of the population never gets worse.
    assert all(b >= a - 1e-7 for a, b in zip(trace(records), trace(records)[1:]))
    # and the population as a whole moves toward the caption
    assert last.mean_similarity > first.mean_similarity
    assert last.output.size == (32, 32) and last.evaluations == 16 * 12


def test_record_output_is_the_scored_best(biggan):
    rec = list(biggan.search(CAPTION, generations=2, seed=0))[-1]
    target, _ = biggan.encode_target(CAPTION)
    with torch.inference_mode():
        sim = (biggan.scorer.encode_images(biggan.generator.generate(rec.genome[None])) @ target.T).item()
    assert sim == pytest.approx(rec.similarity, abs=1e-5)
    assert rec.similarity == pytest.approx(rec.best_similarity)
    assert rec.genome[128:].sum() >= 0 and set(np.unique(rec.genome[128:])) <= {0.0, 1.0}


def test_same_seed_same_run_other_seed_other_run(biggan):
    a = trace(biggan.search(CAPTION, generations=4, seed=7))
    b = trace(biggan.search(CAPTION, generations=4, seed=7))
    c = trace(biggan.search(CAPTION, generations=4, seed=8))
    assert a == b
    assert a != c


class CountingGenerator:
    """Wraps a generator to count calls, and adds a fixed random 'discriminator'."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.latent, self.modality, self.has_discriminator = inner.latent, inner.modality, True
        torch.manual_seed(0)
        self.d = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(1))

    def generate(self, genomes):
        self.calls += 1
        return self.inner.generate(genomes)

    def show(self, genomes):
        return self.inner.show(genomes)

    def discriminate(self, images):
        return self.d(images).squeeze(1) * 10


def test_closing_the_iterator_stops_within_one_generation(biggan):
    counting = CountingGenerator(biggan.generator)
    pipe = Pipeline(biggan.preset.replace(batch_size=16), counting, biggan.scorer)
    records = pipe.search(CAPTION, generations=50)
    next(records), next(records)
    calls = counting.calls
    records.close()
    assert counting.calls == calls
    with pytest.raises(StopIteration):
        next(records)


def test_nsga2_returns_a_proper_front(biggan):
    pipe = Pipeline(biggan.preset.replace(use_discriminator=True), CountingGenerator(biggan.generator), biggan.scorer)
    rec = list(pipe.search(CAPTION, generations=5, seed=3))[-1]
    assert rec.front and all(isinstance(p, FrontPoint) for p in rec.front)
    points = np.array([(p.similarity, p.realism) for p in rec.front])
    for i, p in enumerate(points):  # no member dominates another (maximising both)
        others = np.delete(points, i, axis=0)
        dominated = np.all(others >= p, axis=1) & np.any(others > p, axis=1)
        assert not dominated.any()
    assert (rec.similarity, rec.realism) in {(p.similarity, p.realism) for p in rec.front}
    assert rec.realisms is not None and len(rec.realisms) == len(rec.population)


def test_compromise_picks_the_balanced_point():
    F = np.array([[-0.9, 5.0], [-0.5, 0.5], [-0.1, 0.0]])
    assert compromise(F) == 1


def test_discriminator_preset_refuses_generator_without_one(biggan):
    with pytest.raises(ValueError, match="discriminator"):
        next(biggan.search(CAPTION, use_discriminator=True))


def test_show_within_picks_the_most_realistic_member_near_the_top_similarity():
    # (-similarity, 1 - realism): similarities 0.95, 0.94, 0.70, 0.50 along the front.
    F = np.array([[-0.95, 0.9], [-0.94, 0.6], [-0.70, 0.2], [-0.50, 0.0]])
    assert shown_member(F, None) == compromise(F) == 2
    assert shown_member(F, 0.05) == 1  # 0.94 is within 5 % of the 0.45 range; 0.70 is not
    assert shown_member(F, 0.0) == 0
    assert shown_member(F, 1.0) == 3


def test_fluent_presets_show_a_caption_near_the_most_similar():
    from glass_core.errors import BadInputError
    from glass_core.presets import PRESETS

    assert PRESETS["GPT2_fluent"].show_within == PRESETS["mini_gpt2_fluent"].show_within == 0.05
    assert PRESETS["StyleGAN2_ffhq_d"].show_within is None and PRESETS["mini_gan_d"].show_within is None
    with pytest.raises(BadInputError, match="show_within"):
        PRESETS["GPT2_fluent"].replace(show_within=1.5)
