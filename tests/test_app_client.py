"""The launched app through gradio_client: named endpoints stream, cancel stops the search, sessions stay apart."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from app_support import CAPTION, app_presets, named, served, wait_for  # noqa: F401  (fixtures)
from glass_app.handlers import ImageUpdate, TextUpdate, api_fields

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_endpoints_are_named(served):
    endpoints = served.client().view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/text_to_image", "/image_to_text"} <= set(endpoints)
    # what an API caller gets back: the update fields less the page-only ones
    assert len(endpoints["/text_to_image"]["returns"]) == len(api_fields(ImageUpdate)) == 8
    assert len(endpoints["/image_to_text"]["returns"]) == len(api_fields(TextUpdate)) == 7


def test_search_streams_and_cancel_stops_it(served):
    presets, spy = served.presets, served.spy
    job = served.client().submit(CAPTION, presets["text2image"], 1000, 8, 0, False, api_name="/text_to_image")
    assert wait_for(lambda: len(job.outputs()) >= 4, timeout=60), "fewer than 4 updates streamed"
    progress = [named(out, ImageUpdate)["progress"] for out in job.outputs()]
    assert progress[0].startswith("Generation 1 of 1000") and "Generation 4 of 1000" in progress[3]
    job.cancel()
    assert wait_for(spy.all_closed, timeout=30), "the core search kept running after cancel"
    # Updates already on their way (the mini set computes a generation in milliseconds) may still
    # arrive; then the stream must fall silent, far short of the 1000 generations asked for.
    counts = [len(job.outputs())]
    while len(counts) < 40 and (len(counts) < 3 or counts[-1] != counts[-3]):
        time.sleep(0.25)
        counts.append(len(job.outputs()))
    assert counts[-1] == counts[-3] and counts[-1] < 1000, counts


def test_bad_input_comes_back_as_a_clear_error(served):
    presets = served.presets
    with pytest.raises(AppError, match="empty"):
        served.client().predict("   ", presets["text2image"], 2, 8, 0, False, api_name="/text_to_image")


def test_image_to_text_endpoint(served):
    presets = served.presets
    result = named(served.client().predict(handle_file(str(EXAMPLES / "red-7-on-blue.png")), presets["image2text"],
                                           2, 4, 0, api_name="/image_to_text"), TextUpdate)
    caption, progress, files = result["caption"], result["progress"], result["files"]
    assert isinstance(caption, str) and "Generation 2 of 2" in progress
    card = json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())
    assert card["result"]["caption"] == caption and "image_sha256" in card["target"]


def test_sessions_see_only_their_own_runs(served):
    presets = served.presets
    captions = ["a red seven on a blue background", "a yellow three on a black background"]

    def run(caption: str) -> dict:
        result = served.client().predict(caption, presets["text2image"], 3, 8, 1, False, api_name="/text_to_image")
        files = named(result, ImageUpdate)["files"]
        return json.loads(Path(next(f for f in files if f.endswith(".json"))).read_text())

    with ThreadPoolExecutor(2) as pool:
        cards = list(pool.map(run, captions))
    assert [c["target"]["caption"] for c in cards] == captions
    assert all(len(c["history"]) == 3 for c in cards)
