"""What the bench measures: full-size architectures with random weights (speed does not depend on
the weight values), or the real embedded set where a kind's weights ship with the repository."""

from __future__ import annotations

from pathlib import Path

import torch

from glass_core.generators import Generator, get_kind
from glass_core.presets import Preset
from glass_core.scorer import CLIP_MODELS, ClipScorer, random_clip

# An explicit command-line default, relative to the current directory: where the project's
# workspace keeps GPT-2's tokenizer beside the checkout. Only the GPT-2 presets read it.
GPT2_TOKENIZER = Path("../shared/data/gpt2-tokenizer")


def components(preset: Preset, device: torch.device, weights_root: Path,
               gpt2_tokenizer: Path = GPT2_TOKENIZER) -> tuple[Generator, ClipScorer]:
    """Generator and scorer for `preset`: the real embedded set, else random full-size networks.

    `gpt2_tokenizer` is the folder of GPT-2's tokenizer, read by text generators with random weights.
    """
    kind = get_kind(preset.generator)
    if kind.embedded:  # small and present: benchmark the real thing
        from glass_core.pipeline import Pipeline

        pipe = Pipeline.from_preset(preset, device=device, weights_root=weights_root)
        return pipe.generator, pipe.scorer
    args = dict(preset.generator_args)
    if kind.modality == "text":
        args["tokenizer"] = gpt2_tokenizer
    # The preset's CLIP architecture (ViT-L/14 for the diffusion presets), random weights.
    spec = CLIP_MODELS.get(preset.clip)
    return kind.random_weights(device, **args), random_clip(device, arch=spec.arch if spec and spec.arch else
                                                            "ViT-B-32-quickgelu")
