"""A chat turn in a real browser: Run, answer a question mid-search, the search goes on from its population.

Needs /usr/bin/chromium (`.ci/setup-browser.sh`), like tests/test_app_browser.py.
"""

from __future__ import annotations

import re

from app_support import CAPTION, app_presets, served, wait_for  # noqa: F401  (fixtures)
from test_app_browser import opened_page


def generation(progress) -> int:
    """The generation the progress line shows (0 before the first)."""
    found = re.search(r"Generation (\d+) of", progress.inner_text())
    return int(found[1]) if found else 0


def strip_pictures(page) -> int:
    """Pictures in the strip of pictures after each turn."""
    return page.locator("#t2i-strip img").count()


def test_a_turn_mid_search_continues_and_grows_the_strip(served):
    with opened_page(served.url, height=1600) as page:
        page.locator("#t2i-caption textarea").fill(CAPTION)
        generations = page.locator("#t2i-generations input[type=number]")
        generations.fill("1000")
        generations.press("Enter")
        page.locator("#t2i-run").click()
        progress = page.locator("#t2i-progress")
        assert wait_for(lambda: generation(progress) >= 3, timeout=90), progress.inner_text()

        page.locator("#t2i-question input").fill("what colour is the digit?")
        page.locator("#t2i-answer input").fill("red")
        page.locator("#t2i-add-turn").click()
        chat = page.locator("#t2i-chat")
        assert wait_for(lambda: "Continuing from the population of generation" in chat.inner_text(), timeout=60)
        assert "what colour is the digit? red" in chat.inner_text()
        assert page.locator("#t2i-answer input").input_value() == ""
        # a second core search (the continuation) streams, then Stop keeps its picture
        assert wait_for(lambda: len(served.spy.iterators) == 2 and served.spy.iterators[0].gi_frame is None,
                        timeout=60), "the first search did not end, or no continuation started"
        page.locator("#t2i-stop").click()
        assert wait_for(lambda: "Picture after this turn" in chat.inner_text(), timeout=60)
        assert wait_for(lambda: strip_pictures(page) == 2, timeout=30), "the strip did not grow to 2"
        assert wait_for(served.spy.all_closed, timeout=30) and len(served.spy.iterators) == 2
        assert "Error" not in page.locator("#t2i-best").inner_text()
