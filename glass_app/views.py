"""A search's records as what the page shows: progress line, plot frames, top individuals, classes."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from glass_core.records import FrontPoint, GenerationRecord

DISPLAY_SIDE = 256  # small generators (the mini set's 32 px) are enlarged to about this
SHOWN = Path(tempfile.gettempdir()) / f"glass-app-{os.getpid()}"  # pictures handed to the page
SHOWN_KEEP_S = 3600  # gradio copies each file into its own cache at once; ours only need to live briefly
_writes = itertools.count()


def display(img: Image.Image) -> Image.Image:
    """Enlarge a small picture by a whole factor, with crisp pixels, for the page only."""
    factor = DISPLAY_SIDE // max(img.size)
    if factor < 2:
        return img
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def shown_file(img: Image.Image) -> str:
    """The picture, enlarged for display, as a PNG file named by its content.

    Why files, not PIL images: gradio re-encodes a PIL output into the same cache file on every
    update, truncating it while the browser may still be reading it; a file path is copied once
    per content, atomically.
    """
    buf = io.BytesIO()
    display(img).save(buf, format="PNG")
    data = buf.getvalue()
    path = SHOWN / f"{hashlib.sha256(data).hexdigest()}.png"
    if not path.exists():
        SHOWN.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=SHOWN, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staging, path)
        if next(_writes) % 500 == 0:
            _prune()
    return str(path)


def _prune() -> None:
    """Forget pictures older than SHOWN_KEEP_S, so a long-lived server does not fill its disk."""
    limit = time.time() - SHOWN_KEEP_S
    for old in SHOWN.glob("*.png"):
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except OSError:  # another session pruned it first
            pass


def _duration(seconds: float) -> str:
    """Seconds as '42 s' or '3 min 5 s'."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


def progress_line(rec: GenerationRecord, stopped: bool = False, second: str = "realism") -> str:
    """'Generation k of N · E evaluations/s · about T left' for the record ('done'/'stopped' at the end)."""
    rate = rec.evaluations / rec.elapsed if rec.elapsed > 0 else 0.0
    left = rec.elapsed / rec.generation * (rec.generations - rec.generation)
    if rec.generation == rec.generations:
        tail = "done"
    else:
        tail = "stopped, result kept" if stopped else f"about {_duration(left)} left"
    score = f"similarity {rec.similarity:.4f}"
    if rec.realism is not None:
        score += f", {second} {rec.realism:.3f}"
    return (f"Generation {rec.generation} of {rec.generations} · {rate:.1f} evaluations/s · "
            f"{tail} · {score}")


def similarity_frame(history: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Best and mean similarity per generation, in the long form a LinePlot colours by series."""
    rows = [{"generation": h["generation"], "similarity": h[key], "series": name}
            for h in history for key, name in (("best_similarity", "best"), ("mean_similarity", "mean"))]
    return pd.DataFrame(rows, columns=["generation", "similarity", "series"])


def front_frame(front: Sequence[FrontPoint] | None) -> pd.DataFrame:
    """The Pareto front as (similarity, realism) points, numbered in front order."""
    rows = [{"similarity": p.similarity, "realism": p.realism, "point": i} for i, p in enumerate(front or [])]
    return pd.DataFrame(rows, columns=["similarity", "realism", "point"])


def pick_front_point(front: Sequence[FrontPoint], selected: Any) -> int | None:
    """The front point a plot selection means: nearest the middle of a brushed similarity range."""
    if not front or selected is None:
        return None
    values = selected if isinstance(selected, (list, tuple)) else [selected]
    try:
        lo, hi = float(min(values)), float(max(values))
    except (TypeError, ValueError):
        return None
    sims = np.array([p.similarity for p in front])
    return int(np.argmin(np.abs(sims - (lo + hi) / 2)))


def top_indices(rec: GenerationRecord, k: int) -> list[int]:
    """Indices of the k most similar distinct individuals of the population."""
    out: list[int] = []
    seen: set[bytes] = set()
    for i in np.argsort(-np.asarray(rec.similarities), kind="stable"):
        key = rec.population[i].tobytes()
        if key not in seen:
            seen.add(key)
            out.append(int(i))
        if len(out) == k:
            break
    return out


@lru_cache(maxsize=1)
def imagenet_names() -> tuple[str, ...] | None:
    """ImageNet-1k class names as torchvision ships them (BSD licence), or None if unavailable."""
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES
    except ImportError:
        return None
    return tuple(_IMAGENET_CATEGORIES) if len(_IMAGENET_CATEGORIES) == 1000 else None


def class_line(generator: Any, genome: np.ndarray, imagenet: bool) -> str:
    """The classes switched on in a genome, by name where known; '' for generators without classes."""
    top = getattr(generator, "top_classes", None)
    if top is not None:
        classes = top(genome)
    elif getattr(generator, "latent", None) is not None and generator.latent.n_bits:
        classes = [int(i) for i in np.flatnonzero(genome[generator.latent.bits] > 0.5)[:5]]
    else:
        return ""
    if not classes:
        return "Classes in the best genome: none (the generator runs unconditioned)."
    names = imagenet_names() if imagenet else None
    shown = [f"{names[c]} ({c})" if names else f"class {c}" for c in classes]
    return "Classes in the best genome: " + ", ".join(shown)
