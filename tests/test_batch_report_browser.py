"""The batch report opens in a real browser from the disk, with no server: every result shows."""

from __future__ import annotations

import json

from test_app_browser import ARGS, CHROMIUM
from test_batch import CAPTIONS, captions_file, run


def test_the_report_opens_from_disk_with_every_picture_loaded(tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "out"
    targets = captions_file(tmp_path, CAPTIONS[:2] + [""])  # a blank line is skipped, not a target
    (tmp_path / "more.jsonl").write_text(json.dumps({"caption": ""}) + "\n")
    assert run(targets, out) == 0
    assert run(tmp_path / "more.jsonl", out) == 1  # an empty caption: recorded as an error
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto((out / "report.html").as_uri(), wait_until="load")
            images = page.locator("table img")
            assert images.count() == 2
            widths = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(2)]
            assert widths == [128, 128]  # each picture found beside the page and decoded
            text = page.locator("body").inner_text()
            assert all(c in text for c in CAPTIONS[:2]) and "The caption is empty." in text
        finally:
            browser.close()
