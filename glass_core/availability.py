"""Whether a preset's weights are on disk, can be downloaded, or are missing offline — without loading them.

Each component says where its own loader would look (`Kind.locate`, `scorer.locate_clip`): a
preset is `present` when all its components are, `missing` when one of them is neither on disk
nor downloadable (offline mode, or a model with no download source, like the embedded mini set),
and `downloadable` otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from glass_core.generators import KINDS, Location
from glass_core.presets import Preset
from glass_core.scorer import CLIP_MODELS, locate_clip
from glass_core.weights import default_weights_root, is_offline

Status = Literal["present", "downloadable", "missing"]
_RANK: dict[Status, int] = {"present": 0, "downloadable": 1, "missing": 2}


def _status(locations: list[Location]) -> Status:
    """The worst status over a preset's components."""
    offline = is_offline()
    worst: Status = "present"
    for loc in locations:
        status: Status = "present" if loc.on_disk else ("downloadable" if loc.downloadable and not offline else "missing")
        worst = max(worst, status, key=_RANK.__getitem__)
    return worst


def preset_status(preset: Preset, weights_root: str | Path | None = None) -> Status:
    """present / downloadable / missing for a preset's generator and CLIP, under the weights root."""
    root = Path(weights_root) if weights_root is not None else default_weights_root()
    kind = KINDS.get(preset.generator)
    generator = kind.locate(root, **preset.generator_args) if kind else Location(False, False, root)
    return _status([generator, locate_clip(preset.clip, root)])


def is_embedded(preset: Preset) -> bool:
    """True when every model of the preset ships with the repository (the mini set): no download."""
    kind, clip = KINDS.get(preset.generator), CLIP_MODELS.get(preset.clip)
    return bool(kind and kind.embedded and clip and clip.embedded)


def describe(status: Status) -> str:
    """Words for a status, as shown next to a preset's name."""
    return {"present": "weights present", "downloadable": "downloadable",
            "missing": "missing offline"}[status]
