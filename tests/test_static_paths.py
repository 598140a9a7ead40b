"""Fixed-shape steps (CUDA graphs on a GPU) compute what the eager paths compute; here their CPU half."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from glass_core.generators.gpt2_decode import LeanGreedyDecoder
from glass_core.generators.gpt2_static import StaticGreedyDecoder
from glass_core.graphs import EagerGraph, GraphedForward, release_graphs
from glass_core.objective import Evaluator
from glass_core.pipeline import Pipeline
from glass_core.weights import REPO_WEIGHTS
from test_fast_paths import _hf_greedy, tiny_gpt2


def _wide_gpt2(vocab: int = 12) -> GPT2LMHeadModel:
    torch.manual_seed(0)  # a wide initialisation: greedy captions wander instead of repeating one token
    return GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=vocab, n_positions=64,
                                      eos_token_id=0, initializer_range=0.5)).eval()


def _eos_ending_at_different_steps(model: torch.nn.Module, context: torch.Tensor, max_new: int) -> int:
    """A token that every caption produces, first at different steps: as end-of-text, all end early."""
    free = LeanGreedyDecoder(model)(context, max_new, eos=-1)  # no token is -1: nothing ends
    for token in range(model.config.vocab_size):
        hits = free == token
        first = hits.int().argmax(1)
        if hits.any(1).all() and first.min() < first.max() < max_new - 2:
            return token
    raise AssertionError("no token ends the captions at different steps")


def _decoders(model: torch.nn.Module) -> dict[str, StaticGreedyDecoder]:
    """The static decoder eager, and through its graph path (EagerGraph stands in for CUDA's)."""
    return {"eager": StaticGreedyDecoder(model, graphs=False),
            "graph": StaticGreedyDecoder(model, graphs=True, new_graph=EagerGraph),
            "graph, checks every 3 steps": StaticGreedyDecoder(model, graphs=True, new_graph=EagerGraph, check_every=3)}


def test_static_decoder_gives_generates_tokens_when_captions_end_at_different_steps():
    model = _wide_gpt2()
    context = torch.randint(0, 12, (16, 10), generator=torch.Generator().manual_seed(1))
    eos = _eos_ending_at_different_steps(model, context, 20)
    ref = _hf_greedy(model, context, 20, eos)
    lengths = (ref != eos).cumprod(1).sum(1) + 1
    assert lengths.min() < lengths.max() and ref.shape[1] == lengths.max() < 20  # all ended: stopped early
    assert torch.equal(LeanGreedyDecoder(model)(context, 20, eos), ref)
    for name, decoder in _decoders(model).items():
        assert torch.equal(decoder(context, 20, eos), ref), name


@pytest.mark.parametrize("n_layer, n_embd, vocab", [(2, 64, 12), (3, 96, 1000)])
def test_static_decoder_matches_transformers_and_the_lean_decoder(n_layer, n_embd, vocab):
    model = tiny_gpt2(n_layer, n_embd, vocab)
    context = torch.randint(0, vocab, (32, 23))
    ref = _hf_greedy(model, context, 12, 0)
    assert torch.equal(LeanGreedyDecoder(model)(context, 12, 0), ref)
    for name, decoder in _decoders(model).items():
        assert torch.equal(decoder(context, 12, 0), ref), name


def test_the_graph_path_replays_into_reused_buffers_without_leaking_between_calls():
    model = _wide_gpt2()
    decoder = StaticGreedyDecoder(model, graphs=True, new_graph=EagerGraph)
    contexts = [torch.randint(0, 12, (16, 10), generator=torch.Generator().manual_seed(s)) for s in range(3)]
    eos = _eos_ending_at_different_steps(model, contexts[0], 20)
    first = decoder(contexts[0], 20, eos)
    results = [decoder(c, 20, eos) for c in contexts]  # one captured step, its buffers reset per call
    assert len(decoder._sessions) == 1
    assert torch.equal(results[0], first)  # nothing left behind by the other calls
    for context, result in zip(contexts, results):
        assert torch.equal(result, _hf_greedy(model, context, 20, eos))
    decoder.release_graphs()
    assert not decoder._sessions and torch.equal(decoder(contexts[0], 20, eos), first)


def test_static_option_on_the_mini_gpt2_gives_the_same_captions():
    gen = Pipeline.from_preset("mini_gpt2", weights_root=REPO_WEIGHTS).generator
    static = gen.with_options(static=True)
    assert gen.speed_options["static"] is False and static.speed_options == gen.speed_options | {"static": True}
    assert static.static is not None and static.model is gen.model
    genomes = np.random.default_rng(0).integers(0, 154, (64, 20)).astype(float)
    ids = torch.as_tensor(genomes, dtype=torch.long)
    context = torch.cat([ids, gen.prefix.expand(64, -1)], dim=1)
    ref = _hf_greedy(gen.model, context, gen.max_new_tokens, gen.eos)
    assert torch.equal(static.continue_greedy(context), ref)
    assert static.generate(genomes) == gen.generate(genomes)


def test_graphed_forward_copies_inputs_in_and_results_out():
    calls = []

    def double(x: torch.Tensor, scale: float) -> torch.Tensor:
        calls.append(len(x))
        return x * 2 * scale

    graphed = GraphedForward(double, EagerGraph)
    a, b = torch.arange(8.0), torch.arange(8.0) + 100
    with torch.no_grad():  # a gradient needs the eager graph: search batches run without one
        out_a = graphed(a, 1.0)
        out_b = graphed(b, 1.0)  # the same graph replayed on new inputs
        assert torch.equal(out_a, a * 2) and torch.equal(out_b, b * 2)  # the first result was not overwritten
        assert torch.equal(graphed(a, 0.5), a)  # a new non-tensor argument: its own graph
        assert len(graphed._graphs) == 2
        assert torch.equal(graphed(a[:2], 1.0), a[:2] * 2) and calls[-1] == 2  # small batches stay eager
        assert torch.equal(GraphedForward(double, None)(a, 1.0), a * 2)  # no graph: a plain call
    assert torch.equal(graphed(b, 1.0), b * 2) and calls[-1] == 8  # with gradients: eager


def test_fixed_shape_biggan_step_scores_like_the_eager_path(biggan):
    gen, scorer = biggan.generator, biggan.scorer
    target = scorer.encode_texts(["a dog"])
    genomes = gen.latent.repair(np.random.default_rng(0).uniform(-1, 1, (13, gen.latent.n_var)))
    eager, _ = Evaluator(gen, scorer, target, False, 8)(genomes)
    fixed_gen = gen.with_options(static=True)
    fixed_scorer = scorer.with_options(static=True)
    fixed = Evaluator(fixed_gen, fixed_scorer, target, False, 8)
    assert fixed.fixed and fixed_gen.static and fixed_scorer.static
    seen = []
    fixed_gen._graphed.new_graph = fixed_scorer._graphed.new_graph = EagerGraph  # the capture path, on a CPU
    real_generate = fixed_gen.generate
    fixed_gen.generate = lambda g: seen.append(len(g)) or real_generate(g)
    sims, _ = fixed(genomes)
    assert seen == [8, 8]  # 13 genomes: the last batch of 5 padded to the full 8
    np.testing.assert_allclose(sims, eager, atol=1e-6)
    assert len(fixed_gen._graphed._graphs) == len(fixed_scorer._graphed._graphs) == 1  # one shape throughout
    release_graphs(fixed_gen, fixed_scorer)  # what the evaluator does when it runs out of GPU memory
    assert not fixed_gen._graphed._graphs and not fixed_scorer._graphed._graphs


def test_fixed_shape_stylegan2_step_with_its_discriminator_scores_like_the_eager_path(biggan):
    from glass_core.generators.stylegan2 import StyleGAN2Generator
    from glass_core.nets.stylegan2.convert import Networks
    from glass_core.nets.stylegan2.discriminator import Discriminator, DiscriminatorConfig
    from glass_core.nets.stylegan2.networks import Generator, GeneratorConfig

    torch.manual_seed(0)
    channels = {4: 16, 8: 16, 16: 8, 32: 8}
    g = Generator(GeneratorConfig(z_dim=16, w_dim=16, img_resolution=32, img_channels=3, channels=channels))
    d = Discriminator(DiscriminatorConfig(img_resolution=32, img_channels=3, channels=channels))
    gen = StyleGAN2Generator(Networks(g, d, "tiny"), torch.device("cpu"), max_batch=8)
    scorer = biggan.scorer
    target = scorer.encode_texts(["a face"])
    genomes = np.random.default_rng(0).standard_normal((13, 16))
    eager = Evaluator(gen, scorer, target, True, 16)(genomes)
    fixed_gen = gen.with_options(static=True)
    fixed_gen._graphed.new_graph = EagerGraph
    fixed = Evaluator(fixed_gen, scorer.with_options(static=True), target, True, 16)
    shapes = []
    fixed_gen._graphed.fn = lambda z, *rest: shapes.append(len(z)) or g(z, *rest)
    sims, reals = fixed(genomes)
    assert set(shapes) == {8}  # 13 genomes padded to 16, in chunks of 8: every chunk the same shape
    np.testing.assert_allclose(sims, eager[0], atol=1e-6)
    # D sees only the 13 real images: padding would change its minibatch-stddev groups.
    np.testing.assert_allclose(reals, eager[1], atol=1e-6)
    assert fixed_gen.speed_options == {"score_resolution": None, "static": True}
