"""The diffusion kinds (sd_turbo, sdxl_turbo) loaded offline from tiny pipelines in the real hub layout."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_support import TINY_SIZE, diffusion_presets, diffusion_root  # noqa: F401  (fixtures)
from glass_core.errors import BadInputError, MissingWeightsError, UnsafeFileError
from glass_core.generators import get_kind


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its SHA-256: what 'left as it was' compares."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _load(root: Path, kind: str = "sd_turbo", **args):
    return get_kind(kind).load(torch.device("cpu"), root, size=TINY_SIZE, **args)


@pytest.mark.parametrize("kind", ["sd_turbo", "sdxl_turbo"])
def test_loads_from_the_hub_cache_offline_and_renders_noise(diffusion_root, kind):
    gen = _load(diffusion_root, kind)
    assert type(gen.pipe).__name__ == ("StableDiffusionPipeline" if kind == "sd_turbo" else "StableDiffusionXLPipeline")
    assert gen.latent.n_real == 4 * 8 * 8 and gen.latent.real_init == "normal"
    noise = np.random.default_rng(0).standard_normal((3, gen.latent.n_var))
    bound = gen.bind("a red apple")
    images = bound.generate(noise)
    assert images.shape == (3, 3, TINY_SIZE, TINY_SIZE) and 0 <= images.min() and images.max() <= 1
    assert not torch.allclose(images[0], images[1])  # the noise is the genome: it changes the picture
    shown = bound.show(noise[:1])
    assert isinstance(shown[0], Image.Image) and shown[0].size == (TINY_SIZE, TINY_SIZE)
    # Deterministic in the genome: the same noise gives the same picture.
    assert torch.allclose(bound.generate(noise[:1]), images[:1], atol=1e-5)


def test_the_prompt_is_encoded_once_per_search(diffusion_presets, diffusion_root, monkeypatch):
    from glass_core.pipeline import Pipeline

    pipe = Pipeline.from_preset("test_sdturbo", weights_root=diffusion_root)
    calls = []  # text encoder forwards: the prompt's tokens each time
    hook = pipe.generator.pipe.text_encoder.register_forward_hook(lambda m, args, out: calls.append(args[0]))
    try:
        records = list(pipe.search("a red apple", generations=3))
    finally:
        hook.remove()
    assert len(records) == 3 and records[-1].evaluations == 24
    assert len(calls) == 1 and calls[0].shape[0] == 1  # once per search, not per generation or genome
