"""A picture as the target of text → image, alone or mixed with weighted captions: core, command line, page.

The pictures are held-out handwriting in held-out (digit, colour, colour) combinations, drawn by the
mini set's renderer; the judge (training/mini/judge.py) reads the search's result without CLIP.
"""

from __future__ import annotations

import hashlib
import io
import json

import gradio as gr
import pytest
from PIL import Image

from app_support import app_presets, served  # noqa: F401  (fixtures)
from experiments import evaluate
from experiments.common import heldout_pictures
from glass_app import handlers
from glass_core import cli
from glass_core.errors import BadInputError
from glass_core.pipeline import Pipeline
from glass_core.prompts import WeightedPrompt
from glass_core.runcard import describe_target
from glass_core.targets import ImagePrompt, describe_parts, picture_target
from glass_core.weights import REPO_WEIGHTS
from training.mini.judge import Judge

PICTURES_SEED = evaluate.SEED + 7  # six held-out pictures, apart from the other tests' targets


@pytest.fixture(scope="module")
def pictures() -> list[tuple[Image.Image, tuple[int, str, str]]]:
    return heldout_pictures(6, PICTURES_SEED)


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


@pytest.fixture(scope="module")
def mini_gan() -> Pipeline:
    return Pipeline.from_preset("mini_gan", device="cpu", weights_root=REPO_WEIGHTS)


def test_a_picture_alone_finds_its_digit_and_colours(mini_gan, pictures, judge):
    hits, colours = [], []
    for i, (picture, truth) in enumerate(pictures):
        *_, last = mini_gan.search(picture_target("", picture), seed=i)
        verdict = judge.judge_image(last.output)
        hits.append((verdict.digit, verdict.fg, verdict.bg) == truth)
        colours.append((verdict.fg, verdict.bg) == truth[1:])
    assert sum(hits) >= 4 and sum(colours) >= 5, (hits, colours)


def test_a_picture_but_on_another_background(mini_gan, pictures, judge):
    """'This photo, but on a yellow background': the digit's colour kept, the background changed."""
    hits = []
    for i, (picture, (_, fg, bg)) in enumerate(pictures[:4]):
        other = "blue" if bg == "yellow" else "yellow"
        *_, last = mini_gan.search(picture_target(f"a {other} background:2", picture), seed=i)
        verdict = judge.judge_image(last.output)
        hits.append((verdict.fg, verdict.bg) == (fg, other))
    assert sum(hits) >= 3, hits


def test_the_picture_moves_the_target_by_its_weight(mini_gan, pictures):
    picture = pictures[0][0]
    with_picture, _ = mini_gan.encode_target(picture_target("a red digit", picture, 1.0))
    caption_only, _ = mini_gan.encode_target("a red digit")
    picture_only, _ = mini_gan.encode_target(picture_target("", picture))
    away, _ = mini_gan.encode_target(picture_target("a red digit", picture, -0.5))
    towards = float(with_picture @ picture_only.T)
    assert towards > float(caption_only @ picture_only.T) > float(away @ picture_only.T)


def test_target_rules():
    picture = Image.new("RGB", (8, 8), "red")
    assert picture_target("a dog", None) == "a dog"  # no picture: the caption, as before
    parts = picture_target("people:-1", picture, 2)  # away from people, toward the picture
    assert [type(p) for p in parts] == [WeightedPrompt, ImagePrompt] and parts[1].weight == 2
    with pytest.raises(BadInputError, match="both are empty"):
        picture_target("  ", None)
    with pytest.raises(BadInputError, match="positive weight"):
        picture_target("", picture, 0)
    with pytest.raises(BadInputError, match="positive weight"):
        picture_target("people:-1", picture, -1)
    with pytest.raises(BadInputError, match="weight .* not allowed"):
        picture_target("a dog", picture, float("nan"))


def test_the_run_card_records_the_picture_and_its_weight():
    picture = Image.new("RGB", (8, 6), "blue")
    card = describe_parts(picture_target("a dog | gothic:0.5", picture, 0.75))
    assert card["image_sha256"] == describe_target(picture)["image_sha256"] and card["image_size"] == [8, 6]
    assert card["image_weight"] == 0.75 and card["prompts"][1] == {"text": "gothic", "weight": 0.5}
    assert card["caption"] == "a dog | gothic:0.5"


def png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def test_command_line_with_a_picture_and_no_caption(tmp_path, pictures, judge, capsys):
    picture, truth = pictures[1]
    (tmp_path / "target.png").write_bytes(png(picture))
    args = ["text2image", "--image", str(tmp_path / "target.png"), "--image-weight", "1.5", "--preset", "mini_gan",
            "--seed", "1", "--device", "cpu", "--weights", str(REPO_WEIGHTS), "--out", str(tmp_path / "runs")]
    assert cli.main(args) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    card = json.loads((folder / "run.json").read_text())
    assert card["target"]["image_sha256"] == hashlib.sha256(png(picture.convert("RGB"))).hexdigest()
    assert card["target"]["image_weight"] == 1.5 and "caption" not in card["target"]
    assert card["target"]["path"] == str(tmp_path / "target.png")
    verdict = judge.judge_image(Image.open(folder / "result.png"))
    assert (verdict.digit, verdict.fg, verdict.bg) == truth


BAD_FILES = [
    ("notes.png", b"this is a text file, not a picture", "not an image"),
    ("cut.png", png(Image.new("RGB", (64, 64), "red"))[:60], "corrupt or truncated"),
    ("heavy.bmp", b"BM" + bytes(21 * 2**20), "the limit is 20 MB"),
]


@pytest.mark.parametrize("name, data, message", BAD_FILES)
def test_bad_pictures_are_refused_by_the_command_line(tmp_path, capsys, name, data, message):
    (tmp_path / name).write_bytes(data)
    assert cli.main(["text2image", "a dog", "--image", str(tmp_path / name), "--out", str(tmp_path / "runs")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_a_missing_picture_is_refused_by_the_command_line(tmp_path, capsys):
    assert cli.main(["text2image", "--image", str(tmp_path / "none.png"), "--out", str(tmp_path / "runs")]) == 2
    assert "no such file" in capsys.readouterr().err


def error_of(run) -> str:
    with pytest.raises(gr.Error) as info:
        run()
    return info.value.message


@pytest.mark.parametrize("name, data, message", BAD_FILES)
def test_bad_pictures_are_refused_by_the_page_as_in_image_to_text(app_presets, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    as_target = error_of(lambda: list(handlers.text_to_image("a dog", app_presets["text2image"], 1, 4, 0, False,
                                                             None, str(path), 1)))
    to_caption = error_of(lambda: list(handlers.image_to_text(str(path), app_presets["image2text"], 1, 4, 0)))
    assert message in as_target and as_target == to_caption


def test_the_page_searches_toward_a_picture(app_presets, tmp_path, pictures):
    picture, _ = pictures[2]
    (tmp_path / "target.png").write_bytes(png(picture))
    *_, last = handlers.text_to_image("", app_presets["text2image"], 2, 4, 0, False, None,
                                      str(tmp_path / "target.png"), "0.5")
    card = json.loads(next(open(f).read() for f in last.files if f.endswith(".json")))
    assert card["target"]["image_weight"] == 0.5 and card["target"]["image_size"] == list(picture.size)
    assert "weight" in error_of(lambda: list(handlers.text_to_image(
        "", app_presets["text2image"], 2, 4, 0, False, None, str(tmp_path / "target.png"), "heavy")))


def test_the_api_takes_the_picture_and_its_weight_by_name(served, tmp_path, pictures):
    from gradio_client import handle_file

    picture, _ = pictures[3]
    (tmp_path / "target.png").write_bytes(png(picture))
    result = served.client().predict(caption="", preset=served.presets["text2image"], generations=2, population=4,
                                     seed=0, use_discriminator=False, picture=handle_file(str(tmp_path / "target.png")),
                                     picture_weight=2, api_name="/text_to_image")
    files = result[-1]
    card = json.loads(open(next(f for f in files if f.endswith(".json"))).read())
    assert card["target"]["image_weight"] == 2 and "caption" not in card["target"]
    assert any("timelapse" in f for f in files)
