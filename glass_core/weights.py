"""Where pretrained weights come from: the repository's weights/ folder, a cache, or a download.

Layout of `weights/` (every entry optional; see weights/README.md):

    weights/clip/<name>/open_clip_model.safetensors   CLIP, e.g. clip/ViT-B-32-quickgelu-openai/
    weights/biggan/biggan-deep-256/{config.json, model.safetensors | pytorch_model.bin}
    weights/gpt2/gpt2/   a transformers save_pretrained folder (config, weights, tokenizer)
    weights/stylegan2/   NVIDIA's pickles, converted to safetensors on first use
    weights/mini/        the embedded default model set, committed to the repository
Downloads from plain URLs are glass_core.downloads'.
"""

from __future__ import annotations

import os
import re
import socket
import urllib.parse
import urllib.request
from pathlib import Path

from glass_core.errors import MissingWeightsError

REPO_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
RECORD_SUFFIX = ".sha256.json"  # weights/<...>/<file>.sha256.json: what the download was
TIMEOUT_S = 20  # per network operation (connect, or one read)
PROBE_TIMEOUT_S = 3  # connecting to the Hugging Face hub before handing it the download


class DamagedWeightsError(MissingWeightsError):
    """A downloaded file no longer matches the size or SHA-256 recorded when it arrived."""


def default_weights_root() -> Path:
    """The weights folder: $GLASS_WEIGHTS if set, else the repository's weights/."""
    return Path(os.environ.get("GLASS_WEIGHTS", REPO_WEIGHTS))


def relative_to_weights(message: str, root: str | Path | None = None) -> str:
    """`message` with the weights folder's absolute path written as `weights/`, for a visitor of the page.

    The server's own paths are none of a visitor's business; whoever runs it reads them in the log.
    """
    root = Path(root) if root is not None else default_weights_root()
    for form in sorted({str(root.absolute()), str(root.resolve())}, key=len, reverse=True):
        if form != os.sep:  # only where a path starts (not inside a URL), and only the whole folder name
            message = re.sub(rf"(?<![^\s'\"(\[=,]){re.escape(form)}(?![^\s'\")\],;:./{re.escape(os.sep)}])",
                             "weights", message)
    return message


def download_cache() -> Path:
    """Where unfinished downloads wait to be resumed: $GLASS_CACHE/downloads, outside weights/."""
    base = os.environ.get("GLASS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "glass"
    return Path(base) / "downloads"


def is_offline() -> bool:
    """True when the user (or the machine) asked for no network access."""
    flags = (os.environ.get(k, "") for k in ("GLASS_OFFLINE", "HF_HUB_OFFLINE"))
    return any(v.strip().lower() in {"1", "true", "yes", "on"} for v in flags)


# ---- Hugging Face hub (CLIP, GPT-2): its own cache, checked first and without the network ----

def hub_cached_path(repo_id: str | None, filename: str) -> Path | None:
    """The file in the Hugging Face cache, if it is there (no network access)."""
    if repo_id is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo_id, filename)
    return Path(hit) if isinstance(hit, str) else None


def hub_cached(repo_id: str | None, filename: str) -> bool:
    """True if the Hugging Face cache already holds this file (no network access)."""
    return hub_cached_path(repo_id, filename) is not None


def hub_reachable() -> str | None:
    """None if the hub's host accepts a connection within a few seconds, else why not.

    huggingface_hub retries an unreachable host five times with back-off (23 s measured)
    before saying the file is missing; one short connection attempt answers at once.
    """
    from huggingface_hub import constants

    return reachable(constants.ENDPOINT)


def reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None if `url`'s host accepts a TCP connection (always for file: URLs), else the reason."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as err:
        return f"cannot reach {parts.hostname}: {err}"


def hub_file(repo_id: str, filename: str, what: str, put_here: Path) -> Path:
    """A file from the Hugging Face cache, else downloaded (with the hub's progress bar) when online.

    Offline, or with the hub unreachable, a file not in the cache is reported at once.
    """
    cached = hub_cached_path(repo_id, filename)
    if cached is not None:
        return cached
    how = (f"Looked in {put_here} and the Hugging Face cache for {repo_id}/{filename}. Put the file in"
           f" {put_here}, or run once online (without HF_HUB_OFFLINE=1 / GLASS_OFFLINE=1) to download it.")
    if is_offline():
        raise MissingWeightsError(what, how + " (offline mode is on, so glass did not try)")
    if (why := hub_reachable()) is not None:
        raise MissingWeightsError(what, f"{how} ({why})")
    from huggingface_hub import hf_hub_download  # atomic, resumable and checked by the hub's own cache

    try:
        return Path(hf_hub_download(repo_id, filename))
    except Exception as err:  # no network, no such file: all mean "not here"
        raise MissingWeightsError(what, f"{how} ({type(err).__name__})") from err


def hub_source(repo_id: str, marker: str, what: str, how: str) -> tuple[str, bool]:
    """(repo_id, local_only) for a from_pretrained call: the cache when it holds `marker`, else a download.

    Offline, or with the hub unreachable (one short connection attempt), a repository not in the
    cache is reported at once, naming what to fetch, instead of the libraries' long retries.
    """
    if hub_cached(repo_id, marker):
        return repo_id, True
    if is_offline():
        raise MissingWeightsError(what, how + " (offline mode is on, so glass did not try).")
    if (why := hub_reachable()) is not None:
        raise MissingWeightsError(what, f"{how} ({why}).")
    return repo_id, False
