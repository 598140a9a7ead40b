"""The committed mini models (weights/mini) load through glass's own code paths and behave.

Every check runs the real weights on held-out data: handwriting from the held-out 20 % of
sklearn's digits, held-out (digit, colour, colour) combinations and held-out caption templates.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glass_core.generators import load_generator
from training.mini import data
from training.mini.judge import Judge, Verdict, parse_caption
from glass_core.weights import REPO_WEIGHTS

MINI = REPO_WEIGHTS / "mini"
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


@pytest.fixture(scope="module")
def heldout() -> dict:
    """60 held-out pictures: held-out handwriting in held-out colour combinations."""
    return data.sample_pictures(60, np.random.default_rng(11), "test", combos=sorted(data.heldout_combos()))


def test_weights_fit_the_size_budget():
    files = [f for f in MINI.rglob("*") if f.is_file()]
    assert {"open_clip_config.json", "open_clip_model.safetensors", "model.safetensors",
            "vocab.json", "merges.txt"} <= {f.name for f in files}
    assert not [f for f in files if f.suffix in {".pkl", ".pt", ".bin", ".joblib"}]
    assert sum(f.stat().st_size for f in files) < 25 * 2**20


def test_parse_caption_reads_digit_and_colours_in_order():
    assert parse_caption("the picture of a red seven on a blue background") == Verdict(7, "red", "blue")
    assert parse_caption("the number 3 in yellow on black") == Verdict(3, "yellow", "black")
    assert parse_caption("a picture") == Verdict(None, None, None)


def test_judge_reads_held_out_pictures(judge, heldout):
    verdicts = judge.judge_images(heldout["images"])
    digits = np.mean([v.digit == d for v, d in zip(verdicts, heldout["digit"])])
    colours = np.mean([(v.fg, v.bg) == (f, b) for v, f, b in zip(verdicts, heldout["fg"], heldout["bg"])])
    assert digits >= 0.9 and colours == 1.0


def test_open_clip_loads_mini_clip_from_local_dir_and_ranks_captions(heldout):
    import open_clip

    ident = f"local-dir:{MINI / 'clip'}"
    model, _, preprocess = open_clip.create_model_and_transforms(ident)
    tokenizer = open_clip.get_tokenizer(ident)
    assert isinstance(model, open_clip.model.CLIP) and isinstance(tokenizer, open_clip.SimpleTokenizer)
    assert model.visual.preprocess_cfg["size"] == (32, 32) or model.visual.preprocess_cfg["size"] == 32
    combos = data.all_combos()
    template = data.HELDOUT_TEMPLATES[0]
    with torch.no_grad():
        mean = torch.tensor(model.visual.preprocess_cfg["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(model.visual.preprocess_cfg["std"]).view(1, 3, 1, 1)
        img = model.encode_image((heldout["images"] - mean) / std, normalize=True)
        txt = model.encode_text(tokenizer([data.caption(*c, template) for c in combos]), normalize=True)
    best = [combos[i] for i in (img @ txt.T).argmax(1).tolist()]
    truth = list(zip(heldout["digit"], heldout["fg"], heldout["bg"]))
    # Chance is 1 in 560; the right caption must come first for most pictures.
    assert np.mean([b == t for b, t in zip(best, truth)]) >= 0.6


def test_mini_gan_draws_the_class_it_is_given(judge):
    gen = load_generator("mini_gan", CPU, REPO_WEIGHTS)
    lat = gen.latent
    assert (lat.n_bits, lat.real_bounds, lat.real_init, gen.modality) == (10, (-2.0, 2.0), "truncnorm", "image")
    rng = np.random.default_rng(0)
    genomes = np.zeros((100, lat.n_var))
    genomes[:, lat.reals] = np.clip(rng.standard_normal((100, lat.n_real)), -2, 2)
    digits = np.arange(100) % 10
    genomes[np.arange(100), lat.n_real + digits] = 1
    images = gen.generate(genomes)
    assert images.shape == (100, 3, 32, 32) and 0 <= images.min() and images.max() <= 1
    verdicts = judge.judge_images(images)
    assert np.mean([v.digit == d for v, d in zip(verdicts, digits)]) >= 0.8
    assert gen.show(genomes[:2])[0].size == (128, 128)


def test_mini_gan_discriminator_prefers_real_pictures_to_noise():
    gen = load_generator("mini_gan", CPU, REPO_WEIGHTS)
    real = data.sample_pictures(32, np.random.default_rng(2), "test")["images"]
    noise = torch.rand(32, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    real_logits, noise_logits = gen.discriminate(real), gen.discriminate(noise)
    assert real_logits.shape == (32,) and real_logits.mean() > noise_logits.mean() + 1.0


def test_mini_gpt2_writes_captions_the_judge_can_read():
    from training.mini.gpt2_train import token_meanings

    gen = load_generator("mini_gpt2", CPU, REPO_WEIGHTS)
    tok = gen.tokenizer
    ids = {w: tok.encode(" " + w)[0] for w in ("red", "blue", "seven", "3", "yellow", "black")}
    filler = tok.encode(" background")[0]
    planted = np.full((2, 20), filler, dtype=float)
    planted[0, [4, 9, 15]] = ids["red"], ids["seven"], ids["blue"]
    planted[1, [2, 5, 11]] = ids["3"], ids["yellow"], ids["black"]
    captions = gen.generate(planted)
    assert captions == ["the picture of a red seven on a blue background",
                        "the picture of the number 3 in yellow on black"]
    # Random contexts, as a search starts from, still give captions of the trained shape.
    random = np.random.default_rng(0).integers(0, gen.latent.int_bounds[1] + 1, (30, 20)).astype(float)
    verdicts = [parse_caption(c) for c in gen.generate(random)]
    assert all(v.digit is not None and v.fg and v.bg for v in verdicts)
    assert len(token_meanings(tok)[2]) == len(data.COLOURS)


def test_training_shortcut_matches_open_clip_text_encoder():
    import open_clip

    from training.mini.clip_train import encode_text_short

    model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{MINI / 'clip'}")
    tokens = open_clip.get_tokenizer(f"local-dir:{MINI / 'clip'}")(["a red seven on a blue background"])
    with torch.no_grad():
        assert torch.allclose(encode_text_short(model, tokens), model.encode_text(tokens, normalize=True),
                              atol=1e-5)
