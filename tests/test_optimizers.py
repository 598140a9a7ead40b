"""The optimizers on tiny real models: each improves and reproduces; the hybrid's gradient really climbs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import random_image, trace

from glass_core.errors import BadInputError
from glass_core.gradient import GradientSettings, Refiner
from glass_core.operators import LatentSampling
from glass_core.pipeline import Pipeline
from glass_core.presets import get_preset
from glass_core.objective import Evaluator
from glass_core.weights import REPO_WEIGHTS

CAPTION = "a red dog in the woods"


@pytest.mark.parametrize("optimizer", ["ga", "random", "cmaes", "hybrid", "polish", "pivot"])
def test_each_optimizer_improves_and_reproduces(biggan, optimizer):
    run = dict(generations=4, pop_size=8, seed=3, optimizer=optimizer)
    first = list(biggan.search(CAPTION, **run))
    again = trace(biggan.search(CAPTION, **run))
    assert first[-1].best_similarity > first[0].best_similarity + 1e-4
    # Every optimizer keeps its best: the shown similarity never drops.
    assert all(b >= a - 1e-7 for a, b in zip(trace(first), trace(first)[1:]))
    assert trace(first) == again
    assert trace(biggan.search(CAPTION, **(run | {"seed": 4}))) != again


def test_hybrid_counts_its_gradient_passes(biggan):
    records = list(biggan.search(CAPTION, generations=3, pop_size=8, optimizer="hybrid"))
    elites, steps = 2, 2  # the registry's settings
    assert [r.evaluations for r in records] == [8, 8 + 8 + elites * steps, 8 + 2 * (8 + elites * steps)]
    assert records[-1].timings["gradient"] > 0 and records[-1].timings["operators"] > 0


def test_a_gradient_step_raises_an_elites_similarity(biggan):
    target, _ = biggan.encode_target(CAPTION)
    evaluate = Evaluator(biggan.generator, biggan.scorer, target, False, 8)
    latent = biggan.generator.latent
    genomes = LatentSampling(latent).do(None, 4, random_state=np.random.default_rng(0)).get("X")
    before, _ = evaluate(genomes)
    refine = Refiner(biggan.generator, evaluate, GradientSettings(elites=4, steps=1, step_size=0.05))
    moved = refine(genomes)
    after, _ = evaluate(moved)
    assert np.all(after > before)
    assert np.array_equal(moved[:, latent.bits], genomes[:, latent.bits])  # only the reals move
    assert evaluate.evaluations == 4 + 4 + 4  # score, one forward + backward each, score


def test_gradient_matches_the_scored_similarity(biggan):
    target, _ = biggan.encode_target(CAPTION)
    evaluate = Evaluator(biggan.generator, biggan.scorer, target, False, 8)
    genomes = LatentSampling(biggan.generator.latent).do(None, 3, random_state=np.random.default_rng(1)).get("X")
    refine = Refiner(biggan.generator, evaluate, GradientSettings())
    reals = torch.as_tensor(genomes[:, :128], dtype=torch.float32)
    with torch.no_grad():
        differentiable = refine.similarity(reals, genomes).numpy()
    assert differentiable == pytest.approx(evaluate(genomes)[0], abs=1e-5)


def test_stylegan2_takes_gradient_steps_that_match_its_scores():
    """The port's in-place activations go out of place under autograd: same scores, and steps that help."""
    from experiments.compare.planted import mini_clip, tiny_stylegan2

    gen, scorer = tiny_stylegan2(conv_clamp=256), mini_clip(REPO_WEIGHTS)
    with torch.inference_mode():
        target = scorer.encode_texts(["a red seven on a blue background"])
    evaluate = Evaluator(gen, scorer, target, False, 8)
    genomes = LatentSampling(gen.latent).do(None, 4, random_state=np.random.default_rng(0)).get("X")
    before, _ = evaluate(genomes)
    refine = Refiner(gen, evaluate, GradientSettings(elites=4, steps=1, step_size=0.05))
    with torch.no_grad():
        differentiable = refine.similarity(torch.as_tensor(genomes, dtype=torch.float32), genomes).numpy()
    assert differentiable == pytest.approx(before, abs=1e-5)
    after, _ = evaluate(refine(genomes))
    assert np.all(after > before)


def test_unknown_optimizer_is_refused_clearly(biggan, tiny_root):
    message = "Unknown optimizer 'adam'; choose one of: ga, random, cmaes, hybrid"
    with pytest.raises(BadInputError, match=message):  # when a pipeline is built ...
        Pipeline.from_preset(get_preset("test_biggan", optimizer="adam"), weights_root=tiny_root)
    with pytest.raises(BadInputError, match=message):  # ... and when a search is asked for
        biggan.search("a dog", optimizer="adam")


def test_single_objective_optimizer_refuses_the_discriminator(biggan):
    with pytest.raises(BadInputError, match="'cmaes' has one objective"):
        biggan.search("a dog", optimizer="cmaes", use_discriminator=True)


@pytest.mark.shared  # the tiny GPT-2 reads GPT-2's tokenizer from ../shared
@pytest.mark.parametrize("optimizer, message", [("hybrid", "searches real genes"), ("cmaes", "searches real genes")])
def test_optimizers_needing_reals_refuse_gpt2(test_presets, tiny_gpt2_root, tiny_root, optimizer, message):
    gpt2 = Pipeline.from_preset("test_gpt2", weights_root=tiny_root)
    with pytest.raises(ValueError, match=message):
        next(gpt2.search(random_image(), optimizer=optimizer))
