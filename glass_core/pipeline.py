"""A preset's components, loaded once and shared read-only, and one `search` call per target."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image

from glass_core.errors import BadInputError
from glass_core.generators import Generator, get_kind
from glass_core.generators.base import bind
from glass_core.optimizers import OPTIMIZERS
from glass_core.images import to_rgb
from glass_core.presets import Preset, get_preset
from glass_core.prompts import WeightedPrompt, parse_prompts
from glass_core.scorer import CLIP_MODELS, ClipScorer, load_clip
from glass_core.records import GenerationRecord
from glass_core.search import run_search
from glass_core.targets import Part, embed_parts, is_parts
from glass_core.weights import default_weights_root

# A caption (optionally "a | b:0.5 | c:-1"), weighted prompts and pictures (glass_core.targets), or an image to caption.
Target = str | list[WeightedPrompt] | list[Part] | Image.Image

_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()


def _shared(key: tuple, make) -> Any:
    """Load a component once per process; later callers (other app sessions) reuse it."""
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = make()
        return _CACHE[key]


def check_names(preset: Preset) -> None:
    """The one place where a preset's registry names (generator kind, CLIP, optimizer) are checked."""
    get_kind(preset.generator)
    if preset.clip not in CLIP_MODELS:
        raise BadInputError(f"Unknown CLIP {preset.clip!r}; choose one of: {', '.join(CLIP_MODELS)}")
    if preset.optimizer not in OPTIMIZERS:
        raise BadInputError(f"Unknown optimizer {preset.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if preset.use_discriminator and not OPTIMIZERS[preset.optimizer].multi_objective:
        raise BadInputError(f"Optimizer {preset.optimizer!r} has one objective; with the discriminator use"
                            f" one of: {', '.join(k for k, v in OPTIMIZERS.items() if v.multi_objective)}")


class Pipeline:
    """Generator + CLIP scorer for one preset; `search` streams one record per generation."""

    def __init__(self, preset: Preset, generator: Generator, scorer: ClipScorer):
        self.preset, self.generator, self.scorer = preset, generator, scorer
        self._bound: dict[str | None, Generator] = {}  # per prompt: encoded once for the search and its pictures

    @classmethod
    def from_preset(cls, preset: str | Preset, device: str | torch.device = "cpu",
                    weights_root: str | Path | None = None) -> Pipeline:
        """Load (or reuse) the components a preset names."""
        preset = get_preset(preset) if isinstance(preset, str) else preset
        check_names(preset)
        device = torch.device(device)
        root = Path(weights_root) if weights_root is not None else default_weights_root()
        args = json.dumps(preset.generator_args, sort_keys=True)
        kind = get_kind(preset.generator)
        gen = _shared(("gen", preset.generator, args, str(device), str(root), preset.compile),
                      lambda: kind.load(device, root, compile=preset.compile, **preset.generator_args))
        clip = _shared(("clip", preset.clip, str(device), str(root), preset.compile),
                       lambda: load_clip(preset.clip, device, root, compile=preset.compile))
        return cls(preset, gen, clip)

    def encode_target(self, target: Target) -> tuple[torch.Tensor, tuple[str, ...]]:
        """The target's unit CLIP embedding (1, D), and notes for the user (e.g. truncation)."""
        if self.preset.task == "text2image":
            if is_parts(target):  # captions and pictures, each with its weight
                prompts = target
            elif isinstance(target, str):
                prompts = parse_prompts(target)
            else:
                raise BadInputError("Please enter a caption.")
            notes = tuple(
                f"The caption {p.text[:40]!r}… is longer than CLIP's {self.scorer.context_length} tokens;"
                " only its beginning is used." for p in prompts
                if isinstance(p, WeightedPrompt) and self.scorer.is_truncated(p.text))
            with torch.inference_mode():
                return embed_parts(self.scorer, prompts), notes
        if not isinstance(target, Image.Image):
            raise BadInputError("Please give an image to caption.")
        with torch.inference_mode():
            return self.scorer.encode_pil(to_rgb(target)), ()

    def search(self, target: Target, initial: np.ndarray | None = None,
               **overrides: Any) -> Iterator[GenerationRecord]:
        """Stream the search for `target`; any preset field can be overridden for this run.

        A text target may weigh several captions: "a church | gothic:0.5 | people:-1".
        `initial` (genomes, e.g. an earlier record's population) continues a search instead of
        starting from random samples.
        """
        if overrides.get("compile", self.preset.compile) != self.preset.compile:
            raise BadInputError("compile is chosen when the pipeline is built:"
                                " Pipeline.from_preset(preset.replace(compile=True))")
        preset = self.preset.replace(**overrides) if overrides else self.preset
        check_names(preset)
        embedding, notes = self.encode_target(target)  # once per search, not per generation
        return run_search(self.bound(target), self.scorer, embedding, preset, notes, initial)

    def show(self, genomes: np.ndarray, target: Target | None = None) -> list[Image.Image] | list[str]:
        """Render genomes (e.g. a chosen point of the Pareto front) for display; `target`: the search's."""
        generator = self.generator if target is None else self.bound(target)
        return generator.show(np.atleast_2d(genomes))

    def bound(self, target: Target) -> Generator:
        """The generator bound to the target's prompt (diffusion), kept so that showing reuses it."""
        key = condition(target)
        if key not in self._bound:
            if len(self._bound) >= 8:  # a long conversation: keep memory bounded
                self._bound.clear()
            self._bound[key] = bind(self.generator, key)
        return self._bound[key]


def condition(target: Target) -> str | None:
    """What a conditional generator takes as its prompt: the caption's positive parts; None for an image."""
    if isinstance(target, Image.Image):
        return None
    prompts = parse_prompts(target) if isinstance(target, str) else target
    return ", ".join(p.text for p in prompts if isinstance(p, WeightedPrompt) and p.weight > 0)  # pictures: CLIP only
