"""The page's event handlers: each maps widget values to one glass_core search and its records to outputs.

Handlers never load a model at import: the first search of a preset loads it through
Pipeline.from_preset, whose process-wide cache every later session shares read-only.
Everything about one visitor's run lives in that session's gr.State (a `Run`).
"""

from __future__ import annotations

import logging
import os
from contextlib import closing
from typing import Any, Callable, Generator, Iterator

import gradio as gr
import numpy as np
import pandas as pd
import torch
from PIL import Image

from glass_app import download_view, downloads, inputs, remote, views, zerogpu
from glass_app.state import PAGE_ONLY, Control, ImageUpdate, Run, TextUpdate, api_fields  # noqa: F401 (the page's API)
from glass_core.availability import preset_status
from glass_core.chunks import chunked_search
from glass_core.downloads import DownloadStopped
from glass_core.errors import GlassError
from glass_core.generators import get_kind
from glass_core.pipeline import Pipeline
from glass_core.presets import get_preset
from glass_core.records import GenerationRecord
from glass_core.runcard import RunCard, describe_target, save
from glass_core.targets import describe_parts
from glass_core.weights import relative_to_weights

TOP_K = 6  # individuals in the gallery / table of the current best
log = logging.getLogger(__name__)


def device() -> str:
    """$GLASS_DEVICE, else the GPU when there is one."""
    return os.environ.get("GLASS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def refuse(message: str, title: str = "Error") -> gr.Error:
    """The page's message for a refused input or a failure: one log line, no traceback from gradio.

    Failures that deserve a traceback log it themselves (log.exception) before calling this. The log
    keeps the server's paths; the page names files relative to the weights folder.
    """
    log.warning("refused: %s", " ".join(message.split()))
    return gr.Error(relative_to_weights(message), title=title, print_exception=False)


def pipeline(name: str) -> Pipeline:
    """The preset's shared pipeline (loaded on first use), or a clear message of what is missing."""
    try:
        return Pipeline.from_preset(get_preset(name), device=device())
    except DownloadStopped:  # Stop during the download: not a failure (glass_app.download_view)
        raise
    except GlassError as err:
        raise refuse(str(err), title="Cannot load this preset") from err
    except Exception as err:  # a broken install or file: say so on the page, keep the trace in the log
        log.exception("loading preset %s failed", name)
        raise refuse(f"{name} could not be loaded ({type(err).__name__}: {err}).",
                     title="Cannot load this preset") from err


class Renderer:
    """Renders top individuals, remembering recent ones so an unchanged gallery costs nothing."""

    def __init__(self, pipe: Pipeline, limit: int = 64, target: Any = None):
        # The search's target: a diffusion generator draws with the caption as its prompt.
        self.pipe, self.limit, self.cache, self.target = pipe, limit, {}, target

    def __call__(self, genomes: np.ndarray) -> list[Any]:
        """Outputs for genome rows, rendering only those not seen lately."""
        keys = [g.tobytes() for g in genomes]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        if todo:
            rows = genomes[todo]
            shown = self.pipe.show(rows) if self.target is None else self.pipe.show(rows, self.target)
            for i, out in zip(todo, shown):
                self.cache[keys[i]] = out
        if len(self.cache) > self.limit:  # keep memory bounded over a long run
            self.cache = {k: self.cache[k] for k in keys}
        return [self.cache[k] for k in keys]


def _notes_text(notes: list[str]) -> str:
    """The info box: one line per note, or nothing."""
    return "\n".join(f"⚠ {n}" for n in notes)


def _prepare(task: str, preset: str, target_of: Callable[[], Any], numbers: tuple) -> tuple:
    """The preset, target and settings of a run, or one clear refusal; nothing is loaded yet."""
    try:
        spec = get_preset(preset)
        if spec.task != task:
            raise refuse(f"{preset} is a {spec.task} preset; pick one from this tab's list.")
        target = target_of()
        config = inputs.settings(spec, *numbers)
    except GlassError as err:
        raise refuse(str(err), title="Please check the input") from err
    for note in config.notes:
        gr.Warning(note)
    return spec, target, config


def _downloading(spec: Any) -> bool:
    """Whether the first search of this preset downloads its weights."""
    try:
        return preset_status(spec) == "downloadable"
    except Exception:  # a broken install (its generator module fails to import): loading says so on the page
        return False


def _stream(task: str, preset: str, target_of: Callable[[], Any], numbers: tuple, control: Control | None,
            initial: np.ndarray | None = None, describe: Callable[[Any], dict] = describe_target,
            ) -> Iterator[tuple[Pipeline, Run, GenerationRecord, Renderer, bool]]:
    """Validate, load, search (from `initial` genomes if given); yield each generation and whether it is the last."""
    control = control if control is not None else Control()
    control.waiting = control.cancel = False
    control.stop = False
    spec, target, config = _prepare(task, preset, target_of, numbers)
    pipe = yield from _load(preset, spec, control)  # in the app's process, even when a GPU worker searches
    if pipe is None:  # Stop during the download
        return
    try:
        records = _records(pipe, preset, target, initial, config.overrides)
    except GlassError as err:
        raise refuse(str(err), title="Please check the input") from err
    run = Run(preset, RunCard(spec.replace(**config.overrides), describe(target), device=device()),
              notes=list(config.notes))
    render = Renderer(pipe, target=target if task == "text2image" else None)  # a caption can be a prompt
    control.running = True
    try:
        for rec in records:
            if rec.generation == 1:
                for note in rec.notes:  # e.g. the caption was cut to CLIP's context
                    gr.Warning(note)
                run.notes += list(rec.notes)
            run.card.add(rec)
            run.timelapse.add(rec)
            run.front = rec.front
            control.record, control.preset = rec, preset
            # Stop pressed: this generation is the last one, and its update carries the files.
            final = control.stop or rec.generation == rec.generations
            yield pipe, run, rec, render, final
            if final:
                break
    except GlassError as err:
        raise refuse(str(err)) from err
    except Exception as err:  # never a bare crash on the page; the log keeps the trace
        log.exception("search with %s failed", preset)
        raise refuse(f"The search stopped on an error ({type(err).__name__}: {err}).") from err
    finally:
        # The end, Stop, an error, or gradio closing this generator (cancel, tab closed): the search stops here.
        control.running = False
        records.close()


def _records(pipe: Pipeline, preset: str, target: Any, initial: np.ndarray | None,
             overrides: dict[str, Any]) -> Iterator[GenerationRecord]:
    """The search's records: in this process, on a Ray cluster, or on a ZeroGPU Space as GPU calls that fit."""
    if remote.address():  # glass_app.remote: a worker of the cluster searches; records stream back
        pipe.preset.replace(**overrides)  # out-of-range settings are refused here, before any call
        return remote.records(pipe.preset, target, overrides, initial)
    run_chunk = zerogpu.runner(preset, device(), target, overrides)
    if run_chunk is None:
        return pipe.search(target, initial=initial, **overrides)
    spec = pipe.preset.replace(**overrides)  # out-of-range settings are refused here, before any call
    return chunked_search(run_chunk, spec.generations, zerogpu.CALL_SECONDS, spec.seed, initial=initial)


def _load(preset: str, spec: Any, control: Control) -> Generator[str, None, Pipeline | None]:
    """The preset's pipeline; when its weights download, a progress line per half second until they are
    here (None if Stop ended the download)."""
    if not _downloading(spec):
        return pipeline(preset)
    control.running = True  # Stop now stops the download
    try:
        return (yield from download_view.load_watched(preset, lambda: pipeline(preset), lambda: control.stop))
    finally:
        control.running = False


STOPPED_BEFORE = "Stopped before it started: Stop was pressed while the search waited in the queue."


def _cancelled_while_waiting(control: Control) -> bool:
    """Whether Stop came while this search waited in the queue (then it must not start); says so."""
    cancelled = control.waiting and control.cancel
    control.waiting = control.cancel = False
    if cancelled:
        gr.Info(STOPPED_BEFORE)
    return cancelled


def _unchanged(update: type[tuple], **fields: Any) -> tuple:
    """An update that changes only `fields` on the page (gr.skip() leaves the rest as it was)."""
    return update(**{name: fields.get(name, gr.skip()) for name in update._fields})


def _files(run: Run | None, control: Control | None) -> list[str] | None:
    """The result (PNG or caption text) and its run card JSON, written to a fresh folder of this event's own.

    Never one that another event may still be handing out: glass_app.downloads deletes a session's
    folders only once gradio has long since copied them, and all of them when the session ends.
    """
    if run is None or run.card.last is None:
        return None
    stem = f"glass-{run.preset}-seed{run.card.preset.seed}-gen{run.card.last.generation}"
    folder = downloads.new_folder(control.session if control is not None else None)
    files = [str(path) for path in save(run.card, folder, stem=stem)]
    if (lapse := run.timelapse.save(folder / f"{stem}-timelapse")) is not None:  # pictures only
        files.append(str(lapse))
    return files


def in_session(control: Control, request: gr.Request | None) -> Control:
    """The session's switch, told which browser session it belongs to (where its downloads go)."""
    session = getattr(request, "session_hash", None)
    if session is not None:
        control.session = session
    return control


def text_to_image(caption: str, preset: str, generations: float, population: float, seed: float,
                  use_discriminator: bool, control: Control | None = None, picture: str | None = None,
                  picture_weight: float = 1.0, request: gr.Request | None = None) -> Iterator[ImageUpdate]:
    """Search for an image that fits the caption, or a picture, or both; one update of every output per generation."""
    control = in_session(control if control is not None else Control(), request)
    if _cancelled_while_waiting(control):
        yield _unchanged(ImageUpdate, progress=STOPPED_BEFORE)
        return
    stream = _stream("text2image", preset, lambda: inputs.picture_target(caption, picture, picture_weight),
                     (generations, population, seed, use_discriminator), control, describe=describe_parts)
    yield from image_updates(stream, control)


def continue_text_to_image(target_of: Callable[[], Any], preset: str, numbers: tuple, control: Control,
                           initial: np.ndarray | None, describe: Callable[[Any], dict]) -> Iterator[ImageUpdate]:
    """text_to_image for a prepared target (e.g. weighted prompts), from `initial` genomes if given."""
    yield from image_updates(_stream("text2image", preset, target_of, numbers, control, initial, describe), control)


def image_updates(stream: Iterator[tuple], control: Control | None = None) -> Iterator[ImageUpdate]:
    """The text-to-image outputs of each generation of `stream`; closing this closes the search."""
    with closing(stream):
        for item in stream:
            if isinstance(item, str):  # the weights' download, before the first generation
                yield _unchanged(ImageUpdate, progress=item)
                continue
            pipe, run, rec, render, final = item
            kind = get_kind(run.card.preset.generator)
            imagenet, second = kind.class_names == "imagenet", kind.second.label  # realism, aesthetic score
            top = views.top_indices(rec, TOP_K)
            gallery = [(views.shown_file(img), f"{rec.similarities[i]:.4f}")
                       for i, img in zip(top, render(rec.population[top]))]
            yield ImageUpdate(
                image=views.shown_file(rec.output),
                progress=views.progress_line(rec, stopped=final, second=second),
                plot=views.similarity_frame(run.card.history), front_row=gr.update(visible=rec.front is not None),
                front=views.front_frame(rec.front), gallery=gallery,
                classes=views.class_line(pipe.generator, rec.genome, imagenet),
                notes=_notes_text(run.notes), files=_files(run, control) if final else None, run=run)


def distinct_outputs(rec: GenerationRecord, render: Callable[[np.ndarray], list[Any]], k: int) -> list[tuple[int, Any]]:
    """(index, output) of the k most similar individuals whose outputs differ (distinct genomes can
    decode to the same caption), rendering a few at a time."""
    order = views.top_indices(rec, len(rec.population))
    out: list[tuple[int, Any]] = []
    seen: set = set()
    for start in range(0, len(order), k):
        chunk = order[start:start + k]
        for i, shown in zip(chunk, render(rec.population[chunk])):
            if shown not in seen:
                seen.add(shown)
                out.append((i, shown))
                if len(out) == k:
                    return out
    return out


def image_to_text(image: str, preset: str, generations: float, population: float, seed: float,
                  use_discriminator: bool = False, control: Control | None = None,
                  request: gr.Request | None = None) -> Iterator[TextUpdate]:
    """Search for a caption that fits the uploaded image; one update per generation."""
    control = in_session(control if control is not None else Control(), request)
    if _cancelled_while_waiting(control):
        yield _unchanged(TextUpdate, progress=STOPPED_BEFORE)
        return
    stream = _stream("image2text", preset, lambda: inputs.image(image),
                     (generations, population, seed, use_discriminator), control)
    with closing(stream):
        for item in stream:
            if isinstance(item, str):  # the weights' download, before the first generation
                yield _unchanged(TextUpdate, progress=item)
                continue
            _pipe, run, rec, render, final = item
            top = distinct_outputs(rec, render, TOP_K)
            table = pd.DataFrame({"similarity": [round(float(rec.similarities[i]), 4) for i, _ in top],
                                  "caption": [caption for _, caption in top]})
            yield TextUpdate(
                caption=rec.output, progress=views.progress_line(rec, stopped=final, second="fluency"),
                plot=views.similarity_frame(run.card.history), front_row=gr.update(visible=rec.front is not None),
                front=views.front_frame(rec.front), table=table,
                notes=_notes_text(run.notes), files=_files(run, control) if final else None, run=run)


def mark_queued(control: Control | None) -> None:
    """Run pressed (no queue): the session's search is waiting to start, so a Stop now cancels it."""
    if control is not None:
        control.waiting, control.cancel = True, False


def request_stop(control: Control | None) -> None:
    """Stop: the session's search ends after the generation it is computing, keeping its result;
    a search still waiting in the queue will not start."""
    if control is not None and control.running:
        control.stop = True
    elif control is not None and control.waiting:
        control.cancel = True
        gr.Info("Stopped: the search waiting in the queue will not start.")
    else:
        gr.Info("No search is running.")


def preview_upload(upload: str | None) -> tuple[str | None, str]:
    """The uploaded picture as the search will read it, or why it cannot be read."""
    if upload is None:
        return None, ""
    try:
        picture = inputs.image(upload)
    except GlassError as err:
        gr.Warning(str(err))
        return None, _notes_text([str(err)])
    return views.shown_file(picture), ""


def save_result(run_state: Run | None, control: Control | None = None,
                request: gr.Request | None = None) -> list[str] | None:
    """Files for what the session's search has found so far (after Stop too)."""
    files = _files(run_state, in_session(control if control is not None else Control(), request))
    if files is None:
        gr.Warning("Nothing to save yet: run a search first.")
    return files


def choose_front_point(run_state: Run | None, evt: gr.SelectData) -> tuple[Any, str]:
    """Show the individual of the front point nearest a selection on the Pareto plot."""
    front = run_state.front if run_state is not None else None
    index = views.pick_front_point(front or [], evt.index if evt is not None else None)
    if index is None:
        return None, "Select a stretch of the front (drag across the plot) to see that individual."
    point = front[index]
    shown = pipeline(run_state.preset).show(point.genome, run_state.card.target.get("caption"))[0]
    second = get_kind(run_state.card.preset.generator).second.label  # realism, fluency, aesthetic score
    label = f"Front point: similarity {point.similarity:.4f}, {second} {point.realism:.3f}"
    return (views.shown_file(shown) if isinstance(shown, Image.Image) else shown), label
