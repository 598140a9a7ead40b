"""Where pretrained weights come from: the repository's weights/ folder, a cache, or a download.

Layout of `weights/` (every entry optional; see weights/README.md):

    weights/clip/<name>/open_clip_model.safetensors   CLIP, e.g. clip/ViT-B-32-quickgelu-openai/
    weights/biggan/biggan-deep-256/{config.json, model.safetensors | pytorch_model.bin}
    weights/gpt2/gpt2/   a transformers save_pretrained folder (config, weights, tokenizer)
    weights/stylegan2/   NVIDIA's pickles, converted to safetensors on first use
    weights/mini/        the embedded default model set, committed to the repository
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from glass_core.errors import MissingWeightsError

REPO_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def default_weights_root() -> Path:
    """The weights folder: $GLASS_WEIGHTS if set, else the repository's weights/."""
    return Path(os.environ.get("GLASS_WEIGHTS", REPO_WEIGHTS))


def is_offline() -> bool:
    """True when the user (or the machine) asked for no network access."""
    flags = (os.environ.get(k, "") for k in ("GLASS_OFFLINE", "HF_HUB_OFFLINE"))
    return any(v.strip().lower() in {"1", "true", "yes", "on"} for v in flags)


def hub_file(repo_id: str, filename: str, what: str, put_here: Path) -> Path:
    """A file from the Hugging Face cache, downloaded (with a progress bar) when online."""
    from huggingface_hub import hf_hub_download  # heavy-ish; only when weights are needed

    try:
        return Path(hf_hub_download(repo_id, filename, local_files_only=is_offline()))
    except Exception as err:  # offline miss, no network, no such file: all mean "not here"
        raise MissingWeightsError(
            what,
            f"Looked in {put_here} and the Hugging Face cache for {repo_id}/{filename}"
            f" ({type(err).__name__}). Put the file in {put_here}, or run once online"
            " (without HF_HUB_OFFLINE=1) to download it.",
        ) from err


def url_file(url: str, dest: Path, what: str) -> Path:
    """`dest` if present, else downloaded from `url` with a progress bar when online."""
    if dest.is_file():
        return dest
    how = f"Download {url} and save it as {dest}."
    if is_offline():
        raise MissingWeightsError(what, how + " (offline mode is on, so glass did not try)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        _download(url, dest)
    except OSError as err:
        raise MissingWeightsError(what, f"{how} (download failed: {err})") from err
    return dest


def _download(url: str, dest: Path) -> None:
    """Stream `url` into `dest` atomically, showing a progress bar."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=30) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                while chunk := resp.read(1 << 20):
                    tmp.write(chunk)
                    bar.update(len(chunk))
    shutil.move(tmp.name, dest)


def hub_cached(repo_id: str | None, filename: str) -> bool:
    """True if the Hugging Face cache already holds this file (no network access)."""
    if repo_id is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, filename), str)
