"""The app's last races and messages (issue 24, points 7-12): downloads, sessions, uploads, turns, numbers, paths."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio_client.exceptions import AppError

from app_support import CAPTION, app_presets, named, served, wait_for  # noqa: F401  (fixtures)
from glass_app import chat, downloads, handlers, inputs, views
from glass_core.images import MAX_FILE_BYTES
from glass_core.presets import PRESETS
from glass_core.weights import REPO_WEIGHTS, relative_to_weights


@pytest.fixture
def private_tmp(monkeypatch, tmp_path):
    """tempfile's folder for this test alone (set before `served`): the app's glass-* folders land there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(views, "SHOWN", folder / f"glass-app-{os.getpid()}")
    return folder


# ---- 7. Save racing the search's last update ----

def test_save_racing_the_last_update_never_deletes_what_the_other_hands_out(app_presets, private_tmp):
    control = handlers.Control(session="racing")
    run = list(handlers.text_to_image(CAPTION, app_presets["text2image"], 2, 8, 0, False, control))[-1].run
    errors: list[BaseException] = []
    for _ in range(40):
        both_written = threading.Barrier(2)

        def event(write) -> None:
            try:
                files = write()
                both_written.wait(timeout=30)  # the other event has written its files too
                for f in files:  # as gradio then copies them into its cache
                    Path(f).read_bytes()
            except BaseException as err:  # noqa: BLE001 (any failure counts)
                errors.append(err)

        last_update = threading.Thread(target=event, args=(lambda: handlers._files(run, control),))
        save = threading.Thread(target=event, args=(lambda: handlers.save_result(run, control),))
        last_update.start(), save.start()
        last_update.join(60), save.join(60)
    assert errors == []


# ---- 8. A session's downloads go when it ends; earlier runs' folders at start-up ----

def _dead_pid() -> int:
    """The id of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.fixture
def earlier_runs(private_tmp, tmp_path):
    """What earlier runs left in the temp folder, and things that only look like it (made before `served`)."""
    dead = _dead_pid()
    left = {name: private_tmp / name for name in (f"glass-run-{dead}", f"glass-app-{dead}")}
    for folder in left.values():
        (folder / "session" / "event").mkdir(parents=True)
        (folder / "session" / "event" / "result.png").write_bytes(b"x")
    elsewhere = tmp_path / "not-glass"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    kept = {"live": private_tmp / f"glass-run-{os.getppid()}", "link": private_tmp / f"glass-run-{dead + 1}",
            "file": private_tmp / f"glass-app-{dead + 2}", "other": private_tmp / f"glass-runs-{dead}"}
    kept["live"].mkdir()
    kept["link"].symlink_to(elsewhere, target_is_directory=True)
    kept["file"].write_text("a file")
    kept["other"].mkdir()
    return left, kept, elsewhere


def test_start_up_cleans_what_earlier_runs_left_and_nothing_else(earlier_runs, served):
    left, kept, elsewhere = earlier_runs
    assert not any(p.exists() for p in left.values())
    assert all(p.exists() or p.is_symlink() for p in kept.values())
    assert (elsewhere / "keep.txt").read_text() == "mine"


def test_a_sessions_downloads_are_deleted_when_it_ends(private_tmp, served):
    client = served.client()
    other = served.client()
    for c in (client, other):
        named(c.predict(CAPTION, served.presets["text2image"], 2, 8, 0, False, api_name="/text_to_image"),
              handlers.ImageUpdate)
    mine, theirs = downloads.session_root(client.session_hash), downloads.session_root(other.session_hash)
    assert mine.is_dir() and theirs.is_dir()
    client.close()  # the session ends: its heartbeat closes, gradio fires the page's unload event
    assert wait_for(lambda: not mine.exists(), timeout=30), list(mine.rglob("*"))
    assert theirs.is_dir() and any(theirs.rglob("*.json"))  # another session's files stay
    other.close()


def test_the_unload_event_is_what_cleans_up(app_presets):
    import app

    demo = app.create_demo()
    unload = [f for f in demo.fns.values() if any(t[1] == "unload" for t in f.targets)]
    assert [f.fn for f in unload] == [downloads.end_session]


# ---- 9. Uploads bounded at the door ----

def _http_answer(sock: socket.socket) -> str:
    """An HTTP answer, head and body (it may come in several packets)."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def _length(data: bytes) -> int:
    """The Content-Length an answer's head declares (0 when none yet)."""
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_an_over_size_upload_is_refused_before_it_is_read_whole(served):
    url = urllib.parse.urlsplit(served.url)
    boundary = "glass-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    declared = 400 * 2**20  # the body claims 400 MB; at most a little over the limit is ever sent
    request = (f"POST /gradio_api/upload HTTP/1.1\r\nHost: {url.netloc}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {len(head) + declared}\r\n\r\n").encode() + head
    sent, chunk = 0, b"\0" * (1 << 20)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request)
        while sent < MAX_FILE_BYTES + (8 << 20) and not select.select([sock], [], [], 0)[0]:
            sock.settimeout(5)
            try:
                sent += sock.send(chunk)
            except (TimeoutError, OSError):  # the server stopped reading: its answer is on the way
                break
        sock.settimeout(30)
        answer = _http_answer(sock)
    assert answer.split("\r\n")[0].split()[1] == "413", answer
    assert f"{MAX_FILE_BYTES} bytes" in answer
    assert sent < MAX_FILE_BYTES + (8 << 20) < declared  # answered long before the whole body arrived


def test_the_page_tells_the_browser_the_same_limit(served):
    config = httpx.get(f"{served.url.rstrip('/')}/config", timeout=30).json()
    assert config["max_file_size"] == MAX_FILE_BYTES == 20 * 2**20


# ---- 10. Conversation turns follow the caption rules ----

@pytest.mark.parametrize("caption, words", [("a:1e400", "-100 to 100"), ("people:-1", "positive weight")])
def test_the_conversation_caption_is_parsed_like_runs(caption, words):
    conv, control = chat.Conversation(), handlers.Control(running=True)
    messages, _, _ = chat.add_turn("what colour is the digit?", "red", caption, conv, control)
    assert words in messages[-1]["content"] and conv.turns == [] and control.stop is False


def test_a_weighted_caption_keeps_its_weights_in_the_conversation(app_presets):
    conv, control = chat.Conversation(), handlers.Control()
    caption = "a red seven | a blue background:0.5"
    messages, _, _ = chat.add_turn("is it a two?", "no", caption, conv, control)
    assert "Pushing the picture away from “a two”" in messages[-1]["content"]
    last = list(chat.continue_turn(caption, app_presets["text2image"], 1, 8, 0, False, conv, control))[-1]
    prompts = last.run.card.target["prompts"]
    assert prompts == [{"text": "a red seven", "weight": 1.0}, {"text": "a blue background", "weight": 0.5},
                       {"text": "a two", "weight": -0.5}]


def test_a_turn_whose_search_cannot_start_says_so_in_the_chat(app_presets, monkeypatch):
    conv, control = chat.Conversation(), handlers.Control()
    chat.add_turn("what colour is the digit?", "red", CAPTION, conv, control)
    updates = list(chat.continue_turn(CAPTION, "DeepMindBigGAN256", 1, 8, 0, False, conv, control))
    assert len(updates) == 1 and updates[0].image == gr.skip() and updates[0].files == gr.skip()
    said = updates[0].chat[-1]["content"]
    assert "did not start" in said and "Missing weights" in said and "weights/biggan" in said
    assert str(REPO_WEIGHTS) not in said


def test_a_refused_turn_stops_nothing_and_starts_nothing(app_presets):
    control, conv = handlers.Control(), chat.Conversation()
    running = handlers.text_to_image(CAPTION, app_presets["text2image"], 500, 8, 0, False, control)
    next(running)
    chat.add_turn("what colour is the digit?", "  ", CAPTION, conv, control)
    assert list(chat.continue_turn(CAPTION, app_presets["text2image"], 2, 8, 0, False, conv, control)) == []
    assert control.running and not control.stop  # the search goes on
    running.close()


# ---- 11. Numbers beyond float range over the API ----

@pytest.mark.parametrize("field, index", [("Generations", 2), ("Population", 3), ("Seed", 4)])
def test_integers_beyond_float_range_get_the_fields_message(field, index):
    numbers = [2, 8, 0]
    numbers[index - 2] = 10**400
    with pytest.raises(Exception) as info:
        inputs.settings(PRESETS["mini_gan"], *numbers, False)
    assert f"{field} must be a finite number, got an integer of about 401 digits." == str(info.value)


def test_api_integer_beyond_float_range_names_the_field(served):
    # The last two: no picture as a target, and its weight (a raw caller sends every input).
    body = json.dumps({"data": [CAPTION, served.presets["text2image"], 2, 10**400, 0, False, None, 1]})
    base = f"{served.url.rstrip('/')}/gradio_api/call/text_to_image"
    event = httpx.post(base, content=body, headers={"Content-Type": "application/json"}, timeout=30).json()
    stream = httpx.get(f"{base}/{event['event_id']}", timeout=60).text
    assert "event: error" in stream and "Population must be a finite number" in stream, stream[:500]


# ---- 12. Missing weights named relative to the weights folder ----

def test_missing_weights_on_the_page_name_the_path_in_the_weights_folder(served):
    with pytest.raises(AppError) as info:
        served.client().predict(CAPTION, "DeepMindBigGAN256", 2, 8, 0, False, api_name="/text_to_image")
    message = str(info.value)
    assert "weights/biggan/biggan-deep-256/" in message and os.environ["GLASS_WEIGHTS"] not in message


def test_only_the_weights_folder_is_rewritten(tmp_path):
    root = tmp_path / "w"
    text = (f"save it as {root}/biggan/x.bin and {root}. Looked in ({root}/clip), not {root}x"
            f" nor https://host{root}/a")
    assert relative_to_weights(text, root) == (f"save it as weights/biggan/x.bin and weights. Looked in"
                                               f" (weights/clip), not {root}x nor https://host{root}/a")
