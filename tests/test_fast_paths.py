"""glass's fast paths compute exactly what the plain library calls compute, only with less work."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from glass_core.errors import BadInputError
from glass_core.generators.gpt2_decode import LeanGreedyDecoder
from glass_core.pipeline import Pipeline
from glass_core.scorer import ClipScorer
from glass_core.search import run_search
from glass_core.weights import REPO_WEIGHTS

CAPTIONS = ["a dog", "the picture of a red seven on a blue background", "", "a " * 100]


def _hf_greedy(model: torch.nn.Module, context: torch.Tensor, max_new: int, eos: int) -> torch.Tensor:
    out = model.generate(context, attention_mask=torch.ones_like(context), do_sample=False,
                         max_new_tokens=max_new, eos_token_id=eos, pad_token_id=eos)
    return out[:, context.shape[1]:]


def tiny_gpt2(n_layer: int, n_embd: int, vocab: int) -> GPT2LMHeadModel:
    """A small random GPT-2 (seeded by its depth) whose end-of-text token is 0."""
    torch.manual_seed(n_layer)
    return GPT2LMHeadModel(GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=4, vocab_size=vocab,
                                      n_positions=64, eos_token_id=0)).eval()


@pytest.mark.parametrize("n_layer, n_embd, vocab", [(2, 64, 12), (3, 96, 1000)])
def test_lean_decoder_gives_transformers_greedy_tokens(n_layer, n_embd, vocab):
    model = tiny_gpt2(n_layer, n_embd, vocab)
    context = torch.randint(0, vocab, (32, 23))
    ours = LeanGreedyDecoder(model)(context, max_new=12, eos=0)
    assert torch.equal(ours, _hf_greedy(model, context, 12, 0))
    if vocab == 12:  # a small vocabulary ends captions at different steps: finished rows are dropped
        lengths = (ours != 0).sum(1)
        assert lengths.min() < lengths.max() == 12


def test_lean_decoder_matches_transformers_on_the_mini_gpt2():
    gen = Pipeline.from_preset("mini_gpt2", weights_root=REPO_WEIGHTS).generator
    ids = torch.as_tensor(np.random.default_rng(0).integers(0, 154, (64, 20)))
    context = torch.cat([ids, gen.prefix.expand(64, -1)], dim=1)
    assert gen.kv_cache and gen.lean is not None  # the search's default path is the lean one
    assert torch.equal(gen.continue_greedy(context), _hf_greedy(gen.model, context, gen.max_new_tokens, gen.eos))


def test_lean_decoder_refuses_options_it_does_not_implement():
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50,
                                       scale_attn_by_inverse_layer_idx=True))
    with pytest.raises(ValueError, match="lean decoder"):
        LeanGreedyDecoder(model)


@pytest.mark.parametrize("arch", ["mini", "ViT-B-32-quickgelu"])
def test_trimmed_text_tower_matches_open_clips_encode_text(arch):
    if arch == "mini":
        scorer = Pipeline.from_preset("mini_gpt2", weights_root=REPO_WEIGHTS).scorer
    else:  # the real architecture, random weights
        torch.manual_seed(0)
        model = open_clip.create_model(arch)
        scorer = ClipScorer(model, open_clip.get_tokenizer(arch), torch.device("cpu"))
    tokens = scorer.tokenizer(CAPTIONS)
    with torch.inference_mode():
        full = scorer.model.encode_text(tokens)
        trimmed = scorer._encode_tokens(tokens)
        short = scorer._encode_tokens(tokens[:2])  # a batch of short captions runs on few positions
    torch.testing.assert_close(trimmed, full, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(short, full[:2], rtol=1e-4, atol=1e-5)


def test_caption_reuse_and_trimming_leave_the_search_unchanged():
    pipe = Pipeline.from_preset("mini_gpt2", weights_root=REPO_WEIGHTS)
    target = pipe.scorer.encode_texts(["a green four on a black background"])  # any fixed unit vector
    preset = pipe.preset.replace(generations=4, pop_size=32, seed=3)

    def run(fast: bool) -> list:
        scorer = pipe.scorer.with_options(fast_text=fast)
        return list(run_search(pipe.generator, scorer, target, preset))

    fast, plain = run(True), run(False)
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_array_equal(a.population, b.population)
        np.testing.assert_allclose(a.similarities, b.similarities, atol=1e-5)
    assert fast[-1].output == plain[-1].output


def test_compiled_search_scores_like_the_eager_one_and_is_fixed_per_pipeline(biggan, tiny_root):
    compiled = Pipeline.from_preset(biggan.preset.replace(compile=True), weights_root=tiny_root)
    assert compiled.generator is not biggan.generator  # compiled networks are kept apart
    assert compiled.generator.compile and compiled.scorer.compile and not biggan.generator.compile
    eager = list(biggan.search("a dog", generations=2))
    fast = list(compiled.search("a dog", generations=2))
    for a, b in zip(eager, fast, strict=True):
        np.testing.assert_allclose(b.similarities, a.similarities, atol=1e-4)
    assert compiled.generator._compiled._compiled is not None  # population batches took the compiled path
    with pytest.raises(BadInputError, match="compile is chosen when the pipeline is built"):
        biggan.search("a dog", compile=True)
