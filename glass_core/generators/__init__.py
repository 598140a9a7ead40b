"""The registry of generator kinds: what each kind is, and where its module loads and finds weights.

Each kind lives in one module of this package with three functions: `load(device, weights_root,
**args)`, `locate(weights_root, **args)` (where the weights are, without loading them) and, for
kinds whose weights are not embedded, `random_weights(device, **args)` (the full-size network
with random weights, for speed measurements). Modules are named as strings and imported on first
use, so that nothing heavy loads until a preset asks for it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import torch

from glass_core.errors import BadInputError
from glass_core.generators.base import (AESTHETIC, FLUENCY, REALISM, Generator, LatentSpace, Location, Modality,
                                        SecondObjective, to_pil)


@dataclass(frozen=True)
class Kind:
    """One generator kind: facts about it as attributes, its module's functions as methods."""

    name: str
    module: str  # glass_core.generators.<module>
    modality: Modality
    embedded: bool = False  # weights ship with the repository (the mini set): no download, runs offline
    class_names: Literal["imagenet"] | None = None  # what its class genes name, if it has any
    compilable: bool = False  # its load() takes compile=True (torch.compile of the population batches)
    # What its second objective is (the front's axis, the app's checkbox); None: the paper's for its modality.
    second_objective: SecondObjective | None = None
    args: dict[str, Any] = field(default_factory=dict)  # fixed arguments of its module's functions

    @property
    def second(self) -> SecondObjective:
        """Its second objective: its own, else realism (images) or fluency (captions)."""
        return self.second_objective or (FLUENCY if self.modality == "text" else REALISM)

    def _module(self) -> ModuleType:
        return importlib.import_module(f"glass_core.generators.{self.module}")

    def load(self, device: torch.device, weights_root: Path, compile: bool = False, **args: Any) -> Generator:
        """The generator on `device`, its weights resolved under `weights_root` (or downloaded)."""
        extra = {"compile": compile} if self.compilable else {}
        return self._module().load(device=torch.device(device), weights_root=Path(weights_root),
                                   **self.args, **args, **extra)

    def locate(self, weights_root: Path, **args: Any) -> Location:
        """Where `load` would find the weights, without loading anything heavy."""
        return self._module().locate(Path(weights_root), **self.args, **args)

    def random_weights(self, device: torch.device, **args: Any) -> Generator:
        """The full-size network with random weights: speed does not depend on the weight values."""
        if self.embedded:
            raise ValueError(f"Kind {self.name!r} is embedded: load its real weights instead")
        return self._module().random_weights(torch.device(device), **self.args, **args)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("biggan", "biggan", "image", class_names="imagenet", compilable=True),
    Kind("stylegan2", "stylegan2", "image"),
    Kind("gpt2", "gpt2", "text"),
    Kind("mini_gan", "mini_gan", "image", embedded=True),
    Kind("mini_gpt2", "gpt2", "text", embedded=True, args={"model": "mini"}),
    Kind("sd_turbo", "diffusion", "image", second_objective=AESTHETIC, args={"model": "sd_turbo"}),
    Kind("sdxl_turbo", "diffusion", "image", second_objective=AESTHETIC, args={"model": "sdxl_turbo"}),
)}


def get_kind(name: str) -> Kind:
    """The registered kind called `name`."""
    if name not in KINDS:
        raise BadInputError(f"Unknown generator kind {name!r}; known: {', '.join(sorted(KINDS))}")
    return KINDS[name]


def load_generator(kind: str, device: torch.device, weights_root: Path, **args: Any) -> Generator:
    """Build the generator of `kind` on `device`, resolving its weights under `weights_root`."""
    return get_kind(kind).load(device, weights_root, **args)


__all__ = ["KINDS", "Generator", "Kind", "LatentSpace", "Location", "Modality", "get_kind", "load_generator",
           "to_pil"]
