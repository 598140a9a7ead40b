"""`python -m glass_core batch`: many targets, one set of models, resumable, bad targets recorded and skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import glass_core.batch.run as batch
import glass_core.batch.index as batch_index
from glass_core.cli import main
from glass_core.pipeline import Pipeline
from glass_core.weights import REPO_WEIGHTS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FAST = ["--generations", "2", "--pop-size", "8"]
CAPTIONS = ["a red 3 on a blue background", "a green four on a black background",
            "a white 4 on a magenta background", "a yellow three on a black background"]


def run(targets: Path, out: Path, *extra: str, preset: str = "mini_gan") -> int:
    return main(["batch", str(targets), "--preset", preset, "--out", str(out), "--device", "cpu",
                 "--weights", str(REPO_WEIGHTS), *FAST, *extra])


def index(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]


def captions_file(tmp_path: Path, captions: list[str]) -> Path:
    path = tmp_path / "captions.txt"
    path.write_text("\n\n".join(captions) + "\n\n")  # blank lines are ignored
    return path


@pytest.fixture
def searches(monkeypatch) -> list[str]:
    """The captions (or image names) searched, in order, counted where the plain loop calls search_target."""
    seen: list[str] = []
    real = batch.search_target

    def counting(pipe, target, overrides, device):
        seen.append(target.caption or target.image.name)
        return real(pipe, target, overrides, device)

    monkeypatch.setattr(batch, "search_target", counting)
    return seen


def test_a_captions_file_gives_results_index_and_report(tmp_path):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:3]), out) == 0
    rows = index(out)
    assert [r["target"] for r in rows] == [{"caption": c} for c in CAPTIONS[:3]]
    assert [r["seed"] for r in rows] == [0, 1, 2] and {r["status"] for r in rows} == {"ok"}
    stem = f"0000-a-red-3-on-a-blue-background-{rows[0]['key'][:8]}"  # the run key: other settings, other names
    assert rows[0]["files"] == [f"{stem}.png", f"{stem}.json"]
    report = (out / "report.html").read_text()
    for r in rows:
        png, card = (out / name for name in r["files"])
        assert Image.open(png).size == (128, 128) and json.loads(card.read_text())["seed"] == r["seed"]
        assert f"src='{r['files'][0]}'" in report
        assert r["evaluations"] == 16 and 0 < r["similarity"] <= 1 and r["seconds"] > 0
    assert not list(out.glob(".tmp-*"))


def picture_folder(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A folder holding copies of some of examples/' pictures."""
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for name in names:
        shutil.copy(EXAMPLES / name, pictures / name)
    return pictures


def test_a_folder_of_pictures_is_captioned(tmp_path):
    pictures = picture_folder(tmp_path, ("red-7-on-blue.png", "green-2-on-black.png"))
    out = tmp_path / "out"
    assert run(pictures, out, preset="mini_gpt2") == 0
    rows = index(out)
    assert [Path(r["target"]["image"]).name for r in rows] == ["green-2-on-black.png", "red-7-on-blue.png"]
    report = (out / "report.html").read_text()
    for r in rows:
        text = (out / r["files"][0]).read_text().strip()
        assert r["files"][0].endswith(".txt") and text == r["caption"] and text.startswith("the picture of")
        assert r["files"][0] in report and text in report
    assert report.count("data:image/png;base64,") == 2  # the targets, embedded: the page needs nothing else


def test_each_target_searches_with_seed_plus_index_as_one_search_would(tmp_path):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:2]), out, "--seed", "7") == 0
    pipe = Pipeline.from_preset("mini_gan", device="cpu", weights_root=REPO_WEIGHTS)
    for i, row in enumerate(index(out)):
        assert row["seed"] == 7 + i
        *_, last = pipe.search(CAPTIONS[i], seed=7 + i, generations=2, pop_size=8)
        card = json.loads((out / row["files"][1]).read_text())
        assert np.allclose(card["result"]["genome"], last.genome) and row["similarity"] == last.similarity


def test_a_stopped_batch_resumes_without_redoing_or_losing_anything(tmp_path, searches, monkeypatch):
    targets, out = captions_file(tmp_path, CAPTIONS), tmp_path / "out"
    counting = batch.search_target

    def stop_at_third(*args):
        if len(searches) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the third target is searched
        return counting(*args)

    monkeypatch.setattr(batch, "search_target", stop_at_third)
    assert run(targets, out) == 130
    first = index(out)
    assert [r["target"]["caption"] for r in first] == CAPTIONS[:2] and (out / "report.html").is_file()
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix in (".png", ".json")}
    assert len(mtimes) == 4

    monkeypatch.setattr(batch, "search_target", counting)
    assert run(targets, out) == 0
    assert searches == CAPTIONS  # the first two once, the last two once
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in mtimes} == mtimes
    assert [r["target"]["caption"] for r in index(out)] == CAPTIONS and len({r["key"] for r in index(out)}) == 4


def test_resuming_goes_by_target_seed_and_settings_not_line_number(tmp_path, searches):
    out = tmp_path / "out"
    assert run(captions_file(tmp_path, CAPTIONS[:2]), out, "--seed", "0") == 0
    # A caption added on top moves the others down a line: their seeds are pinned in a .jsonl.
    lines = [{"caption": "a blue 5 on a white background"}] + [{"caption": c, "seed": i} for i, c in
                                                                enumerate(CAPTIONS[:2])]
    jsonl = tmp_path / "targets.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in lines))
    assert run(jsonl, out, "--seed", "100") == 0
    assert searches == CAPTIONS[:2] + ["a blue 5 on a white background"]
    assert run(jsonl, out, "--seed", "100", "--generations", "3") == 0  # other settings: a new run each
    assert len(searches) == 6


def test_a_cut_off_last_index_line_is_ignored_and_its_target_redone(tmp_path, searches):
    targets, out = captions_file(tmp_path, CAPTIONS[:2]), tmp_path / "out"
    assert run(targets, out) == 0
    text = (out / "index.jsonl").read_text()
    (out / "index.jsonl").write_text(text[:-40])  # a crash while the second line was written
    assert run(targets, out) == 0
    assert searches == CAPTIONS[:2] + CAPTIONS[1:2]
    assert [r["status"] for r in batch_index.latest_rows(batch_index.read_index(out))] == ["ok", "ok"]


def test_bad_targets_are_recorded_and_the_batch_goes_on(tmp_path, capsys):
    lines = [json.dumps({"caption": CAPTIONS[0]}), json.dumps({"caption": "  "}), "{not json",
             json.dumps({"caption": CAPTIONS[1], "generations": 0}), json.dumps({"image": "missing.png"}),
             json.dumps({"caption": CAPTIONS[2], "generations": 3, "seed": 42})]
    jsonl = tmp_path / "targets.jsonl"
    jsonl.write_text("\n".join(lines))
    out = tmp_path / "out"
    assert run(jsonl, out) == 1
    assert "4 target(s) failed" in capsys.readouterr().err
    rows = index(out)
    assert [r["status"] for r in rows] == ["ok", "error", "error", "error", "error", "ok"]
    messages = [r.get("message") for r in rows]
    assert messages[1] == "The caption is empty." and "not JSON" in messages[2]
    assert messages[3].startswith("Generations must be between 1 and 100000")
    assert messages[4] == "This preset draws pictures from captions, and this target is an image."
    assert all("\n" not in m for m in messages if m)
    assert rows[5]["seed"] == 42 and rows[5]["evaluations"] == 24 and rows[5]["settings"] == {"generations": 3}
    report = (out / "report.html").read_text()
    assert "4 failed" in report and "The caption is empty." in report


def test_a_broken_picture_in_a_folder_is_recorded(tmp_path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    shutil.copy(EXAMPLES / "red-7-on-blue.png", pictures / "a.png")
    (pictures / "b.png").write_bytes(b"not a picture at all")
    shutil.copy(EXAMPLES / "green-2-on-black.png", pictures / "c.png")
    out = tmp_path / "out"
    assert run(pictures, out, preset="mini_gpt2") == 1
    rows = index(out)
    assert [r["status"] for r in rows] == ["ok", "error", "ok"] and "not an image" in rows[1]["message"]
    assert run(pictures, out, preset="mini_gpt2") == 1  # ok ones are kept, the broken one tried again
    assert [r["target"]["image"][-5:] for r in index(out)[3:]] == ["b.png"]


@pytest.mark.parametrize("args, message", [
    (["batch", "{tmp}/missing.txt", "--preset", "mini_gan"], "missing.txt: no such file or folder of targets"),
    (["batch", "{tmp}/captions.txt", "--preset", "DeepMindBigGAN256", "--weights", "{tmp}"], "Missing weights"),
    (["batch", "{tmp}/captions.txt", "--preset", "mini_gan", "--generations", "0"], "Generations must be"),
])
def test_errors_about_the_command_are_one_line_and_status_2(tmp_path, capsys, args, message):
    captions_file(tmp_path, CAPTIONS[:1])
    argv = [a.format(tmp=tmp_path) for a in args] + ["--out", str(tmp_path / "out"), "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "index.jsonl").exists()


def test_an_unknown_preset_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["batch", str(captions_file(tmp_path, CAPTIONS[:1])), "--preset", "nope", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_a_picture_sent_by_value_needs_no_file_and_keeps_its_key(tmp_path):
    """What a Ray worker on another machine gets: the bytes, and a path it cannot see."""
    from glass_core.batch.targets import BatchTarget

    picture = tmp_path / "red-7.png"
    shutil.copy(EXAMPLES / "red-7-on-blue.png", picture)
    target = BatchTarget(0, image=picture, seed=3)
    sent = target.with_data()
    key = sent.key("mini_gpt2", {})
    picture.unlink()
    assert sent.with_data().key("mini_gpt2", {}) == key != target.key("mini_gpt2", {})  # unread: no identity
    pipe = Pipeline.from_preset("mini_gpt2", device="cpu", weights_root=REPO_WEIGHTS)
    outcome = batch.search_target(pipe, sent, {"generations": 2, "pop_size": 8}, "cpu")
    assert outcome.error is None and outcome.card.last.output.startswith("the picture of")
    assert target.with_data().unread.endswith("red-7.png: no such file.")
    assert batch.search_target(pipe, target, {"generations": 2}, "cpu").error.endswith("red-7.png: no such file.")


def test_a_crash_while_saving_leaves_no_half_result_and_no_index_line(tmp_path, searches, monkeypatch):
    import glass_core.runcard as runcard

    targets, out = captions_file(tmp_path, CAPTIONS[:2]), tmp_path / "out"
    real = runcard.save

    def dies_after_the_picture(card, folder, *, stem=None):
        if card.target["caption"] == CAPTIONS[1]:
            card.last.output.save(folder / f"{stem}.png")  # the result is written, the card never is
            raise OSError("No space left on device")
        return real(card, folder, stem=stem)

    monkeypatch.setattr(runcard, "save", dies_after_the_picture)
    with pytest.raises(OSError):
        run(targets, out)
    assert [r["target"]["caption"] for r in index(out)] == CAPTIONS[:1]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("0001")) == []  # only in the scratch folder
    monkeypatch.setattr(runcard, "save", real)
    assert run(targets, out) == 0
    assert searches == CAPTIONS[:2] + CAPTIONS[1:2] and [r["status"] for r in index(out)] == ["ok", "ok"]
    assert not list(out.glob(".tmp-*")) and len(list(out.glob("0001-*"))) == 2
