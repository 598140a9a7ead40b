"""The app streams a diffusion search with the aesthetic score as its second objective (tiny pipeline)."""

from __future__ import annotations

import re

import gradio as gr
import pytest
from PIL import Image

from app_support import SearchSpy, free_port, wait_for
from diffusion_support import diffusion_presets, diffusion_root  # noqa: F401  (fixtures)
from glass_app import choices, handlers
from glass_core.presets import PRESETS

PRESET = "test_sdturbo_aesthetic"
CAPTION = "a red apple on a table"


@pytest.fixture
def diffusion_app(monkeypatch, diffusion_presets, diffusion_root):
    """GLASS_WEIGHTS at the tiny pipelines; the aesthetic preset registered."""
    monkeypatch.setenv("GLASS_WEIGHTS", str(diffusion_root))
    return diffusion_root


def test_the_handlers_stream_the_aesthetic_front_and_name_its_axis(diffusion_app):
    assert choices.second_label(PRESETS[PRESET]) == "Use aesthetic score as a second objective (NSGA-II)"
    assert choices.second_label(PRESETS["mini_gan_d"]) == "Use the discriminator (NSGA-II: similarity and realism)"
    updates = list(handlers.text_to_image(CAPTION, PRESET, 2, 8, 0, True))
    last = updates[-1]
    assert last.front_row["visible"] is True and len(last.front) == len(last.run.front) >= 1
    assert "aesthetic score" in last.progress and len(last.gallery) >= 1
    point = last.run.front[0]
    event = gr.SelectData(None, {"index": [point.similarity] * 2, "value": [point.similarity] * 2})
    picture, label = handlers.choose_front_point(last.run, event)
    assert Image.open(picture).mode == "RGB" and "aesthetic score" in label


def test_the_page_streams_an_aesthetic_search_with_its_front(diffusion_app, monkeypatch, tmp_path):
    from test_app_browser import opened_page

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    spy = SearchSpy(monkeypatch)
    import app

    demo = app.serve("127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        with opened_page(demo.local_url) as page:
            box = page.locator("#t2i-preset input")
            box.click()
            box.fill(PRESET)
            page.get_by_role("option", name=re.compile(PRESET)).first.click()
            checkbox = page.get_by_label("Use aesthetic score as a second objective (NSGA-II)")
            assert wait_for(lambda: checkbox.count() == 1 and checkbox.is_checked(), timeout=20)
            page.locator("#t2i-caption textarea").fill(CAPTION)
            generations = page.locator("#t2i-generations input[type=number]")
            generations.fill("4")
            generations.press("Enter")
            page.locator("#t2i-run").click()
            progress = page.locator("#t2i-progress")
            assert wait_for(lambda: "aesthetic score" in progress.inner_text(), timeout=120)
            front = page.locator("#t2i-front")
            assert wait_for(lambda: front.is_visible() and front.locator("path").count() >= 1, timeout=120)
            assert wait_for(lambda: "4 of 4" in progress.inner_text() or "done" in progress.inner_text().lower(),
                            timeout=180), progress.inner_text()
            assert page.locator("#t2i-best img").count() >= 1
            assert wait_for(spy.all_closed, timeout=30)
            page.screenshot(path=str(tmp_path / "diffusion.png"), full_page=True)
    finally:
        demo.close()
