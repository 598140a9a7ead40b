"""Run cards: the JSON that says what a search did and holds enough to reproduce it, and `save`."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from glass_core.jsonsafe import dumps
from glass_core.presets import Preset
from glass_core.records import GenerationRecord

_LIBRARIES = ("torch", "open_clip_torch", "pymoo", "transformers", "pytorch-pretrained-biggan", "numpy")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape a run's numbers."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def describe_target(target: str | Image.Image) -> dict[str, Any]:
    """A caption as itself; an image by size and the SHA-256 of its RGB PNG encoding."""
    if isinstance(target, str):
        return {"caption": target}
    buf = io.BytesIO()
    target.convert("RGB").save(buf, format="PNG")
    return {"image_sha256": hashlib.sha256(buf.getvalue()).hexdigest(), "image_size": list(target.size)}


@dataclass
class RunCard:
    """Collects a run's records into a reproducible summary."""

    preset: Preset
    target: dict[str, Any]
    device: str
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    history: list[dict[str, Any]] = field(default_factory=list)
    last: GenerationRecord | None = None

    def add(self, record: GenerationRecord) -> None:
        """Log one generation's scores."""
        self.last = record
        row = {
            "generation": record.generation, "similarity": round(record.similarity, 6),
            "best_similarity": round(record.best_similarity, 6), "mean_similarity": round(record.mean_similarity, 6),
            "evaluations": record.evaluations, "elapsed_s": round(record.elapsed, 3),
        }
        if record.realism is not None:
            row["realism"] = round(record.realism, 6)
        if isinstance(record.output, str):  # image → text: the caption's history (its timelapse)
            row["caption"] = record.output
        self.history.append(row)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-able data."""
        last = self.last
        result: dict[str, Any] = {}
        if last is not None:
            result = {
                "generation": last.generation, "similarity": last.similarity, "realism": last.realism,
                "genome": last.genome.tolist(), "notes": list(last.notes),
            }
            if isinstance(last.output, str):
                result["caption"] = last.output
            if last.front is not None:
                result["front"] = [{"similarity": p.similarity, "realism": p.realism, "genome": p.genome.tolist()} for p in last.front]
        return {
            "glass_run_card": 1, "started": self.started, "preset": self.preset.to_dict(),
            "operators": self.preset.operators.name,  # which set ran: "paper", "glass" or "custom"
            "seed": self.preset.seed, "target": self.target, "device": self.device,
            "libraries": library_versions(), "result": result, "history": self.history,
        }


def save(card: RunCard, folder: Path, *, stem: str | None = None) -> list[Path]:
    """Write the run's result and its card into `folder` (created if needed); the paths, result first.

    The result is `result.png` (an image) or `caption.txt` (a caption) and the card `run.json`;
    with `stem`, `<stem>.png` or `<stem>.txt` and `<stem>.json`. The card names its result file
    (`result.file`, and `result.image` for a picture). A card with no generation yet writes the card alone.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = card.to_dict()
    written: list[Path] = []
    output = card.last.output if card.last is not None else None
    if isinstance(output, str):
        result = folder / (f"{stem}.txt" if stem else "caption.txt")
        result.write_text(output + "\n", encoding="utf-8")
    elif output is not None:
        result = folder / (f"{stem}.png" if stem else "result.png")
        output.save(result, format="PNG")
        data["result"]["image"] = result.name
    if output is not None:
        data["result"]["file"] = result.name
        written.append(result)
    written.append(folder / (f"{stem}.json" if stem else "run.json"))
    written[-1].write_text(dumps(data, indent=1), encoding="utf-8")  # strict JSON: NaN and ±inf as null
    return written
