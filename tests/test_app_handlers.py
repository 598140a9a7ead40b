"""The page's handlers, called directly: every bad input gets one clear message, never a crash."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from app_support import CAPTION, SearchSpy, app_presets  # noqa: F401  (fixture)
from glass_app import handlers
from glass_core.generators import KINDS, Kind, get_kind
from glass_core.presets import PRESETS


def t2i(presets, caption=CAPTION, generations=2, population=8, seed=0, use_d=False, preset=None):
    """All updates of a short text-to-image run."""
    return list(handlers.text_to_image(caption, preset or presets["text2image"], generations, population, seed, use_d))


def i2t(presets, image, generations=1, population=4, seed=0):
    """All updates of a short image-to-text run."""
    return list(handlers.image_to_text(image, presets["image2text"], generations, population, seed))


def error_of(run) -> str:
    """The message of the gr.Error a run raises."""
    with pytest.raises(gr.Error) as info:
        run()
    return info.value.message


@pytest.mark.parametrize("caption", ["", "   \n\t ", None])
def test_empty_caption_is_refused(app_presets, caption):
    assert "empty" in error_of(lambda: t2i(app_presets, caption=caption))


def test_long_caption_is_truncated_and_said_so(app_presets):
    long = " ".join(["a red seven on a blue background"] * 20)
    with pytest.warns(UserWarning, match="77 tokens"):
        updates = t2i(app_presets, caption=long, generations=1)
    assert "only its beginning is used" in updates[-1].notes


def test_a_run_streams_one_update_per_generation(app_presets):
    updates = t2i(app_presets, generations=3)
    assert len(updates) == 3
    last = updates[-1]
    assert Image.open(last.image).size == (256, 256) and "Generation 3 of 3" in last.progress  # 32 px enlarged
    assert list(last.plot["generation"]) == [1, 1, 2, 2, 3, 3]
    assert updates[0].files is None and len(last.files) == 3  # result, run card, timelapse


def test_saved_files_are_the_result_and_its_run_card(app_presets):
    run = t2i(app_presets, generations=2, seed=5)[-1].run
    png, card, timelapse = handlers.save_result(run)
    assert "timelapse" in Path(timelapse).name
    assert Image.open(png).size == run.card.last.output.size
    data = json.loads(Path(card).read_text())
    assert data["target"] == {"caption": CAPTION} and data["seed"] == 5
    assert data["result"]["file"] == Path(png).name and len(data["history"]) == 2


def test_save_before_any_run_says_so():
    with pytest.warns(UserWarning, match="Nothing to save"):
        assert handlers.save_result(None) is None


@pytest.mark.parametrize("value, message", [(None, "needs a number"), ("many", "must be a number"),
                                            (float("nan"), "finite"), (True, "needs a number")])
def test_non_numbers_are_refused(app_presets, value, message):
    assert message in error_of(lambda: t2i(app_presets, generations=value))


def test_numbers_out_of_range_are_clamped_with_a_note(app_presets):
    with pytest.warns(UserWarning, match="outside"):
        updates = t2i(app_presets, generations=0, population=1, seed=-4)
    notes = updates[-1].notes
    assert "Generations 0 is outside" in notes and "Population 1" in notes and "Seed -4" in notes
    assert len(updates) == 1 and updates[-1].run.card.preset.pop_size == 2


def test_too_many_generations_are_capped_and_the_search_closes(app_presets, monkeypatch):
    spy = SearchSpy(monkeypatch)
    with pytest.warns(UserWarning, match="using 1000"):
        stream = handlers.text_to_image(CAPTION, app_presets["text2image"], 10**6, 4, 0, False)
        first = next(stream)
    assert "of 1000" in first.progress
    stream.close()  # what gradio does on Stop
    assert spy.all_closed()


def test_discriminator_on_a_generator_without_one_falls_back(app_presets, monkeypatch):
    # The same generator under a name no two-objective preset uses: it offers no second objective.
    base = PRESETS[app_presets["text2image"]]
    monkeypatch.setitem(KINDS, "plain_copy", dataclasses.replace(get_kind(base.generator), name="plain_copy"))
    monkeypatch.setitem(PRESETS, "plain", base.replace(name="plain", generator="plain_copy", use_discriminator=False))
    with pytest.warns(UserWarning, match="no second objective"):
        updates = t2i(app_presets, use_d=True, generations=1, preset="plain")
    assert updates[-1].run.card.preset.use_discriminator is False


def test_two_objective_run_shows_a_front_and_a_chosen_point(app_presets):
    updates = t2i(app_presets, preset=app_presets["two_objectives"], use_d=True, generations=3, population=12)
    row, front, run = updates[-1].front_row, updates[-1].front, updates[-1].run
    assert row["visible"] is True and len(front) == len(run.front) >= 1
    assert t2i(app_presets, generations=1)[-1].front_row["visible"] is False
    sims = [p.similarity for p in run.front]
    event = gr.SelectData(None, {"index": [min(sims), min(sims)], "value": [min(sims), min(sims)]})
    picture, label = handlers.choose_front_point(run, event)
    assert Image.open(picture).mode == "RGB" and f"{min(sims):.4f}" in label


def test_fluency_as_a_second_objective_gives_a_caption_front(app_presets, tmp_path):
    path = tmp_path / "picture.png"
    colour_picture().save(path)
    updates = list(handlers.image_to_text(str(path), app_presets["fluent"], 2, 8, 0, True))
    row, front, run = updates[-1].front_row, updates[-1].front, updates[-1].run
    assert row["visible"] is True and len(front) == len(run.front) >= 1
    best = max(run.front, key=lambda p: p.similarity)
    event = gr.SelectData(None, {"index": [best.similarity] * 2, "value": [best.similarity] * 2})
    caption, label = handlers.choose_front_point(run, event)
    assert isinstance(caption, str) and f"{best.similarity:.4f}" in label
    # plain GPT-2 has no fluency objective: the box is refused with a note, not a crash
    with pytest.warns(UserWarning, match="no second objective"):
        assert list(handlers.image_to_text(str(path), app_presets["image2text"], 1, 4, 0, True))


def test_malformed_weighted_prompts_are_refused(app_presets):
    assert "positive weight" in error_of(lambda: t2i(app_presets, caption="people:-1"))
    assert "no text" in error_of(lambda: t2i(app_presets, caption="a church | :2"))


def test_a_preset_that_fails_to_load_gets_a_message(app_presets, monkeypatch):
    monkeypatch.setitem(KINDS, "broken", Kind("broken", "glass_no_such_module", "image"))
    monkeypatch.setitem(PRESETS, "broken", PRESETS[app_presets["text2image"]].replace(name="broken", generator="broken"))
    assert "broken could not be loaded (ModuleNotFoundError" in error_of(lambda: t2i(app_presets, preset="broken"))


def test_building_the_page_loads_no_model(app_presets, monkeypatch):
    import app
    from glass_core import pipeline

    monkeypatch.setattr(pipeline, "_CACHE", {})
    demo = app.create_demo()
    assert pipeline._CACHE == {} and {"text_to_image", "image_to_text"} <= {
        fn.api_name for fn in demo.fns.values()}


def test_wrong_task_and_unknown_presets_are_refused(app_presets):
    assert "image2text preset" in error_of(lambda: t2i(app_presets, preset=app_presets["image2text"]))
    assert "Unknown preset" in error_of(lambda: t2i(app_presets, preset="no_such_preset"))


def test_missing_weights_offline_say_what_to_fetch(app_presets, monkeypatch, tmp_path):
    monkeypatch.setenv("GLASS_WEIGHTS", str(tmp_path))  # an empty weights folder
    monkeypatch.setenv("GLASS_OFFLINE", "1")
    message = error_of(lambda: t2i(app_presets, preset="DeepMindBigGAN256", generations=1))
    assert "Missing weights" in message and "biggan-deep-256" in message


def png_bytes(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("notes.png", b"this is a text file, not a picture", "not an image"),
    ("cut.png", png_bytes(Image.new("RGB", (64, 64), "red"))[:60], "corrupt or truncated"),
    ("huge.png", png_bytes(Image.new("1", (7000, 7000))), "pixels"),
    ("heavy.bmp", b"BM" + bytes(21 * 2**20), "the limit is 20 MB"),
])
def test_bad_image_files_are_refused(app_presets, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    assert message in error_of(lambda: i2t(app_presets, str(path)))
    with pytest.warns(UserWarning, match=message):  # the upload preview says so at once too
        assert handlers.preview_upload(str(path))[0] is None


def test_no_image_is_refused(app_presets):
    assert "upload an image" in error_of(lambda: i2t(app_presets, None))
    assert "could not be found" in error_of(lambda: i2t(app_presets, "/no/such/file.png"))


def colour_picture() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), mode="RGB")


@pytest.mark.parametrize("mode, fmt", [("L", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("CMYK", "JPEG"),
                                       ("I;16", "PNG"), ("LA", "PNG")])
def test_any_common_image_mode_is_captioned(app_presets, tmp_path, mode, fmt):
    picture = colour_picture()
    if mode == "I;16":
        arr = (np.asarray(picture.convert("L"), dtype=np.uint16) * 257)
        picture = Image.fromarray(arr, mode="I;16")
    else:
        picture = picture.convert(mode)
    path = tmp_path / f"picture.{fmt.lower()}"
    picture.save(path, format=fmt)
    updates = i2t(app_presets, str(path))
    caption, progress = updates[-1].caption, updates[-1].progress
    assert isinstance(caption, str) and caption and "Generation 1 of 1" in progress
    assert Image.open(handlers.preview_upload(str(path))[0]).mode == "RGB"
    assert Path(updates[-1].files[0]).read_text().strip() == caption


def test_stop_ends_after_the_current_generation_and_keeps_the_result(app_presets, monkeypatch):
    spy = SearchSpy(monkeypatch)
    control = handlers.Control()
    stream = handlers.text_to_image(CAPTION, app_presets["text2image"], 500, 8, 0, False, control)
    next(stream)
    assert control.running and next(stream).files is None
    handlers.request_stop(control)  # what the Stop button does
    last = next(stream)
    assert "Generation 3 of 500" in last.progress and "stopped, result kept" in last.progress
    assert len(last.files) == 3 and last.run.card.last.generation == 3  # result, run card, timelapse
    with pytest.raises(StopIteration):
        next(stream)
    assert spy.all_closed() and not control.running


def test_stop_without_a_search_says_so(capsys):
    handlers.request_stop(handlers.Control())
    assert "No search is running" in capsys.readouterr().out
