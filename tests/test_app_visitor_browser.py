"""What a first visitor meets, in a real browser: example pictures as thumbnails, a picture as the
target of Text → Image, the timelapse among the downloads (Debian's chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path

from app_support import CAPTION, app_presets, served, wait_for  # noqa: F401  (fixtures)
from experiments import evaluate
from experiments.common import heldout_pictures
from test_app_browser import opened_page
from test_download_progress import download_cache, downloadable_biggan  # noqa: F401  (fixtures)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_pictures_are_thumbnails_that_fill_the_upload(served):
    count = len(list(EXAMPLES.glob("*.png")))
    assert count, "examples/ has no pictures"
    with opened_page(served.url) as page:
        page.get_by_role("tab", name="Image → Text").click()
        thumbnails = page.locator("#i2t-examples img")
        assert wait_for(lambda: thumbnails.count() >= min(count, 10), timeout=20), "no example thumbnails"
        assert all((thumbnails.nth(i).get_attribute("src") or "") for i in range(thumbnails.count()))
        assert not page.locator("#i2t-examples").get_by_text(".png").count(), "file names shown, not pictures"
        thumbnails.first.click()
        preview = page.locator("#i2t-preview img")  # the upload box got the file and the preview read it
        assert wait_for(lambda: preview.count() >= 1, timeout=30), "clicking an example loaded nothing"


def test_a_picture_as_the_target_and_the_timelapse_download(served, tmp_path):
    picture, _ = heldout_pictures(1, evaluate.SEED + 7)[0]
    picture.save(tmp_path / "target.png")
    with opened_page(served.url) as page:
        page.locator("#t2i-picture-panel").get_by_text("Picture as a target").click()
        page.locator("#t2i-picture input[type=file]").set_input_files(str(tmp_path / "target.png"))
        assert wait_for(lambda: page.locator("#t2i-picture-preview img").count() >= 1, timeout=30)
        page.locator("#t2i-caption textarea").fill("")  # the picture alone
        generations = page.locator("#t2i-generations input[type=number]")
        generations.fill("3")
        generations.press("Enter")
        page.locator("#t2i-run").click()
        progress = page.locator("#t2i-progress")
        assert wait_for(lambda: "Generation 3 of 3" in progress.inner_text(), timeout=60), progress.inner_text()
        assert wait_for(lambda: page.get_by_text("timelapse").count() >= 1, timeout=20), "no timelapse to download"
        assert page.get_by_text(".json").count() >= 1
        assert "Error" not in page.locator("#t2i-best").inner_text()


def test_the_first_search_of_a_preset_shows_its_download_and_stop_ends_it(app_presets, downloadable_biggan, served):
    """The weights come from a slow server on 127.0.0.1 (tests/slow_server.py): bytes, speed and time left
    show on the page; Stop ends the download, keeping the partial file; the next Run resumes it and searches."""
    slow, root = downloadable_biggan
    with opened_page(served.url) as page:
        choose = page.locator("#t2i-preset input")
        choose.click()
        choose.fill("test_biggan")
        page.get_by_role("option", name="test_biggan", exact=False).first.click()
        assert wait_for(lambda: choose.input_value().startswith("test_biggan"), timeout=10), choose.input_value()
        page.locator("#t2i-caption textarea").fill(CAPTION)
        page.locator("#t2i-run").click()
        progress = page.locator("#t2i-progress")
        assert wait_for(lambda: "left" in progress.inner_text(), timeout=30), progress.inner_text()
        shown = progress.inner_text()
        assert "Downloading the weights of test_biggan" in shown and "pytorch_model.bin" in shown and "/s" in shown
        page.locator("#t2i-stop").click()
        assert wait_for(lambda: "resumes" in progress.inner_text(), timeout=20), progress.inner_text()
        assert not (root / "biggan" / "biggan-deep-128" / "pytorch_model.bin").exists()
        page.locator("#t2i-run").click()
        assert wait_for(lambda: "Generation" in progress.inner_text(), timeout=60), progress.inner_text()
        assert any(start > 0 for start in slow.starts), slow.starts  # the second run resumed the file
