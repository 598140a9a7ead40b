"""Tiny random diffusion pipelines in the real hub layout, for the diffusion kinds' tests.

sd-turbo and sdxl-turbo (model_index.json, unet/ vae/ text_encoder/ tokenizer/ scheduler/, and
text_encoder_2/ tokenizer_2/ for SDXL, safetensors) and TAESD / TAESDXL are written to the
offline Hugging Face cache that conftest sets up, and read back through the real loading code.
The aesthetic head is the published layout (layers.0/2/4/6/7) over the mini CLIP's 128-d embeddings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import hub_snapshot
from glass_core.presets import PRESETS, Preset
from glass_core.weights import REPO_WEIGHTS

TINY_SIZE = 64  # pixels: 4×8×8 = 256 noise genes
MINI_CLIP_DIM = 128


def save_pipeline(pipeline: str, dest: Path) -> None:
    """A tiny random pipeline of class `pipeline`, saved as the hub serves it."""
    from glass_core.generators.diffusion_build import build_pipeline, tiny

    torch.manual_seed(0)
    pipe = build_pipeline(pipeline, tiny(pipeline))
    pipe.save_pretrained(dest, safe_serialization=True)


def save_taesd(dest: Path) -> None:
    """A tiny random AutoencoderTiny (TAESD's class), saved as madebyollin/taesd serves it."""
    from glass_core.generators.diffusion_build import build_tiny

    torch.manual_seed(1)
    taesd = build_tiny(full=False)
    last = taesd.decoder.layers[-1]
    with torch.no_grad():  # mid-grey pictures with visible contrast (a random decoder draws near-black ones)
        last.weight.mul_(5.0)
        last.bias.fill_(0.5)
    taesd.save_pretrained(dest, safe_serialization=True)


def save_aesthetic(dest: Path, dim: int = MINI_CLIP_DIM) -> None:
    """The aesthetic predictor's state dict (layers.0/2/4/6/7) over `dim`-d embeddings, as torch.save writes it."""
    from glass_core.aesthetic import LAYERS

    torch.manual_seed(2)
    widths = (dim, 32, 16, 8, 4, 1)
    state = {}
    for i, (a, b) in zip(LAYERS, zip(widths, widths[1:])):
        state[f"layers.{i}.weight"] = torch.randn(b, a) / a ** 0.5
        state[f"layers.{i}.bias"] = torch.zeros(b)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, dest)


@pytest.fixture(scope="session")
def diffusion_root(tiny_root) -> Path:
    """`tiny_root` with sd-turbo, sdxl-turbo, TAESD(XL) in the hub cache and the aesthetic head in weights/."""
    from glass_core.aesthetic import FILENAME, FOLDER

    save_pipeline("StableDiffusionPipeline", hub_snapshot("stabilityai/sd-turbo"))
    save_pipeline("StableDiffusionXLPipeline", hub_snapshot("stabilityai/sdxl-turbo"))
    save_taesd(hub_snapshot("madebyollin/taesd"))
    save_taesd(hub_snapshot("madebyollin/taesdxl"))
    save_aesthetic(tiny_root / FOLDER / FILENAME)
    mini_clip = tiny_root / "mini" / "clip"  # the embedded mini CLIP scores the tiny pipelines' pictures
    if not mini_clip.exists():
        mini_clip.parent.mkdir(parents=True, exist_ok=True)
        mini_clip.symlink_to(REPO_WEIGHTS / "mini" / "clip", target_is_directory=True)
    return tiny_root


def _preset(name: str, kind: str, aesthetic: bool) -> Preset:
    return Preset(name=name, task="text2image", generator=kind, clip="mini",
                  generator_args={"size": TINY_SIZE, **({"aesthetic": True} if aesthetic else {})},
                  use_discriminator=aesthetic, pop_size=8, generations=3, batch_size=8)


DIFFUSION_PRESETS = {p.name: p for p in (
    _preset("test_sdturbo", "sd_turbo", False),
    _preset("test_sdturbo_aesthetic", "sd_turbo", True),
    _preset("test_sdxlturbo", "sdxl_turbo", False),
)}


@pytest.fixture
def diffusion_presets(monkeypatch, diffusion_root):
    """The tiny diffusion presets, registered like any other for one test."""
    for name, preset in DIFFUSION_PRESETS.items():
        monkeypatch.setitem(PRESETS, name, preset)
    return DIFFUSION_PRESETS
