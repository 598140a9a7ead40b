"""The page's last races and messages in a real browser (issue 24): Save against the last update,
refused and failing turns in the chat, paths relative to the weights folder, over-size uploads.

Needs /usr/bin/chromium (`.ci/setup-browser.sh`), like tests/test_app_browser.py.
"""

from __future__ import annotations

import os
import time

from app_support import CAPTION, app_presets, served, wait_for  # noqa: F401  (fixtures)
from glass_core.images import MAX_FILE_BYTES
from test_app_browser import opened_page

SHOWN_ERROR = "Error"  # what gradio's status tracker writes over an output whose event failed


def chat_text(page) -> str:
    return page.locator("#t2i-chat").inner_text()


def choose_preset(page, name: str) -> None:
    """Pick a preset in the Text → Image dropdown as a person does: open it, click the option."""
    box = page.locator("#t2i-preset input")
    box.click()
    page.locator(f'#t2i-preset [role=option][aria-label^="{name} "]').click()
    assert wait_for(lambda: box.input_value().startswith(f"{name} "), timeout=10), box.input_value()


HAMMER_SAVE = """() => { window.glassSaves = setInterval(() => document.querySelector('#t2i-save').click(), 10); }"""
STOP_HAMMERING = "() => clearInterval(window.glassSaves)"


def test_save_pressed_while_the_search_ends_never_shows_an_error(served):
    with opened_page(served.url) as page:
        page.locator("#t2i-caption textarea").fill(CAPTION)
        generations = page.locator("#t2i-generations input[type=number]")
        generations.fill("1000")
        generations.press("Enter")
        progress = page.locator("#t2i-progress")
        for attempt in range(6):
            page.locator("#t2i-run").click()
            assert wait_for(lambda: "about" in progress.inner_text(), timeout=60), progress.inner_text()
            page.evaluate(HAMMER_SAVE)  # Save every 10 ms, across Stop and the search's last update
            time.sleep(0.5)
            page.locator("#t2i-stop").click()
            assert wait_for(lambda: "stopped, result kept" in progress.inner_text(), timeout=30), \
                (attempt, progress.inner_text())
            page.evaluate(STOP_HAMMERING)
            time.sleep(1.0)
            for output in ("#t2i-best", "#t2i-progress", "#t2i-plot", "#t2i-gallery"):
                if page.locator(output).count():
                    assert SHOWN_ERROR not in page.locator(output).inner_text(), (attempt, output)
            assert page.get_by_text(".json").count() >= 1, "no run card offered for download"


def test_turns_say_in_the_chat_why_they_are_refused_or_cannot_start(served):
    with opened_page(served.url, height=1600) as page:
        caption = page.locator("#t2i-caption textarea")
        question, answer = page.locator("#t2i-question input"), page.locator("#t2i-answer input")
        caption.fill(CAPTION)
        question.fill("what colour is the digit?")
        page.locator("#t2i-add-turn").click()  # no answer
        assert wait_for(lambda: "The answer is empty" in chat_text(page), timeout=30), chat_text(page)
        assert question.input_value() == "what colour is the digit?"  # kept, to be corrected

        caption.fill("a red seven:1e400")  # a caption Run refuses is refused for a turn too
        answer.fill("red")
        page.locator("#t2i-add-turn").click()
        assert wait_for(lambda: "-100 to 100" in chat_text(page), timeout=30), chat_text(page)
        assert answer.input_value() == "red" and served.spy.iterators == []

        # A preset whose weights are missing: the turn is taken, its search cannot start, the chat says why,
        # naming the file inside the weights folder, never the server's own path.
        caption.fill(CAPTION)
        choose_preset(page, "DeepMindBigGAN256")
        page.locator("#t2i-add-turn").click()
        assert wait_for(lambda: "did not start" in chat_text(page), timeout=60), chat_text(page)
        said = chat_text(page)
        assert "weights/biggan/biggan-deep-256/" in said and os.environ["GLASS_WEIGHTS"] not in said
        assert served.spy.iterators == [] and SHOWN_ERROR not in page.locator("#t2i-best").inner_text()


def test_an_over_size_upload_is_refused_on_the_page(served, tmp_path):
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with opened_page(served.url) as page:
        page.get_by_role("tab", name="Image → Text").click()
        page.locator("#i2t-upload input[type=file]").set_input_files(str(big))
        refusal = page.get_by_text("exceed the maximum allowed size of 20.0 MB")
        assert wait_for(lambda: refusal.count() >= 1, timeout=30)
        assert page.locator("#i2t-preview img").count() == 0
