"""glass: CLIP-guided generative latent space search (CLIP-GLaSS, Galatolo et al., 2021).

Importing glass_core loads no model and touches no network; `Pipeline.from_preset` does.
"""

from glass_core.errors import BadInputError, GlassError, MissingWeightsError, UnsafeFileError
from glass_core.presets import DEFAULT_PRESET, PRESETS, Operators, Preset, get_preset

__all__ = [
    "BadInputError", "DEFAULT_PRESET", "GlassError", "MissingWeightsError", "Operators", "PRESETS",
    "Preset", "UnsafeFileError", "get_preset",
]
__version__ = "0.1.0"
