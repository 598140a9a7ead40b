"""NVIDIA pickle -> `<name>.safetensors` + `<name>.json` once, then load from those.

The safetensors file holds only tensors (`G_ema.*` for generation, `D.*` for the
discriminator); the JSON holds the configs derived from the pickle. Loading a converted
network therefore never unpickles anything.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from glass_core.errors import UnsafeFileError
from glass_core.nets.stylegan2 import layout
from glass_core.nets.stylegan2.discriminator import Discriminator, DiscriminatorConfig
from glass_core.nets.stylegan2.networks import Generator, GeneratorConfig
from glass_core.nets.stylegan2.unpickle import safe_load

FORMAT_VERSION = 1
PICKLE_SUFFIXES = (".pkl", ".pickle")


@dataclasses.dataclass
class Networks:
    """A generator (G_ema, the one NVIDIA generates with) and its discriminator, built and loaded."""

    G: Generator
    D: Discriminator
    source: str


def read_pickle(path: Path) -> dict[str, tuple[layout.StateDict, Any]]:
    """{'G', 'G_ema', 'D'} -> (state dict, config) from either official pickle format."""
    nets = layout.networks_from_raw(safe_load(path))
    out: dict[str, tuple[layout.StateDict, Any]] = {}
    for name in ("G", "G_ema"):
        state, hints = nets[name]
        out[name] = (state, layout.generator_config(state, hints))
    state, hints = nets["D"]
    out["D"] = (state, layout.discriminator_config(state, hints))
    return out


def build(g_state: layout.StateDict, g_cfg: GeneratorConfig, d_state: layout.StateDict,
          d_cfg: DiscriminatorConfig, source: str) -> Networks:
    """Instantiate both networks and load their weights strictly."""
    G = layout.load_weights(Generator(g_cfg), g_state, f"generator in {source}")
    D = layout.load_weights(Discriminator(d_cfg), d_state, f"discriminator in {source}")
    return Networks(G, D, source)


def convert(pickle_path: Path, out_dir: Path, name: str) -> Path:
    """Write `<out_dir>/<name>.safetensors` and `.json` from a pickle; returns the safetensors path."""
    from safetensors.torch import save_file

    nets = read_pickle(pickle_path)
    (g_state, g_cfg), (d_state, d_cfg) = nets["G_ema"], nets["D"]
    tensors = {f"G_ema.{k}": v.contiguous() for k, v in g_state.items()}
    tensors.update({f"D.{k}": v.contiguous() for k, v in d_state.items()})
    meta = {"format_version": FORMAT_VERSION, "source": pickle_path.name,
            "generator": dataclasses.asdict(g_cfg), "discriminator": dataclasses.asdict(d_cfg)}
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.safetensors"
    # JSON first, tensors last and atomically: a present .safetensors implies a complete pair.
    _atomic_write(out_dir / f"{name}.json", lambda p: p.write_text(json.dumps(meta, indent=2)))
    _atomic_write(target, lambda p: save_file(tensors, str(p), metadata={"format": "glass-stylegan2"}))
    return target


def _atomic_write(dest: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over `dest`."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _config(cls: type, raw: dict) -> Any:
    """A config dataclass from JSON (whose object keys are strings)."""
    raw = dict(raw)
    raw["channels"] = {int(k): int(v) for k, v in raw["channels"].items()}
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names})


def load_converted(path: Path) -> Networks:
    """Networks from a `.safetensors` file and the `.json` config beside it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    cfg_path = path.with_suffix(".json")
    if not cfg_path.is_file():
        raise UnsafeFileError(f"{path.name} has no config {cfg_path.name} beside it; convert the pickle again")
    meta = json.loads(cfg_path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise UnsafeFileError(f"{cfg_path.name} is from another converter version; convert the pickle again")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise UnsafeFileError(f"{path.name} is not a readable safetensors file ({exc})") from None
    g = {k[len("G_ema."):]: v for k, v in tensors.items() if k.startswith("G_ema.")}
    d = {k[len("D."):]: v for k, v in tensors.items() if k.startswith("D.")}
    return build(g, _config(GeneratorConfig, meta["generator"]), d,
                 _config(DiscriminatorConfig, meta["discriminator"]), str(meta.get("source", path.name)))


def load_pickle(path: Path, generator: str = "G_ema") -> Networks:
    """Networks straight from a pickle (no files written); `generator` picks 'G_ema' or 'G'."""
    nets = read_pickle(path)
    (g_state, g_cfg), (d_state, d_cfg) = nets[generator], nets["D"]
    return build(g_state, g_cfg, d_state, d_cfg, path.name)


def load_file(path: Path) -> Networks:
    """Networks from a converted `.safetensors` or an official pickle, by suffix."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return load_converted(path)
    if path.suffix in PICKLE_SUFFIXES:
        return load_pickle(path)
    raise UnsafeFileError(f"{path.name}: expected a .pkl network pickle or a converted .safetensors file")


def to_device(nets: Networks, device: torch.device) -> Networks:
    """Move both networks to `device`."""
    nets.G.to(device)
    nets.D.to(device)
    return nets
