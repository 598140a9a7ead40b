"""Downloads you can watch: bytes, speed and time left per file, and Stop that keeps the partial file
for the next try to resume. Served slowly by a local HTTP server on 127.0.0.1 (tests/slow_server.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app_support import CAPTION
from glass_app import download_view, handlers
from glass_core import downloads
from glass_core.downloads import DownloadStopped, Progress, Source, fetch_files, watching
from glass_core.generators import biggan
from slow_server import SlowServer

PAYLOAD = os.urandom(300 * 1024)


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    """Partial downloads go to a folder of the test's own; offline mode off (conftest sets it)."""
    monkeypatch.setenv("GLASS_CACHE", str(tmp_path / "glass-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GLASS_OFFLINE", raising=False)
    return tmp_path / "glass-cache" / "downloads"


@pytest.fixture
def server():
    served = SlowServer({"/model.bin": PAYLOAD})
    yield served
    served.close()


def test_a_watched_download_reports_bytes_speed_and_time_left(server, tmp_path):
    seen: list[Progress] = []
    with watching(seen.append):
        (dest,) = fetch_files([Source("local", (server.url("/model.bin"),))], [tmp_path / "w" / "model.bin"], "m")
    assert dest.read_bytes() == PAYLOAD
    assert len(seen) >= 3 and {p.file for p in seen} == {"model.bin"}
    assert [p.done for p in seen] == sorted(p.done for p in seen) and seen[0].done < len(PAYLOAD) // 2
    assert all(p.total == len(PAYLOAD) for p in seen) and seen[-1].finished and seen[-1].done == len(PAYLOAD)
    middle = [p for p in seen if 0 < p.done < len(PAYLOAD)]
    assert middle and all(p.speed > 0 and p.seconds_left is not None and p.seconds_left > 0 for p in middle)
    line = download_view.file_line(middle[-1])
    assert "model.bin" in line and "kB of 307.2 kB" in line and "/s" in line and "left" in line


def test_stop_ends_the_download_and_the_next_try_resumes_it(server, tmp_path, download_cache):
    source, dest = Source("local", (server.url("/model.bin"),)), tmp_path / "w" / "model.bin"
    seen: list[Progress] = []
    with pytest.raises(DownloadStopped, match="resumes"), \
            watching(seen.append, cancelled=lambda: bool(seen) and seen[-1].done >= 64 * 1024):
        fetch_files([source], [dest], "m")
    (part,) = download_cache.glob("*.part")
    kept = part.stat().st_size
    assert 64 * 1024 <= kept < len(PAYLOAD) and not dest.exists()  # weights/ untouched
    (again,) = fetch_files([source], [dest], "m")
    assert again.read_bytes() == PAYLOAD and server.starts == [0, kept]  # a Range request from the kept bytes
    assert not list(download_cache.glob("*.part"))


def test_the_progress_text_names_each_file():
    files = {"config.json": Progress("config.json", 900, 900, 3000.0, True),
             "model.bin": Progress("model.bin", 2_500_000, 10_000_000, 1_000_000.0)}
    text = download_view.progress_text("BigGAN", files)
    assert "config.json`: 900 B, done" in text
    assert "model.bin`: 2.5 MB of 10.0 MB (25 %) · 1.0 MB/s · 8 s left" in text


@pytest.fixture
def downloadable_biggan(tiny_root, test_presets, tmp_path, monkeypatch):
    """test_biggan with its CLIP on disk and its BigGAN served slowly on 127.0.0.1: the first search downloads."""
    folder = tiny_root / "biggan" / "biggan-deep-128"
    files = {f"/{name}": (folder / name).read_bytes() for name in ("config.json", "pytorch_model.bin")}
    served = SlowServer(files, piece=64 * 1024, pause=0.05)
    monkeypatch.setattr(biggan, "sources", lambda name: [
        Source("local", (served.url("/config.json"), served.url("/pytorch_model.bin")))])
    root = tmp_path / "weights"
    shutil.copytree(tiny_root / "clip", root / "clip")
    monkeypatch.setenv("GLASS_WEIGHTS", str(root))
    yield served, root
    served.close()


def test_the_page_shows_the_download_then_searches(downloadable_biggan):
    served, root = downloadable_biggan
    updates = list(handlers.text_to_image(CAPTION, "test_biggan", 2, 4, 0, False))
    lines = [u.progress for u in updates if isinstance(u.progress, str) and "Downloading" in u.progress]
    assert lines and "test_biggan" in lines[-1] and "pytorch_model.bin" in "".join(lines)
    assert any("/s ·" in line and "left" in line for line in lines), lines
    assert "Generation 2 of 2" in updates[-1].progress and updates[-1].files
    assert (root / "biggan" / "biggan-deep-128" / "pytorch_model.bin").is_file()


def test_stop_during_the_download_ends_it_and_the_next_search_resumes(downloadable_biggan, download_cache):
    served, root = downloadable_biggan
    control = handlers.Control()
    stream = handlers.text_to_image(CAPTION, "test_biggan", 2, 4, 0, False, control)
    first = next(stream)
    assert "Downloading the weights of test_biggan" in first.progress and control.running
    handlers.request_stop(control)  # what the Stop button does
    rest = list(stream)
    assert len(rest) == 1 and "stopped" in rest[0].progress and "resumes" in rest[0].progress
    assert not control.running and not (root / "biggan" / "biggan-deep-128" / "pytorch_model.bin").exists()
    kept = sum(p.stat().st_size for p in download_cache.glob("*.part"))
    assert kept > 0
    updates = list(handlers.text_to_image(CAPTION, "test_biggan", 2, 4, 0, False, control))
    assert "Generation 2 of 2" in updates[-1].progress
    assert any(start > 0 for start in served.starts), served.starts  # resumed, not started again
