"""What one browser session keeps (gr.State) and what each generation sends to the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from glass_core.records import FrontPoint, GenerationRecord
from glass_core.runcard import RunCard
from glass_core.timelapse import Timelapse


@dataclass
class Run:
    """One session's search: enough to redraw it, pick a front point and save the result."""

    preset: str
    card: RunCard
    front: list[FrontPoint] | None = None
    notes: list[str] = field(default_factory=list)
    timelapse: Timelapse = field(default_factory=Timelapse)  # the shown picture of each generation, sampled


@dataclass
class Control:
    """One session's search switch; gr.State hands the same object to Run and Stop."""

    running: bool = False
    stop: bool = False
    # Run pressed, the search not started yet (it waits in the queue); Stop meanwhile cancels it.
    waiting: bool = False
    cancel: bool = False
    session: str | None = None  # the browser session's id: where its download folders go (glass_app.downloads)
    # The latest generation of the session's latest search, and its preset: where a chat turn continues from.
    record: GenerationRecord | None = None
    preset: str | None = None


class ImageUpdate(NamedTuple):
    """What each generation of a text-to-image search sends to the page, in the order of its outputs."""

    image: str  # file of the best picture, enlarged for display
    progress: str  # 'Generation k of N · …'
    plot: pd.DataFrame  # best and mean similarity per generation
    front_row: dict  # gr.update(visible=…): the Pareto front's row shows for two-objective runs
    front: pd.DataFrame  # the Pareto front's points
    gallery: list[tuple[str, str]]  # (picture file, similarity) of the top individuals
    classes: str  # the classes switched on in the best genome
    notes: str  # the info box
    files: list[str] | None  # result and run card, on the last update only
    run: Run  # the session's state


class TextUpdate(NamedTuple):
    """What each generation of an image-to-text search sends to the page, in the order of its outputs."""

    caption: str
    progress: str
    plot: pd.DataFrame
    front_row: dict
    front: pd.DataFrame
    table: pd.DataFrame  # similarity and caption of the top individuals
    notes: str
    files: list[str] | None
    run: Run


# Outputs that live only on the page: a Row's visibility and the session's State. An API caller
# (gradio_client) receives the other fields, in the same order.
PAGE_ONLY = ("front_row", "run")


def api_fields(update: type[tuple]) -> tuple[str, ...]:
    """The names of what an endpoint returns to an API caller, in order, for an update type."""
    return tuple(f for f in update._fields if f not in PAGE_ONLY)
