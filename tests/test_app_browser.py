"""The page in a real browser (Debian's chromium via Playwright): type, Run, watch it stream, Stop.

Needs /usr/bin/chromium: `.ci/setup-browser.sh` installs it. Set GLASS_SAVE_SCREENSHOT=1 to
also refresh docs/screenshot.png, the picture the README shows.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from app_support import CAPTION, app_presets, served, wait_for  # noqa: F401  (fixtures)
from glass_app import choices

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"


@contextmanager
def opened_page(url: str, height: int = 1250):
    """Debian's Chromium, headless, on the served page once its caption box is there; closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#t2i-caption textarea").wait_for(timeout=60_000)
            yield page
        finally:
            browser.close()


def line_points(page) -> int:
    """Points on the best-similarity line of the plot (vega draws it as one SVG path)."""
    paths = page.locator("#t2i-plot .mark-line path")
    if paths.count() == 0:
        return 0
    return (paths.first.get_attribute("d") or "").count("L") + 1


def best_src(page) -> str | None:
    """The address of the picture shown as the best image."""
    img = page.locator("#t2i-best img")
    return img.first.get_attribute("src") if img.count() else None


def watch(page, seconds: float) -> tuple[list[str], list[int]]:
    """Distinct best-image addresses and plot sizes seen while the search runs."""
    sources: list[str] = []
    sizes: list[int] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and (len(sources) < 4 or len(set(sizes)) < 4):
        src, points = best_src(page), line_points(page)
        if src and (not sources or sources[-1] != src):
            sources.append(src)
        if points and (not sizes or sizes[-1] != points):
            sizes.append(points)
        time.sleep(0.1)
    return sources, sizes


def test_type_run_watch_and_stop(served, tmp_path):
    with opened_page(served.url) as page:
        opening = page.locator("#t2i-preset input").input_value()
        assert opening.startswith(choices.opening("text2image").name + " ")
        saving = os.environ.get("GLASS_SAVE_SCREENSHOT") == "1"
        # The README's picture shows the README's command-line example.
        page.locator("#t2i-caption textarea").fill("a green four on a black background" if saving else CAPTION)
        generations = page.locator("#t2i-generations input[type=number]")
        generations.fill("1000")
        generations.press("Enter")
        page.locator("#t2i-run").click()

        sources, sizes = watch(page, seconds=90)
        assert len(sources) >= 3, f"the best image changed only {len(sources)} times"
        assert len(sizes) >= 3 and sizes == sorted(sizes), f"the plot did not grow: {sizes}"

        if saving:  # the README's picture: let the search get somewhere first
            wait_for(lambda: line_points(page) >= 30, timeout=120)  # the preset default
        page.locator("#t2i-stop").click()
        progress = page.locator("#t2i-progress")
        assert wait_for(lambda: "stopped, result kept" in progress.inner_text(), timeout=30)
        stopped_at = progress.inner_text()
        time.sleep(1.5)
        assert progress.inner_text() == stopped_at and "of 1000" in stopped_at
        assert "Error" not in page.locator("#t2i-best").inner_text()
        assert served.spy.all_closed()
        files = page.get_by_text(".json")
        assert wait_for(lambda: files.count() >= 1, timeout=10), "no run card offered for download"

        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if saving:
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, DOCS_SCREENSHOT)



@pytest.fixture
def one_slot(monkeypatch):
    """One search at a time (set before `served` builds the queue): a second search has to wait."""
    monkeypatch.setenv("GLASS_CONCURRENCY", "1")


def test_stop_while_the_search_waits_in_the_queue_cancels_it(one_slot, served):
    busy = served.client().submit(CAPTION, served.presets["text2image"], 1000, 8, 0, False, api_name="/text_to_image")
    assert wait_for(lambda: len(busy.outputs()) >= 1, timeout=60), "the first search did not start"
    with opened_page(served.url) as page:
        page.locator("#t2i-caption textarea").fill(CAPTION)
        page.locator("#t2i-run").click()
        time.sleep(1.0)
        page.locator("#t2i-stop").click()
        assert wait_for(lambda: page.get_by_text("will not start").count() >= 1, timeout=10)
        assert page.get_by_text("No search is running").count() == 0
        busy.cancel()  # the slot frees: the page's search starts, and ends at once
        assert wait_for(lambda: page.get_by_text("Stopped before it started").count() >= 1, timeout=30)
        time.sleep(1.5)
        assert len(served.spy.iterators) == 1, "the cancelled search ran anyway"
        assert "Stopped before it started" in page.locator("#t2i-progress").inner_text()
        page.locator("#t2i-stop").click()  # nothing running now, nothing waiting: it says so
        assert wait_for(lambda: page.get_by_text("No search is running").count() >= 1, timeout=10)
