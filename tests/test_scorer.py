"""The CLIP scorer sees what CLIP's own preprocessing would show it, and explains cut captions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import random_image
from glass_core.errors import BadInputError
from glass_core.pipeline import Pipeline
from glass_core.scorer import load_clip


@pytest.fixture
def scorer(tiny_root):
    return load_clip("tiny", torch.device("cpu"), tiny_root)


def test_tensor_path_matches_open_clips_own_preprocessing(scorer):
    import open_clip

    _, _, preprocess = open_clip.create_model_and_transforms("glass-tiny-test")
    img = random_image(0, size=scorer.image_size)  # no resize: the two paths must agree exactly
    ours = scorer.prepare(torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)[None])
    assert torch.allclose(ours, preprocess(img)[None], atol=1e-5)


def test_resize_keeps_the_centre_like_clip(scorer):
    wide = torch.zeros(1, 3, 64, 128)
    wide[..., 32:96] = 1.0  # a white centre square between black side bands
    out = scorer.prepare(wide) * scorer.std + scorer.mean
    assert out.shape[-2:] == (scorer.image_size, scorer.image_size)
    assert out.mean() > 0.95  # the side bands were cropped away, not squeezed in


def test_encodings_are_unit_vectors_and_deterministic(scorer):
    a = scorer.encode_texts(["a dog", "a cat"])
    assert torch.allclose(a.norm(dim=-1), torch.ones(2))
    assert torch.equal(a, scorer.encode_texts(["a dog", "a cat"]))
    assert torch.allclose(scorer.encode_pil(random_image(1)).norm(), torch.tensor(1.0))


def test_long_caption_is_truncated_and_the_user_is_told(test_presets, tiny_root):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    long_caption = "a very small dog " * 30
    emb, notes = pipe.encode_target(long_caption)
    assert len(notes) == 1 and "77 tokens" in notes[0]
    assert next(pipe.search(long_caption, generations=1)).notes == notes
    assert pipe.encode_target("a dog")[1] == ()


@pytest.mark.parametrize("caption", ["", "   ", "\n\t"])
def test_empty_caption_is_refused(test_presets, tiny_root, caption):
    pipe = Pipeline.from_preset("test_biggan", weights_root=tiny_root)
    with pytest.raises(BadInputError, match="empty"):
        pipe.search(caption)


@pytest.mark.shared  # the tiny GPT-2 reads GPT-2's tokenizer from ../shared
def test_image_to_text_needs_an_image(test_presets, tiny_gpt2_root, tiny_root):
    pipe = Pipeline.from_preset("test_gpt2", weights_root=tiny_root)
    with pytest.raises(BadInputError, match="image"):
        pipe.search("not an image")
    assert pipe.encode_target(Image.new("L", (40, 30), 128))[0].shape[0] == 1  # grey is fine
