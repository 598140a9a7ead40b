"""Whether a preset's weights are on disk, can be downloaded, or are missing offline — without loading them.

Each check looks for exactly the files the loaders look for (see glass_core.weights for the
layout): a preset is `present` when all its components are, `missing` when one of them is
neither on disk nor downloadable (offline mode, or a model with no download source, like the
embedded mini set), and `downloadable` otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from glass_core.presets import Preset
from glass_core.weights import default_weights_root, is_offline

Status = Literal["present", "downloadable", "missing"]
_RANK: dict[Status, int] = {"present": 0, "downloadable": 1, "missing": 2}

# (on disk, has a download source) for one component
Need = tuple[bool, bool]


def _hub_cached(repo_id: str | None, filename: str) -> bool:
    """True if the Hugging Face cache already holds this file (no network access)."""
    if repo_id is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, filename), str)


def _clip(name: str, root: Path) -> Need:
    from glass_core.scorer import CLIP_MODELS

    spec = CLIP_MODELS.get(name)
    if spec is None:
        return False, False
    folder = root / spec.folder
    has_source = spec.arch is not None and spec.hub_repo is not None
    on_disk = (folder / "open_clip_config.json").is_file() or (
        has_source and ((folder / spec.filename).is_file() or _hub_cached(spec.hub_repo, spec.filename)))
    return on_disk, has_source


def _biggan(args: dict, root: Path) -> Need:
    from glass_core.generators.biggan import MODELS, find_local  # the loader's own lookup

    name = args.get("model", "biggan-deep-256")
    if name not in MODELS:
        return False, False
    return find_local(name, root) is not None, True


def _gpt2(args: dict, root: Path) -> Need:
    from glass_core.generators.gpt2 import MODELS

    sub, repo = MODELS.get(args.get("model", "gpt2"), (None, None))
    if sub is None:
        return False, False
    return (root / sub / "config.json").is_file() or _hub_cached(repo, "config.json"), repo is not None


def _stylegan2(args: dict, root: Path) -> Need:
    from glass_core.generators.stylegan2 import NETWORKS

    if args.get("path") is not None:  # an explicit file has no download source
        return Path(args["path"]).is_file(), False
    info = NETWORKS.get(args.get("network", "ffhq"))
    if info is None:
        return False, False
    folder = root / "stylegan2"
    converted = folder / f"{args.get('network', 'ffhq')}.safetensors"
    on_disk = (converted.is_file() and converted.with_suffix(".json").is_file()) or any(
        (folder / f).is_file() for f in info.files)
    return on_disk, True


def _mini_gan(args: dict, root: Path) -> Need:
    folder = root / "mini" / "gan"  # committed with the repository, never downloaded
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file(), False


_GENERATORS = {"biggan": _biggan, "gpt2": _gpt2, "stylegan2": _stylegan2, "mini_gan": _mini_gan}


def _status(needs: list[Need]) -> Status:
    """The worst status over a preset's components."""
    offline = is_offline()
    worst: Status = "present"
    for on_disk, has_source in needs:
        status: Status = "present" if on_disk else ("downloadable" if has_source and not offline else "missing")
        worst = max(worst, status, key=_RANK.__getitem__)
    return worst


def preset_status(preset: Preset, weights_root: str | Path | None = None) -> Status:
    """present / downloadable / missing for a preset's generator and CLIP, under the weights root."""
    root = Path(weights_root) if weights_root is not None else default_weights_root()
    check = _GENERATORS.get(preset.generator)
    generator: Need = check(preset.generator_args, root) if check else (False, False)
    return _status([generator, _clip(preset.clip, root)])


def describe(status: Status) -> str:
    """Words for a status, as shown next to a preset's name."""
    return {"present": "weights present", "downloadable": "downloadable",
            "missing": "missing offline"}[status]
