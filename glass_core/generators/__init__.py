"""Generator registry: a kind name maps to the factory that loads it, imported lazily."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

from glass_core.generators.base import Generator, LatentSpace, Modality, to_pil

# kind -> "module:function"; each factory is load(device, weights_root, **args) -> Generator.
# Strings, not imports, so that nothing heavy loads until a preset asks for it.
FACTORIES: dict[str, str] = {
    "biggan": "glass_core.generators.biggan:load",
    "gpt2": "glass_core.generators.gpt2:load",
    "stylegan2": "glass_core.generators.stylegan2:load",
    "mini_gan": "glass_core.generators.mini_gan:load",
}


def load_generator(kind: str, device: torch.device, weights_root: Path, **args: Any) -> Generator:
    """Build the generator of `kind` on `device`, resolving its weights under `weights_root`."""
    if kind not in FACTORIES:
        raise ValueError(f"Unknown generator kind {kind!r}; known: {', '.join(sorted(FACTORIES))}")
    module_name, func_name = FACTORIES[kind].split(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    return factory(device=device, weights_root=Path(weights_root), **args)


__all__ = ["FACTORIES", "Generator", "LatentSpace", "Modality", "load_generator", "to_pil"]
