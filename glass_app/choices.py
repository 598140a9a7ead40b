"""The preset dropdowns: labels with weight status, the preset a tab opens on, and widget defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from glass_app import inputs
from glass_core.availability import describe, is_embedded, preset_status
from glass_core.generators import KINDS
from glass_core.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset


# Example captions per kind of preset: the paper's text-to-image prompts, and the captions the
# embedded mini set was made for (coloured digits on coloured grounds).
EXAMPLES = {
    "paper": ["the church of the holy spirit", "a dog in the woods", "a man with a beard",
              "the face of a man with brown eyes and stubble beard"],
    "mini": ["a red seven on a blue background", "a yellow three on a black background",
             "the number 4 in white on magenta"],
}


def example_kind(name: str) -> str:
    """Which examples suit a preset: 'mini' for the embedded set, else 'paper'."""
    try:
        return "mini" if is_embedded(get_preset(name)) else "paper"
    except Exception:  # an unknown name from a stale page
        return "paper"


def example_captions(name: str) -> list[str]:
    """The example captions shown with a preset."""
    return EXAMPLES[example_kind(name)]


def examples_shown(name: str) -> tuple[Any, ...]:
    """Visibility of each set of examples (in EXAMPLES order): only the preset's own shows."""
    kind = example_kind(name)
    return tuple(gr.update(visible=k == kind) for k in EXAMPLES)


def task_presets(task: str) -> list[Preset]:
    """The registered presets of one task, in registry order."""
    return [p for p in PRESETS.values() if p.task == task]


def choices(task: str) -> list[tuple[str, str]]:
    """(label, name) pairs: each preset with its weight status."""
    return [(f"{p.name} — {describe(preset_status(p))}", p.name) for p in task_presets(task)]


@dataclass(frozen=True)
class Opening:
    """The preset a tab opens on and why."""

    name: str
    note: str


def opening(task: str) -> Opening:
    """A paper preset whose weights are here; else the embedded default, saying so."""
    presets = task_presets(task)
    present = [p for p in presets if preset_status(p) == "present"]
    big = [p for p in present if not is_embedded(p)]  # the paper's models, as opposed to the mini set
    if big:
        return Opening(big[0].name, "")
    default = DEFAULT_PRESET.get(task)
    names = [p.name for p in presets]
    if default not in {p.name for p in present}:
        default = present[0].name if present else (default if default in names else names[0])
    return Opening(default, "The paper's model weights are not on this machine, so this tab opens on"
                            f" the embedded mini set ({default}). Pick a paper preset to use its weights"
                            " (downloaded on first use when the machine is online).")


def preset_note(name: str) -> str:
    """One line about a preset: what it is and the state of its weights."""
    preset = get_preset(name)
    status = preset_status(preset)
    line = f"**{preset.name}**: {preset.description or preset.generator} · {preset.algorithm.upper()} · {describe(status)}"
    if status == "missing":
        line += " — a search will say which files to fetch."
    elif status == "downloadable":
        line += " — the first search downloads them (it can take a while)."
    return line


def preset_widgets(name: str) -> tuple[Any, Any, Any, str]:
    """Generations, population and the discriminator checkbox set to a preset's own values."""
    try:
        preset = get_preset(name)
    except Exception:  # an unknown name from a stale page: leave the widgets alone
        return gr.update(), gr.update(), gr.update(), ""
    lo_g, hi_g = inputs.GENERATIONS
    lo_p, hi_p = inputs.POPULATION
    with_d = inputs.has_discriminator(preset)
    return (gr.update(value=min(max(preset.generations, lo_g), hi_g)),
            gr.update(value=min(max(preset.pop_size, lo_p), hi_p)),
            gr.update(value=preset.use_discriminator and with_d, visible=with_d, label=second_label(preset)),
            preset_note(name))


def second_label(preset: Preset) -> str:
    """The second-objective checkbox's words for a preset: its kind's second objective, as data."""
    kind = KINDS.get(preset.generator)
    second = kind.second.label if kind else "realism"
    if second == "realism":
        return "Use the discriminator (NSGA-II: similarity and realism)"
    return f"Use {second} as a second objective (NSGA-II)"
