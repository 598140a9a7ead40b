"""What the page accepts: numbers brought into range, a caption, an image file read safely."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from glass_core import targets
from glass_core.errors import BadInputError
from glass_core.images import open_image
from glass_core.prompts import check_weight
from glass_core.presets import PRESETS, Preset

# A shared demo machine: bounds that keep one visitor's run from taking the queue for hours.
GENERATIONS = (1, 1000)
POPULATION = (2, 256)
SEED = (0, 2**31 - 1)


@dataclass
class Settings:
    """The preset overrides of one run, and notes about anything that was changed."""

    overrides: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _shown(value: Any, limit: int = 40) -> str:
    """`value` as a message quotes it: its repr, the middle elided when long (10**400 has 401 digits)."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr fails past 4300 digits
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 12]}…{text[-8:]}"


def _whole(value: Any, name: str) -> int:
    """A whole number from a widget value, or a clear refusal."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise BadInputError(f"{name} needs a number.")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range, as JSON can carry it (10**400)
        number = math.inf
    except (TypeError, ValueError):
        raise BadInputError(f"{name} must be a number, got {_shown(value)}.") from None
    if not math.isfinite(number):
        raise BadInputError(f"{name} must be a finite number, got {_shown(value)}.")
    return int(round(number))


def _clamp(value: int, bounds: tuple[int, int], name: str, notes: list[str]) -> int:
    """Bring a number into range, saying so when it had to move."""
    lo, hi = bounds
    out = min(max(value, lo), hi)
    if out != value:
        notes.append(f"{name} {value} is outside {lo}–{hi}; using {out}.")
    return out


_YES = {"true", "yes", "on", "1"}
_NO = {"false", "no", "off", "0", ""}


def flag(value: Any, name: str) -> bool:
    """A checkbox value: a bool, or 'true'/'false' (and yes/no, on/off, 1/0) as an API caller may send it."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise BadInputError(f"{name} must be true or false, got {value!r}.")


def has_discriminator(preset: Preset) -> bool:
    """Whether the preset's generator, as configured, has a second objective (some preset of it uses one).

    The arguments count: GPT-2 scores fluency only when built with fluency=True.
    """
    return preset.use_discriminator or any(
        p.use_discriminator and p.generator == preset.generator and p.generator_args == preset.generator_args
        for p in PRESETS.values())


def settings(preset: Preset, generations: Any, population: Any, seed: Any, use_discriminator: Any) -> Settings:
    """Overrides for `preset` from the widgets, clamped into the demo's bounds."""
    notes: list[str] = []
    overrides: dict[str, Any] = {
        "generations": _clamp(_whole(generations, "Generations"), GENERATIONS, "Generations", notes),
        "pop_size": _clamp(_whole(population, "Population"), POPULATION, "Population", notes),
        "seed": _clamp(_whole(seed, "Seed"), SEED, "Seed", notes),
    }
    use_d = flag(use_discriminator, "The discriminator flag (use_discriminator)")
    if use_d and not has_discriminator(preset):
        notes.append(f"{preset.name} has no second objective; searching on similarity alone.")
        use_d = False
    overrides["use_discriminator"] = use_d
    return Settings(overrides, notes)


def caption(text: Any) -> str:
    """The caption to search for, or a clear refusal when there is none."""
    if not isinstance(text, str) or not text.strip():
        raise BadInputError("Please enter a caption: it is empty.")
    return " ".join(text.split())


def image(upload: Any) -> Image.Image:
    """An uploaded file (a path, as gradio hands it over) read as RGB, or a clear refusal."""
    if isinstance(upload, dict):  # a FileData-like dict, as an API caller may send it
        upload = upload.get("path")
    if upload is None or (isinstance(upload, str) and not upload.strip()):
        raise BadInputError("Please upload an image to caption.")
    if isinstance(upload, (str, Path)) and not Path(upload).is_file():
        raise BadInputError("The uploaded file could not be found; please upload it again.")
    return open_image(upload)


def weight(value: Any, name: str = "The picture's weight") -> float:
    """A weight from a widget (a number, or text as an API caller may send it), or a clear refusal."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise BadInputError(f"{name} needs a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInputError(f"{name} must be a number, got {value!r}.") from None
    return check_weight(number, f"the picture:{value}")


def picture_target(text: Any, upload: Any, picture_weight: Any) -> str | list:
    """The text → image target: the caption alone, or with a picture (glass_core.targets).

    The picture is optional, and read by the same rules as Image → Text's; the caption may then be empty.
    """
    if upload is None or upload == "" or (isinstance(upload, dict) and not upload.get("path")):
        return caption(text)
    return targets.picture_target(text if isinstance(text, str) else "", image(upload), weight(picture_weight))
