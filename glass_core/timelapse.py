"""The search as a timelapse: the picture shown after each generation, as one animated WebP (or GIF).

Frames come from the records the search already yields (`record.output` is the rendered picture
it shows), so nothing is rendered twice. The file stays small whatever the run's length: frames are
scaled to at most `max_side` pixels, and at most `max_frames` are kept, spread evenly over the
generations (every k-th, k doubling whenever the frames would overflow), the last always among them.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, features

from glass_core.records import GenerationRecord

MAX_FRAMES = 60
MAX_SIDE = 256
FRAME_MS = 120  # each generation's picture
LAST_MS = 1500  # the result stays a while before the loop starts again


def fit(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """`image` scaled to at most `max_side` a side; a small one (the mini set's 32 px) enlarged by whole
    pixels, which keeps it sharp, as the page shows it."""
    image = image.convert("RGB")
    side = max(image.size)
    if side > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return image
    times = max_side // side
    if times > 1:
        return image.resize((image.width * times, image.height * times), Image.Resampling.NEAREST)
    return image


class Timelapse:
    """Collects the shown picture of each generation, keeping at most `max_frames` evenly spread ones."""

    def __init__(self, max_frames: int = MAX_FRAMES, max_side: int = MAX_SIDE):
        if max_frames < 2 or max_side < 1:
            raise ValueError("a timelapse needs at least 2 frames of at least 1 pixel")
        self.max_frames, self.max_side = max_frames, max_side
        self.stride = 1  # keep the generations 1, 1 + stride, 1 + 2·stride, …
        self.frames: list[tuple[int, Image.Image]] = []
        self.last: tuple[int, Image.Image] | None = None
        self._last_source: Image.Image | None = None

    def add(self, record: GenerationRecord) -> None:
        """Take one generation's picture (captions are skipped: the run card's history holds them)."""
        if not isinstance(record.output, Image.Image):
            return
        gen = record.generation
        if record.output is not self._last_source:  # an unchanged best is the same object: fit it once
            self._last_source = record.output
            self.last = (gen, fit(record.output, self.max_side))
        else:
            self.last = (gen, self.last[1])
        if (gen - 1) % self.stride == 0:
            self.frames.append(self.last)
        while sum(f[0] < gen for f in self.frames) > self.max_frames - 1:  # one place is the last generation's
            self.stride *= 2
            self.frames = [f for f in self.frames if (f[0] - 1) % self.stride == 0]

    def sequence(self) -> list[tuple[int, Image.Image]]:
        """(generation, frame) of the timelapse, in order, the last generation's included."""
        if self.last is None:
            return []
        kept = [f for f in self.frames if f[0] < self.last[0]]
        return [*kept, self.last]

    def encode(self) -> bytes | None:
        """The animation as file bytes (the format `suffix()` names); None with no frames."""
        frames = [image for _, image in self.sequence()]
        if not frames:
            return None
        webp = suffix() == ".webp"
        durations = [FRAME_MS] * (len(frames) - 1) + [LAST_MS]
        buffer = io.BytesIO()
        frames[0].save(buffer, format="WEBP" if webp else "GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0, **({"quality": 85} if webp else {}))
        return buffer.getvalue()

    def save(self, path: Path) -> Path | None:
        """Write the animation to `path` with the format's suffix (see `suffix`); None with no frames."""
        data = self.encode()
        if data is None:
            return None
        path = Path(path).with_suffix(suffix())
        path.write_bytes(data)
        return path


def suffix() -> str:
    """The timelapse's file type: animated WebP (small, full colour) when Pillow has libwebp, else GIF."""
    return ".webp" if features.check("webp") else ".gif"
