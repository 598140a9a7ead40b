"""Weights come from weights/, then the Hugging Face cache; missing ones give one clear error."""

from __future__ import annotations

import shutil

import pytest
import torch

from conftest import TINY_CLIP_CFG
from glass_core.errors import MissingWeightsError, UnsafeFileError
from glass_core.generators import load_generator
from glass_core.scorer import load_clip

CPU = torch.device("cpu")


def test_clip_from_weights_folder_and_from_hub_cache_are_the_same(tiny_root, tmp_path):
    from_folder = load_clip("tiny", CPU, tiny_root)
    from_cache = load_clip("tiny", CPU, tmp_path)  # empty folder: falls back to the offline cache
    text = from_folder.encode_texts(["a dog"])
    assert text.shape == (1, TINY_CLIP_CFG["embed_dim"])
    assert torch.allclose(text, from_cache.encode_texts(["a dog"]))
    assert torch.allclose(text.norm(dim=-1), torch.ones(1))


def test_real_clip_spec_uses_quickgelu():
    import open_clip

    from glass_core.scorer import CLIP_MODELS

    spec = CLIP_MODELS["ViT-B-32-quickgelu/openai"]
    assert open_clip.get_model_config(spec.arch)["quick_gelu"] is True


def test_missing_clip_offline_names_the_file(tmp_path):
    with pytest.raises(MissingWeightsError, match="open_clip_model.safetensors") as err:
        load_clip("ViT-B-32-quickgelu/openai", CPU, tmp_path)
    assert "clip/ViT-B-32-quickgelu-openai" in str(err.value)


def test_missing_biggan_offline_says_where_to_put_it(tmp_path):
    with pytest.raises(MissingWeightsError, match="biggan-deep-256") as err:
        load_generator("biggan", CPU, tmp_path, model="biggan-deep-256")
    assert str(tmp_path / "biggan" / "biggan-deep-256") in str(err.value)


def test_biggan_from_the_librarys_own_download_cache(tiny_root, tmp_path, monkeypatch):
    import hashlib

    from glass_core.generators.biggan import _S3

    cache = tmp_path / "biggan-cache"
    cache.mkdir()
    for suffix, name in (("config.json", "config.json"), ("pytorch_model.bin", "pytorch_model.bin")):
        url = f"{_S3}/biggan-deep-128-{suffix}"
        stem = hashlib.sha256(url.encode()).hexdigest() + ".etaghash"
        shutil.copy(tiny_root / "biggan" / "biggan-deep-128" / name, cache / stem)
        (cache / (stem + ".json")).write_text("{}")
    monkeypatch.setenv("PYTORCH_PRETRAINED_BIGGAN_CACHE", str(cache))
    gen = load_generator("biggan", CPU, tmp_path / "empty", model="biggan-deep-128")
    assert gen.latent.n_real == 128 and gen.latent.n_bits == 1000


def test_biggan_checkpoint_that_does_not_fit_is_refused(tiny_root, tmp_path):
    folder = tmp_path / "biggan" / "biggan-deep-128"
    shutil.copytree(tiny_root / "biggan" / "biggan-deep-128", folder)
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    state.pop("embeddings.weight")
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(MissingWeightsError, match="1 missing keys"):
        load_generator("biggan", CPU, tmp_path, model="biggan-deep-128")


def test_biggan_pickle_with_code_is_refused(tiny_root, tmp_path, capsys):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    folder = tmp_path / "biggan" / "biggan-deep-128"
    shutil.copytree(tiny_root / "biggan" / "biggan-deep-128", folder)
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(UnsafeFileError, match="could run code"):
        load_generator("biggan", CPU, tmp_path, model="biggan-deep-128")
    assert "pwned" not in capsys.readouterr().out


@pytest.mark.shared  # the tiny GPT-2 reads GPT-2's tokenizer from ../shared
def test_gpt2_from_hub_cache_when_weights_folder_is_empty(tiny_gpt2_root, tiny_root, tmp_path):
    from_cache = load_generator("gpt2", CPU, tmp_path, model="gpt2")
    from_folder = load_generator("gpt2", CPU, tiny_root, model="gpt2")
    for a, b in zip(from_cache.model.parameters(), from_folder.model.parameters()):
        assert torch.equal(a, b)


def test_missing_mini_gpt2_is_a_clear_error(tmp_path):
    with pytest.raises(MissingWeightsError, match="mini/gpt2"):
        load_generator("gpt2", CPU, tmp_path, model="mini")


def test_channels_last_biggan_gives_the_same_images(tiny_root):
    import numpy as np

    fast = load_generator("biggan", CPU, tiny_root, model="biggan-deep-128")
    plain = load_generator("biggan", CPU, tiny_root, model="biggan-deep-128", channels_last=False)
    genomes = np.zeros((3, 1128))
    genomes[:, :128] = np.random.default_rng(0).uniform(-2, 2, (3, 128))
    genomes[[0, 1, 2], [128 + 1, 128 + 500, 128 + 999]] = 1
    assert torch.allclose(fast.generate(genomes), plain.generate(genomes), atol=1e-5)
