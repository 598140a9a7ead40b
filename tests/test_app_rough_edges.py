"""The app's rough edges (issue 17): each defect found by trying the app as a newcomer, pinned by a test."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

import gradio as gr
import pytest
from gradio_client.exceptions import AppError

from app_support import CAPTION, SearchSpy, app_presets, named, served  # noqa: F401  (fixtures)
from glass_app import choices, downloads, handlers, inputs, views
from glass_core.availability import is_embedded
from glass_core.pipeline import Pipeline
from glass_core.presets import PRESETS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_stop_while_queued_cancels_the_search_before_it_starts(app_presets, monkeypatch, capsys):
    spy = SearchSpy(monkeypatch)
    control = handlers.Control()
    handlers.mark_queued(control)  # Run pressed: the search waits in the queue
    handlers.request_stop(control)  # Stop pressed before it starts
    said = capsys.readouterr().out
    assert "No search is running" not in said and "will not start" in said
    (update,) = handlers.text_to_image(CAPTION, app_presets["text2image"], 500, 8, 0, False, control)
    assert "Stopped before it started" in update.progress and update.files == gr.skip()  # the rest unchanged
    assert spy.iterators == [] and not control.running
    assert "Stopped before it started" in capsys.readouterr().out
    handlers.mark_queued(control)
    handlers.request_stop(control)
    (update,) = handlers.image_to_text(str(EXAMPLES / "red-7-on-blue.png"), app_presets["image2text"], 500, 8, 0,
                                       False, control)
    assert "Stopped before it started" in update.progress and spy.iterators == []
    # The next Run is not cancelled by that Stop.
    handlers.mark_queued(control)
    assert len(list(handlers.text_to_image(CAPTION, app_presets["text2image"], 2, 8, 0, False, control))) == 2


def test_run_marks_the_search_waiting_before_it_is_queued(app_presets):
    import app

    fns = list(app.create_demo().fns.values())
    for search in ("text_to_image", "image_to_text"):
        (fn,) = [f for f in fns if f.api_name == search]
        marks = [f for f in fns if f.name == "mark_queued" and set(f.targets) == set(fn.targets)]
        assert len(marks) == 1 and not marks[0].queue and fns.index(marks[0]) < fns.index(fn), search
        stop = next(f for f in fns if f.name == "request_stop" and f.inputs == marks[0].inputs)
        # Stop reaches the switch at once, even while searches fill their slots, and its message shows.
        assert stop.queue and stop.concurrency_limit is None


def test_a_session_keeps_its_recent_download_folders_and_drops_older_ones(app_presets, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    control = handlers.Control(session="s1")
    first = list(handlers.text_to_image(CAPTION, app_presets["text2image"], 2, 8, 0, False, control))[-1]
    second = list(handlers.text_to_image(CAPTION, app_presets["text2image"], 2, 8, 1, False, control))[-1]
    # Each event has its own folder, and a recent one is never deleted: gradio may still be copying it.
    assert all(Path(f).is_file() for f in first.files + second.files)
    assert len(list(downloads.session_root("s1").iterdir())) == 2
    later = time.time() + downloads.KEEP_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    saved = handlers.save_result(second.run, control)
    assert list(downloads.session_root("s1").iterdir()) == [Path(saved[0]).parent]
    assert all(Path(f).is_file() for f in saved) and not Path(first.files[0]).exists()


@pytest.fixture
def private_tmp(monkeypatch, tmp_path):
    """tempfile's folder for this test alone (set before `served`): the app's glass-run-* folders land there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(views, "SHOWN", folder / "glass-app")  # gradio serves files from its temp folder only
    return folder


def test_a_served_session_writes_its_downloads_in_its_own_folder(private_tmp, served):
    client = served.client()  # one session
    for seed in (0, 1, 2):
        files = named(client.predict(CAPTION, served.presets["text2image"], 2, 8, seed, False,
                                     api_name="/text_to_image"), handlers.ImageUpdate)["files"]
        assert all(Path(f).is_file() for f in files)  # the download of the latest search works
    sessions = list(downloads.process_root().iterdir())
    assert [s.name for s in sessions] == [client.session_hash] and len(list(sessions[0].iterdir())) == 3


@pytest.mark.parametrize("value, field", [("abc", "Generations"), (None, "Generations")])
def test_api_values_of_the_wrong_type_name_the_field(served, value, field):
    presets = served.presets
    with pytest.raises(AppError, match=field):
        served.client().predict(CAPTION, presets["text2image"], value, 8, 0, False, api_name="/text_to_image")


def test_api_nan_names_the_field(served):
    # gradio_client will not send NaN (it is not JSON); a raw HTTP caller can.
    import httpx

    # The last two: no picture as a target, and its weight (a raw caller sends every input).
    body = json.dumps({"data": [CAPTION, served.presets["text2image"], 2, float("nan"), 0, False, None, 1]})
    base = f"{served.url.rstrip('/')}/gradio_api/call/text_to_image"
    event = httpx.post(base, content=body, headers={"Content-Type": "application/json"}, timeout=30).json()
    stream = httpx.get(f"{base}/{event['event_id']}", timeout=60).text
    assert "event: error" in stream and "Population must be a finite number" in stream, stream


def test_api_seed_and_population_of_the_wrong_type_name_the_field(served):
    presets = served.presets
    with pytest.raises(AppError, match="Population"):
        served.client().predict(CAPTION, presets["text2image"], 2, "lots", 0, False, api_name="/text_to_image")
    with pytest.raises(AppError, match="Seed"):
        served.client().predict(CAPTION, presets["text2image"], 2, 8, None, False, api_name="/text_to_image")


@pytest.mark.parametrize("value, expected", [("false", False), ("False", False), ("0", False), ("true", True),
                                             ("TRUE", True), (True, True), (False, False), (None, False)])
def test_discriminator_flag_strings_are_parsed(value, expected):
    preset = PRESETS["mini_gan_d"]
    assert inputs.settings(preset, 2, 8, 0, value).overrides["use_discriminator"] is expected


@pytest.mark.parametrize("value", ["maybe", 3, [True]])
def test_discriminator_flag_of_another_kind_is_refused(value):
    with pytest.raises(Exception, match="discriminator"):
        inputs.settings(PRESETS["mini_gan_d"], 2, 8, 0, value)


def test_a_refused_input_logs_one_line(served, capfd, caplog):
    presets = served.presets
    capfd.readouterr()
    caplog.set_level(logging.INFO, logger="glass_app")
    for caption in ("   ", ""):
        with pytest.raises(AppError, match="empty"):
            served.client().predict(caption, presets["text2image"], 2, 8, 0, False, api_name="/text_to_image")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    refusals = [r for r in caplog.records if "empty" in r.getMessage()]
    assert len(refusals) == 2 and all("\n" not in r.getMessage() and not r.exc_info for r in refusals)


def test_refusals_do_not_ask_gradio_for_a_traceback(app_presets):
    with pytest.raises(gr.Error) as info:
        list(handlers.text_to_image("", app_presets["text2image"], 2, 8, 0, False))
    assert info.value.print_exception is False


def test_the_top_table_shows_distinct_captions(app_presets, monkeypatch, tmp_path):
    # Many genomes, three captions: as GPT-2 does when different contexts decode alike.
    monkeypatch.setattr(Pipeline, "show", lambda self, genomes: [f"caption {int(abs(g).sum()) % 3}" for g in genomes])
    path = tmp_path / "picture.png"
    path.write_bytes((EXAMPLES / "red-7-on-blue.png").read_bytes())
    last = list(handlers.image_to_text(str(path), app_presets["image2text"], 2, 16, 0))[-1]
    captions = list(last.table["caption"])
    assert len(captions) == len(set(captions)) == 3, captions
    assert list(last.table["similarity"]) == sorted(last.table["similarity"], reverse=True)


DIGIT_WORDS = ("seven", "three", "four", "number", "digit", "two", "one", "five", "six", "eight", "nine", "zero")


def test_example_captions_follow_the_preset():
    mini = [p for p in PRESETS.values() if p.task == "text2image" and is_embedded(p)]
    paper = [p for p in PRESETS.values() if p.task == "text2image" and not is_embedded(p)]
    assert mini and paper
    for p in mini:
        assert all(any(w in c for w in DIGIT_WORDS) for c in choices.example_captions(p.name)), p.name
    for p in paper:
        examples = choices.example_captions(p.name)
        assert examples and not any(any(w in c for w in DIGIT_WORDS) for c in examples), p.name
    # A preset change shows the examples of its kind and hides the other.
    assert [u["visible"] for u in choices.examples_shown(mini[0].name)] == [k == "mini" for k in choices.EXAMPLES]
    assert [u["visible"] for u in choices.examples_shown(paper[0].name)] == [k == "paper" for k in choices.EXAMPLES]


def test_the_page_opens_with_the_examples_of_its_preset(monkeypatch, tmp_path):
    import app

    monkeypatch.setenv("GLASS_WEIGHTS", str(tmp_path))  # no paper weights: the tab opens on the mini set
    demo = app.create_demo()
    shown = {b.elem_id: b.visible for b in demo.blocks.values()
             if isinstance(b, gr.Column) and (b.elem_id or "").startswith("t2i-examples-")}
    assert shown == {"t2i-examples-mini": True, "t2i-examples-paper": False}
