"""GPT-2 captioning: the cached greedy loop matches transformers, and image→text search improves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import random_image
from glass_core.generators.gpt2 import PREFIX
from glass_core.pipeline import Pipeline

pytestmark = pytest.mark.shared  # the tiny GPT-2 reads GPT-2's tokenizer from ../shared


@pytest.fixture(autouse=True)
def _tiny_gpt2(tiny_gpt2_root):
    """Every test here reads the tiny GPT-2 from tiny_root (the same folder)."""


def test_prefix_is_gpt2s_the_picture_of(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_gpt2", weights_root=tiny_root)
    assert pipe.generator.prefix.tolist() == [1169, 4286, 286]  # from GPT-2's real vocabulary
    assert pipe.generator.latent.n_int == 20 and pipe.generator.latent.int_bounds == (0, 50256)


def test_cached_greedy_decoding_matches_transformers_generate(test_presets, tiny_root):
    gen = Pipeline.from_preset("test_gpt2", weights_root=tiny_root).generator
    rng = np.random.default_rng(0)
    context = torch.as_tensor(rng.integers(0, 50257, (5, 23)))
    ours = gen.continue_greedy(context)
    theirs = gen.model.generate(
        context, attention_mask=torch.ones_like(context), do_sample=False,
        max_new_tokens=gen.max_new_tokens, eos_token_id=gen.eos, pad_token_id=gen.eos,
    )[:, context.shape[1]:]
    assert torch.equal(ours, theirs[:, :ours.shape[1]])
    paper = gen.with_options(kv_cache=False)  # the paper-faithful path decodes the same tokens, only slower
    assert torch.equal(paper.continue_greedy(context), ours)
    assert gen.kv_cache and not paper.kv_cache and paper.model is gen.model  # same weights, shared one untouched


def test_captions_start_with_the_prefix_and_stop_at_end_of_text(test_presets, tiny_root):
    gen = Pipeline.from_preset("test_gpt2", weights_root=tiny_root).generator
    genomes = np.random.default_rng(1).integers(0, 50257, (4, 20)).astype(float)
    captions = gen.generate(genomes)
    assert len(captions) == 4 and all(c.startswith(PREFIX) for c in captions)
    assert all("<|endoftext|>" not in c and "\n" not in c for c in captions)


def test_image_to_text_search_improves(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_gpt2", weights_root=tiny_root)
    records = list(pipe.search(random_image(3), generations=6, seed=0))
    assert records[-1].best_similarity > records[0].best_similarity
    assert isinstance(records[-1].output, str) and records[-1].output.startswith(PREFIX)
    tokens = records[-1].genome
    assert np.array_equal(tokens, np.rint(tokens)) and tokens.min() >= 0 and tokens.max() <= 50256


def test_fluency_is_the_mean_log_likelihood_of_the_caption_alone(tiny_root):
    from glass_core.generators import load_generator

    gen = load_generator("gpt2", torch.device("cpu"), tiny_root, model="gpt2", fluency=True)
    assert gen.has_discriminator
    captions = ["the picture of a dog", "the picture of"]
    scores = gen.discriminate(captions)
    ids = torch.tensor([[gen.eos, *gen.tokenizer.encode(captions[0])]])
    loss = gen.model(input_ids=ids, labels=ids).loss  # transformers' own mean NLL
    assert scores.shape == (2,) and float(scores[0]) == pytest.approx(-float(loss), rel=1e-4)
    assert (scores < 0).all()


def test_fluent_captioning_runs_nsga2(test_presets, tiny_root):
    from glass_core.presets import PRESETS

    preset = PRESETS["test_gpt2"].replace(generator_args={"model": "gpt2", "max_new_tokens": 6, "fluency": True},
                                          use_discriminator=True)
    rec = list(Pipeline.from_preset(preset, weights_root=tiny_root).search(random_image(4), generations=2))[-1]
    assert rec.front and all(p.realism < 0 for p in rec.front)
