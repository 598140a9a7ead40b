"""Batch search: many targets through one Pipeline, each result saved atomically, resumable from index.jsonl.

The per-target work is two functions shared by the plain loop and the Ray workers (glass_core.remote):
`search_target` (runs on whichever process holds the models, returns an Outcome) and `write_outcome`
(runs on the driver: result + run card into the folder, then one index line).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from glass_core.batch.index import INDEX, append_line, done_keys
from glass_core.batch.lock import folder_lock
from glass_core.batch.targets import BatchTarget
from glass_core.errors import BadInputError, GlassError

if TYPE_CHECKING:
    from glass_core.pipeline import Pipeline
    from glass_core.presets import Preset
    from glass_core.runcard import RunCard



@dataclass
class Outcome:
    """What searching one target gave: its run card, or the one-line reason it failed."""

    target: BatchTarget
    key: str
    card: RunCard | None
    error: str | None
    seconds: float
    timelapse: bytes | None = None  # the animation's file (glass_core.timelapse), when asked for


@dataclass
class BatchSummary:
    """How a batch run went: targets in all, skipped as already done, run now, failed now."""

    total: int
    skipped: int
    ran: int
    failed: int


def _goal(task: str, target: BatchTarget) -> Any:
    """The search target (caption or RGB image) for this preset's task, or one clear BadInputError."""
    from glass_core.images import open_image

    if task == "text2image":
        if target.image is not None:
            raise BadInputError("This preset draws pictures from captions, and this target is an image.")
        if not (target.caption or "").strip():
            raise BadInputError("The caption is empty.")
        return target.caption
    if target.image is None:
        raise BadInputError("This preset captions images, and this target is a caption.")
    if target.unread:  # BatchTarget.with_data could not read it
        raise BadInputError(target.unread)
    if target.data is not None:  # read once, bounded, by the driver (BatchTarget.with_data)
        return open_image(target.data)
    return open_image(target.image)  # glass_core.images.read_bounded: a regular file of at most 20 MB


def search_target(pipe: Pipeline, target: BatchTarget, overrides: dict[str, Any], device: str,
                  timelapse: bool = False) -> Outcome:
    """Search one target to its last generation; a refused or failing target gives an Outcome with its error.

    With `timelapse`, the Outcome also carries the run's timelapse (pictures only), encoded where the search ran.
    """
    from glass_core.runcard import RunCard, describe_target
    from glass_core.timelapse import Timelapse

    start = time.perf_counter()
    key = target.key(pipe.preset.name, overrides)
    lapse = Timelapse() if timelapse else None
    try:
        if target.error:
            raise BadInputError(target.error)
        goal = _goal(pipe.preset.task, target)
        settings = {**overrides, **target.settings, "seed": target.seed}
        card = RunCard(pipe.preset.replace(**settings), describe_target(goal), device=device)
        if target.image is not None:
            card.target["path"] = str(target.image)
        records = pipe.search(goal, **settings)
        try:
            for record in records:
                card.add(record)
                if lapse is not None:
                    lapse.add(record)
        finally:
            records.close()
    except GlassError as err:
        card, error = None, str(err)
    except Exception as err:  # noqa: BLE001 - one target's failure must not end the other targets
        card, error = None, f"{type(err).__name__}: {err}"
    else:
        error = None
    # The picture's bytes are not sent back (a Ray worker's outcome travels to the driver).
    return Outcome(dataclasses.replace(target, data=None), key, card, error, time.perf_counter() - start,
                   lapse.encode() if lapse is not None and card is not None else None)


def write_outcome(outcome: Outcome, out_dir: Path, preset: Preset,
                  overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save the result and run card (each file atomically), then append the index line; return it.

    The files are named after the target and the start of its run key (e.g. 0003-a-red-3-9f2c01ab.png):
    a rerun with other settings writes beside the earlier results, never over them.
    """
    t = outcome.target
    row: dict[str, Any] = {"index": t.index, "key": outcome.key, "target": t.describe(), "preset": preset.name,
                           "task": preset.task, "seed": t.seed, "overrides": overrides or {},
                           "settings": t.settings, "seconds": round(outcome.seconds, 3)}
    if outcome.card is None or outcome.card.last is None:
        row.update(status="error", message=outcome.error or "The search gave no result.")
    else:
        last = outcome.card.last
        files = save_atomic(outcome.card, out_dir, f"{t.stem()}-{outcome.key[:8]}")
        row.update(status="ok", similarity=last.similarity, evaluations=last.evaluations, files=files)
        if outcome.timelapse is not None:
            row["timelapse"] = save_timelapse(outcome.timelapse, out_dir, f"{t.stem()}-{outcome.key[:8]}")
        if last.realism is not None:  # the second objective: the discriminator's, or GPT-2's fluency
            row["realism" if preset.task == "text2image" else "fluency"] = last.realism
        if isinstance(last.output, str):
            row["caption"] = last.output
        if last.notes:
            row["notes"] = list(last.notes)
    append_line(out_dir / INDEX, row)
    return row


def save_atomic(card: RunCard, out_dir: Path, stem: str) -> list[str]:
    """runcard.save into a scratch folder, then each file moved into place with os.replace; the names."""
    from glass_core.runcard import save

    scratch = out_dir / f".tmp-{stem}"
    shutil.rmtree(scratch, ignore_errors=True)  # left by a crash in the middle of an earlier save
    paths = save(card, scratch, stem=stem)
    for path in paths:  # result first, run card last
        os.replace(path, out_dir / path.name)
    scratch.rmdir()
    return [p.name for p in paths]


def save_timelapse(data: bytes, out_dir: Path, stem: str) -> str:
    """Write a target's timelapse beside its result, atomically; its file name."""
    from glass_core.timelapse import suffix

    path = out_dir / f"{stem}-timelapse{suffix()}"
    scratch = out_dir / f".tmp-{path.name}"
    scratch.write_bytes(data)
    os.replace(scratch, path)
    return path.name


Searcher = Callable[[Iterable[BatchTarget]], Iterator[Outcome]]


def local_searcher(pipe: Pipeline, overrides: dict[str, Any], device: str, timelapse: bool = False) -> Searcher:
    """Targets searched one after the other in this process, with `pipe` (and their timelapses, if asked)."""
    asked = {"timelapse": True} if timelapse else {}  # the plain call unless asked (tests wrap search_target)

    def search(todo: Iterable[BatchTarget]) -> Iterator[Outcome]:
        for target in todo:
            yield search_target(pipe, target, overrides, device, **asked)

    return search


def run_batch(targets: list[BatchTarget], preset: Preset, out_dir: Path, overrides: dict[str, Any],
              searcher: Searcher) -> BatchSummary:
    """Search every target not already ok in out_dir's index; write results as they arrive, then the report.

    `searcher` hands back outcomes for an iterable of targets, in any order: `local_searcher`, or
    glass_core.remote's pool of workers.
    """
    from tqdm import tqdm

    from glass_core.batch.report import write_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir):  # one process writes a folder at a time
        done = done_keys(out_dir)
        summary = BatchSummary(len(targets), 0, 0, 0)
        bar = tqdm(total=len(targets), unit="target", desc=preset.name)

        def todo() -> Iterator[BatchTarget]:
            """The targets not done yet; each picture is read (bounded, once) only when its turn comes."""
            for target in targets:
                target = target.with_data()
                if target.key(preset.name, overrides) in done:
                    summary.skipped += 1
                    bar.update(1)
                    continue
                yield target

        try:
            for outcome in searcher(todo()):
                row = write_outcome(outcome, out_dir, preset, overrides)
                summary.ran += 1
                summary.failed += row["status"] != "ok"
                bar.update(1)
                bar.set_postfix(failed=summary.failed)
        finally:
            bar.close()
            write_report(out_dir)
    return summary
