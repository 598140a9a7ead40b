"""A batch folder's data under reruns, hostile files and careless input: nothing lost, mislabelled or read unbounded."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tracemalloc
from pathlib import Path

import pytest

from glass_core.batch.index import latest_rows, read_index
from glass_core.batch.targets import read_targets
from glass_core.cli import main
from glass_core.weights import REPO_WEIGHTS
from test_batch import CAPTIONS, EXAMPLES, captions_file, index, run, searches  # noqa: F401 - a fixture

GIB = 2**30


class Hung(Exception):
    """Not an OSError (TimeoutError is one), so no `except OSError` in the code under test swallows it."""


@contextlib.contextmanager
def deadline(seconds: int):
    """A call that hangs (a FIFO opened for reading) fails the test instead of hanging it."""
    def expired(*_):
        raise Hung(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def strict(text: str):
    """json.loads that refuses NaN and Infinity tokens, as a strict JSON reader does."""
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def files_in(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".png", ".json", ".txt")}


def hostile(folder: Path) -> dict[str, Path]:
    """A FIFO, a link to /dev/zero and a sparse 1 GiB file (no disk used), each named as a picture."""
    folder.mkdir(exist_ok=True)
    paths = {"fifo": folder / "fifo.png", "zero": folder / "zero.png", "huge": folder / "huge.png"}
    os.mkfifo(paths["fifo"])
    paths["zero"].symlink_to("/dev/zero")
    with open(paths["huge"], "wb") as f:
        f.truncate(GIB)
    return paths


# 1. A rerun with other settings


def test_a_rerun_with_other_settings_writes_beside_the_first_and_labels_each_file(tmp_path, mini_clip_metrics):
    targets, out = captions_file(tmp_path, CAPTIONS[:2]), tmp_path / "out"
    assert run(targets, out) == 0
    first = files_in(out)
    assert run(targets, out, "--generations", "3") == 0
    assert {name: data for name, data in files_in(out).items() if name in first} == first  # nothing replaced
    rows = latest_rows(read_index(out))
    assert len(rows) == 4 and len({r["files"][0] for r in rows}) == 4
    for r in rows:  # each row's card is the run it says: its own generations, its own picture
        card = strict((out / r["files"][1]).read_text())
        assert card["preset"]["generations"] == r["overrides"]["generations"] == len(card["history"])
        assert card["result"]["image"] == r["files"][0] and card["result"]["similarity"] == r["similarity"]
    metrics = mini_clip_metrics(out)
    assert sorted(p["file"] for p in metrics["per_target"]) == sorted(r["files"][0] for r in rows)
    report = (out / "report.html").read_text()
    assert all(report.count(f"src='{r['files'][0]}'") == 1 for r in rows)


@pytest.fixture
def mini_clip_metrics():
    def measure(out: Path) -> dict:
        assert main(["metrics", str(out), "--device", "cpu", "--weights", str(REPO_WEIGHTS)]) == 0
        return strict((out / "metrics.json").read_text())

    return measure


# 3. Bounded reads


def test_pictures_in_a_folder_are_checked_before_they_are_read(tmp_path):
    pictures = tmp_path / "pictures"
    hostile(pictures)
    shutil.copy(EXAMPLES / "red-7-on-blue.png", pictures / "red.png")
    tracemalloc.start()
    try:
        with deadline(60):
            assert run(pictures, tmp_path / "out", preset="mini_gpt2") == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20  # the 1 GiB file was never read
    rows = {Path(r["target"]["image"]).name: r for r in index(tmp_path / "out")}
    assert sorted(rows) == ["fifo.png", "huge.png", "red.png", "zero.png"]
    assert rows["red.png"]["status"] == "ok"
    assert rows["fifo.png"]["message"].endswith("fifo.png: not a regular file.")
    assert rows["zero.png"]["message"].endswith("zero.png: not a regular file.")
    assert rows["huge.png"]["message"] == "The image file is 1024 MB; the limit is 20 MB."


def test_picture_paths_in_jsonl_are_checked_before_they_are_read(tmp_path):
    paths = hostile(tmp_path / "hostile")
    lines = [{"image": str(paths["fifo"])}, {"image": "/dev/zero"}, {"image": "hostile/huge.png"},
             {"image": "a\u0000.png"}, {"image": str(EXAMPLES / "red-7-on-blue.png")}]
    jsonl = tmp_path / "targets.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in lines))
    with deadline(60):
        assert run(jsonl, tmp_path / "out", preset="mini_gpt2") == 1
    messages = [r.get("message") for r in index(tmp_path / "out")]
    assert messages[:2] == [f"{paths['fifo']}: not a regular file.", "/dev/zero: not a regular file."]
    assert messages[2:] == ["The image file is 1024 MB; the limit is 20 MB.",
                            f"'{tmp_path}/a\\x00.png': not a valid file name.", None]


def test_the_resume_key_reads_no_picture_before_the_first_search(tmp_path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for i in range(3):
        with open(pictures / f"{i}.png", "wb") as f:
            f.truncate(GIB)  # sparse: read whole, 3 GiB
    tracemalloc.start()
    try:
        targets = read_targets(pictures)
        keys = [t.key("mini_gpt2", {}) for t in targets]
        loaded = [t.with_data() for t in targets]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20 and len(set(keys)) == 3
    assert all(t.data is None and "limit is 20 MB" in t.unread for t in loaded)


# 4. Metrics and resume read back leniently; rows name only files inside the folder


def spoil(out: Path, rows: list[dict]) -> None:
    """Lines a crash, an editor or an attacker may leave in index.jsonl."""
    ok = rows[0]
    crafted = [{**ok, "key": "nullfiles", "index": 90, "files": None},
               {**ok, "key": "numbers", "index": 91, "files": [5]},
               {**ok, "key": "escape", "index": 92, "files": ["../secret.txt"]},
               {**ok, "key": "link", "index": 93, "files": ["link.png"]},
               {**ok, "key": "fifo", "index": 94, "files": ["fifo.png"]},
               {**ok, "key": "notarget", "index": "x", "target": None},
               {**ok, "key": "nul", "index": 95, "files": ["a\u0000b.png"]}]
    (out.parent / "secret.txt").write_text("the password")
    (out / "link.png").symlink_to(out.parent / "secret.txt")
    os.mkfifo(out / "fifo.png")
    with open(out / "index.jsonl", "ab") as f:
        f.write(b"[1, 2]\n\"text\"\n5\n{not json\n\xff\xfe{\"key\": \"bad utf-8\"}\n")
        f.write(b"".join(json.dumps(r).encode() + b"\n" for r in crafted))


def test_metrics_list_unreadable_rows_as_not_scored_and_never_read_outside_the_folder(tmp_path, mini_clip_metrics):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:3]), out) == 0
    rows = index(out)
    (out / rows[1]["files"][0]).unlink()  # a deleted result picture
    spoil(out, rows)
    with deadline(120):
        metrics = mini_clip_metrics(out)
    assert [p["key"] for p in metrics["per_target"]] == [rows[0]["key"], rows[2]["key"]]
    why = {s["key"]: s["message"] for s in metrics["not_scored"]}
    assert "no longer there" in why[rows[1]["key"]]
    assert "names no result files" in why["nullfiles"] and "names no result files" in why["numbers"]
    assert "outside the batch folder" in why["escape"] and "outside the batch folder" in why["link"]
    assert "not a regular file" in why["fifo"] and "names no target" in why["notarget"]
    assert "not a valid file name" in why["nul"]
    assert "the password" not in (out / "metrics.json").read_text()
    report = (out / "report.html").read_text()
    assert "src='../secret.txt'" not in report and "src='link.png'" not in report and "the password" not in report


def test_a_crafted_row_cannot_copy_a_file_from_outside_into_the_metrics(tmp_path, mini_clip_metrics):
    pictures, out = tmp_path / "pictures", tmp_path / "out"
    pictures.mkdir()
    shutil.copy(EXAMPLES / "red-7-on-blue.png", pictures / "red.png")
    assert run(pictures, out, preset="mini_gpt2") == 0
    row, = index(out)
    (tmp_path / "secret.txt").write_text("the password")
    with open(out / "index.jsonl", "a") as f:
        f.write(json.dumps({**row, "key": "escape", "files": [str(tmp_path / "secret.txt")]}) + "\n")
    metrics = mini_clip_metrics(out)
    assert [p["key"] for p in metrics["per_target"]] == [row["key"]]
    assert "outside the batch folder" in metrics["not_scored"][0]["message"]
    assert "the password" not in (out / "metrics.json").read_text()


def test_a_rerun_redoes_a_deleted_result_and_reads_a_spoilt_index(tmp_path, searches):
    targets, out = captions_file(tmp_path, CAPTIONS[:3]), tmp_path / "out"
    assert run(targets, out) == 0
    rows = index(out)
    (out / rows[1]["files"][0]).unlink()
    spoil(out, rows)
    assert run(targets, out) == 0
    assert searches == CAPTIONS[:3] + CAPTIONS[1:2]  # only the target whose picture was deleted
    latest = {r["key"]: r for r in latest_rows(read_index(out))}
    assert (out / latest[rows[1]["key"]]["files"][0]).is_file()


# 5. JSONL values: the app's rules and messages; strict JSON out


@pytest.mark.parametrize("field, value, message", [
    ("generations", "abc", "generations must be a number, got 'abc'."),
    ("generations", float("nan"), "generations must be a finite number, got nan."),
    ("pop_size", 2.5, "pop_size must be a whole number, got 2.5."),
    ("evaluations", float("inf"), "evaluations must be a finite number, got inf."),
    ("use_discriminator", "maybe", "use_discriminator must be true or false, got 'maybe'."),
    ("operators", {"sbx_eta": "big"}, "operators.sbx_eta must be a number, got 'big'."),
    ("operators", {"int_crossover": 5}, "operators.int_crossover must be one of sbx, uniform, got 5."),
    ("operators", 3, "operators must be text, got 3."),
    ("seed", "x", "seed must be a number, got 'x'."),
])
def test_jsonl_values_of_the_wrong_type_get_a_message_naming_the_field(field, value, message):
    from glass_core.batch.targets import _from_json

    target = _from_json(0, json.dumps({"caption": "a red 3", field: value}), Path("."), 0)
    assert target.error == f"Line 1: {message}"


def test_jsonl_flags_and_numbers_as_the_app_reads_them(tmp_path):
    lines = [{"caption": CAPTIONS[0], "use_discriminator": "false", "generations": "2"},
             {"caption": CAPTIONS[1], "use_discriminator": 1, "generations": 2.0},
             {"caption": None}, {"caption": CAPTIONS[2], "generations": float("nan")}]
    jsonl = tmp_path / "targets.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in lines))  # NaN as the token NaN, as Python writes it
    out = tmp_path / "out"
    assert run(jsonl, out, preset="mini_gan_d") == 1
    text = (out / "index.jsonl").read_text()
    rows = [strict(line) for line in text.splitlines()]  # strict JSON: no NaN token written back
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "error"]
    assert rows[0]["settings"] == {"use_discriminator": False, "generations": 2}
    assert rows[1]["settings"] == {"use_discriminator": True, "generations": 2}
    assert rows[2]["message"] == 'Line 3: "caption" must be text, got null.' and "None" not in str(rows[2]["target"])
    assert rows[3]["message"] == "Line 4: generations must be a finite number, got nan."
    assert rows[3]["settings"] == {"generations": None}
    cards = [strict((out / r["files"][1]).read_text()) for r in rows[:2]]
    assert [c["preset"]["use_discriminator"] for c in cards] == [False, True]
    assert "realism" not in rows[0] and "realism" in rows[1]  # "false" ran the GA, not NSGA-II


def test_index_lines_and_run_cards_are_strict_json_even_for_non_finite_scores(tmp_path):
    from glass_core.batch.index import append_line
    from glass_core.presets import get_preset
    from glass_core.runcard import RunCard, save

    append_line(tmp_path / "index.jsonl", {"similarity": float("nan"), "history": [{"realism": float("-inf")}]})
    assert strict((tmp_path / "index.jsonl").read_text()) == {"similarity": None, "history": [{"realism": None}]}
    card = RunCard(get_preset("mini_gan"), {"caption": "a red 3"}, device="cpu")
    card.history.append({"generation": 0, "similarity": float("nan")})
    card_file, = save(card, tmp_path / "card")
    assert strict(card_file.read_text())["history"] == [{"generation": 0, "similarity": None}]


# 6. Command errors are one line


@pytest.mark.parametrize("out, message", [
    ("{tmp}/afile", "is a file, not a folder"),
    ("{tmp}/afile/below", "cannot write into this folder"),
    ("/proc/glass-batch-out", "cannot write into this folder"),
    ("", "--out needs a folder name"),
])
def test_an_out_folder_that_cannot_be_written_is_one_error_line(tmp_path, capsys, out, message):
    (tmp_path / "afile").write_text("keep me")
    status = run(captions_file(tmp_path, CAPTIONS[:1]), out.format(tmp=tmp_path))
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "afile").read_text() == "keep me" and not (Path.cwd() / "index.jsonl").exists()


def test_metrics_of_an_empty_out_name_is_one_error_line(capsys):
    assert main(["metrics", "", "--device", "cpu"]) == 2
    assert capsys.readouterr().err.strip() == "error: --out needs a folder name; '' would be the current folder."


def test_a_byte_order_mark_is_not_part_of_the_first_caption(tmp_path):
    path = tmp_path / "captions.txt"
    path.write_bytes("\ufeffa red 3\na blue 5\n".encode("utf-8"))
    jsonl = tmp_path / "targets.jsonl"
    jsonl.write_bytes(("\ufeff" + json.dumps({"caption": "a red 3"})).encode("utf-8"))
    assert [t.caption for t in read_targets(path)] == ["a red 3", "a blue 5"]
    target, = read_targets(jsonl)
    assert target.caption == "a red 3" and target.error is None


def test_a_single_search_into_a_file_is_one_error_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("keep me")
    assert main(["text2image", "a red 3", "--out", str(tmp_path / "afile"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is a file, not a folder" in err and len(err.strip().splitlines()) == 1
