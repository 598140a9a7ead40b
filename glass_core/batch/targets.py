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
from glass_core.values import preset_fields, whole

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
    digest: str | None = None  # SHA-256 of those bytes, kept once the bytes are dropped
    unread: str | None = None  # why with_data could not read the picture (said when the target is searched)

    def with_data(self) -> BatchTarget:
        """A copy carrying its image file's bytes (read bounded, once) and their digest, or the reason it cannot.

        The plain loop and the Ray workers search these bytes, so the key and the search see the same picture.
        """
        if self.image is None or self.data is not None or self.error or self.unread:
            return self
        from glass_core.images import read_bounded

        try:
            data = read_bounded(self.image)
        except BadInputError as err:
            return dataclasses.replace(self, unread=str(err))
        return dataclasses.replace(self, data=data, digest=hashlib.sha256(data).hexdigest())

    def describe(self) -> dict[str, Any]:
        """The target as the index records it: {"caption": …} or {"image": path}."""
        return {"caption": self.caption} if self.image is None else {"image": str(self.image)}

    def stem(self) -> str:
        """A stable file name: the index and a slug of the caption or image name, e.g. 0003-a-red-3-on-blue."""
        text = self.caption if self.image is None else self.image.stem
        slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:32].strip("-")
        return f"{self.index:04d}-{slug or 'target'}"

    def key(self, preset_name: str, overrides: dict[str, Any]) -> str:
        """Identity of a run: the target (an image by its bytes' digest), seed, preset and settings, hashed.

        An image is identified only once with_data has read it (None before: never ok, so never skipped).
        """
        ident: dict[str, Any] = self.describe()
        if self.image is not None:
            ident["sha256"] = self.digest or (hashlib.sha256(self.data).hexdigest() if self.data else None)
        settings = {**overrides, **self.settings, "seed": self.seed}
        blob = json.dumps({"target": ident, "preset": preset_name, "settings": settings}, sort_keys=True,
                          default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


def read_targets(source: Path, base_seed: int = 0) -> list[BatchTarget]:
    """Targets from a captions file, an images folder or a .jsonl file; seed = its own, else base_seed + index."""
    source = Path(source).resolve()  # image paths are kept absolute: the index and report work from anywhere
    if source.is_dir():
        # Every entry named as a picture but a folder is a target: a FIFO or a device is refused when
        # reached (glass_core.images.read_bounded), not silently left out.
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
        if not files:
            raise BadInputError(f"{source}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder.")
        return [BatchTarget(i, image=p, seed=base_seed + i) for i, p in enumerate(files)]
    if not source.is_file():
        raise BadInputError(f"{source}: no such file or folder of targets.")
    try:
        # utf-8-sig: a byte-order mark that some editors write is not part of the first caption
        lines = [ln.strip() for ln in source.read_text(encoding="utf-8-sig").splitlines()]
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
    for name in ("caption", "image"):  # null is no value, never the text "None"
        if name in data and not isinstance(data[name], str):
            target.caption = line[:60]
            target.error = f'Line {index + 1}: "{name}" must be text, got {json.dumps(data[name])}.'
            return target
    if "image" in data:
        target.image = base / data.pop("image")  # relative to the .jsonl file; absolute stays
    else:
        target.caption = data.pop("caption")
    try:
        target.seed = whole(data.pop("seed", target.seed), "seed")
        target.settings = preset_fields(data)
    except BadInputError as err:
        target.error, target.settings = f"Line {index + 1}: {err}", data
        return target
    fixed = sorted(PIPELINE_FIELDS & set(data))
    if fixed:
        target.error = f"{', '.join(fixed)} cannot change within a batch (one set of models): use another batch."
    return target
