"""What a batch searches for: the targets read from a captions file, a folder of images or a .jsonl file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glass_core.errors import BadInputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# Fields that would need another Pipeline (other networks): fixed for the whole batch.
PIPELINE_FIELDS = {"name", "task", "generator", "generator_args", "clip", "compile"}


@dataclass
class BatchTarget:
    """One target of a batch: a caption or an image file, its seed and its own preset fields."""

    index: int
    caption: str | None = None
    image: Path | None = None
    seed: int = 0
    settings: dict[str, Any] = field(default_factory=dict)  # preset fields for this target only
    error: str | None = None  # why this target cannot run (e.g. a bad line), found while reading
    data: bytes | None = field(default=None, repr=False)  # the image file's bytes, sent to remote workers

    def with_data(self) -> BatchTarget:
        """A copy carrying its image file's bytes, for a worker that may not see this file system."""
        if self.image is None or not self.image.is_file():
            return self
        try:
            return dataclasses.replace(self, data=self.image.read_bytes())
        except OSError:
            return self  # unreadable: the worker reports it, as the plain loop does

    def describe(self) -> dict[str, Any]:
        """The target as the index records it: {"caption": …} or {"image": path}."""
        return {"caption": self.caption} if self.image is None else {"image": str(self.image)}

    def stem(self) -> str:
        """A stable file name: the index and a slug of the caption or image name, e.g. 0003-a-red-3-on-blue."""
        text = self.caption if self.image is None else self.image.stem
        slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:32].strip("-")
        return f"{self.index:04d}-{slug or 'target'}"

    def key(self, preset_name: str, overrides: dict[str, Any]) -> str:
        """Identity of a run: the target (an image by its bytes), seed, preset and settings, hashed."""
        ident: dict[str, Any] = self.describe()
        if self.image is not None:
            try:
                data = self.data if self.data is not None else self.image.read_bytes()
                ident["sha256"] = hashlib.sha256(data).hexdigest()
            except OSError:
                ident["sha256"] = None  # missing or unreadable: never ok, so never skipped anyway
        settings = {**overrides, **self.settings, "seed": self.seed}
        blob = json.dumps({"target": ident, "preset": preset_name, "settings": settings}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


def read_targets(source: Path, base_seed: int = 0) -> list[BatchTarget]:
    """Targets from a captions file, an images folder or a .jsonl file; seed = its own, else base_seed + index."""
    source = Path(source).resolve()  # image paths are kept absolute: the index and report work from anywhere
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise BadInputError(f"{source}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder.")
        return [BatchTarget(i, image=p, seed=base_seed + i) for i, p in enumerate(files)]
    if not source.is_file():
        raise BadInputError(f"{source}: no such file or folder of targets.")
    try:
        lines = [ln.strip() for ln in source.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        raise BadInputError(f"{source}: cannot read the targets file ({err}).") from err
    lines = [ln for ln in lines if ln]
    if not lines:
        raise BadInputError(f"{source}: no targets in this file.")
    if source.suffix.lower() == ".jsonl":
        return [_from_json(i, ln, source.parent, base_seed) for i, ln in enumerate(lines)]
    return [BatchTarget(i, caption=ln, seed=base_seed + i) for i, ln in enumerate(lines)]


def _from_json(index: int, line: str, base: Path, base_seed: int) -> BatchTarget:
    """One .jsonl line; a line that is not a valid target becomes a target carrying its error."""
    target = BatchTarget(index, seed=base_seed + index)
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        target.caption, target.error = line[:60], f"Line {index + 1} is not JSON ({err.msg})."
        return target
    if not isinstance(data, dict) or ("caption" in data) == ("image" in data):
        target.caption, target.error = line[:60], f'Line {index + 1} needs exactly one of "caption" or "image".'
        return target
    if "image" in data:
        target.image = base / str(data.pop("image"))  # relative to the .jsonl file; absolute stays
    else:
        target.caption = str(data.pop("caption"))
    seed = data.pop("seed", target.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        target.error = f"The seed must be an integer, got {seed!r}."
    else:
        target.seed = seed
    fixed = sorted(PIPELINE_FIELDS & set(data))
    if fixed and target.error is None:
        target.error = f"{', '.join(fixed)} cannot change within a batch (one set of models): use another batch."
    target.settings = data
    return target
